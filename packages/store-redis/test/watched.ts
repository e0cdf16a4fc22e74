/**
 * Test helper: a `redisStore` whose degradations and recoveries are recorded, so a suite can check
 * that each transition was reported exactly once.
 */
import { redisStore, type RedisStore, type RedisStoreOptions } from '../src/redis-store.js';

/** A store and what its `onDegraded` / `onRecovered` hooks saw. */
export interface Watched {
  readonly store: RedisStore;
  readonly degraded: Error[];
  readonly recovered: number[];
}

/** Open a store with recording hooks and push it onto `open` (closed by `useRedisServer` after each test). */
export function watched(options: RedisStoreOptions, open: Array<{ close(): Promise<void> }>): Watched {
  const degraded: Error[] = [];
  const recovered: number[] = [];
  const store = redisStore({
    ...options,
    onDegraded: (error) => degraded.push(error),
    onRecovered: ({ downMs }) => recovered.push(downMs),
  });
  open.push(store);
  return { store, degraded, recovered };
}
