/**
 * @module
 * Where the routing state lives, from the `[state]` table: `memory` (in this process, saved to
 * `server.state_path`) or `redis` (shared with other proxies through `@shunt/store-redis`).
 * `openState()` returns the store with its lifecycle and health, which the proxy shows in
 * `/status` and `/metrics` and closes at shutdown.
 */
import { completeStore, memoryStore, type CompleteStateStore, type StateStore } from '@shunt/core';
import type { ShuntConfig } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { persistentStore, type PersistFs, type PersistTimers, type PersistentStore } from './persistent-store.js';

/** The `state` section of `/status`. */
export type StateStatus =
  | {
      readonly backend: 'memory';
      /** The state file, or null when the state is not saved (an embedded proxy without one). */
      readonly path: string | null;
      /** When the state was last written, epoch ms, or null. */
      readonly last_saved_ms: number | null;
      /** Why the last save failed, or null. */
      readonly last_error: string | null;
    }
  | {
      readonly backend: 'redis';
      readonly key_prefix: string;
      readonly connected: boolean;
      readonly degraded_since_ms: number | null;
      readonly last_sync_ms: number | null;
      readonly pending_writes: number;
    }
  | { readonly backend: 'custom' };

/** A state store with its lifecycle: what the proxy needs beyond the `StateStore` itself. */
export interface StateBackend {
  /** The store the router reads and writes, with every optional method (see `completeStore`). */
  readonly store: CompleteStateStore;
  /** `memory`, `redis`, or `custom` (a store passed in by an embedder). */
  readonly kind: StateStatus['backend'];
  /** For `/status`. */
  status(): StateStatus;
  /** For `/metrics`: false while Redis is unreachable, or while the state file cannot be written. */
  up(): boolean;
  /** Save or flush what is pending and release connections (the proxy calls it in `close()`). */
  close(): Promise<void>;
}

/** Options for {@link openState}. */
export interface OpenStateOptions {
  /** Where degradation, recovery and file problems are logged. */
  readonly logger?: Logger | undefined;
  /** The clock (the stores' deadlines), epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Memory backend: save this long after the last mutation. @default 1000 */
  readonly debounceMs?: number | undefined;
  /** Memory backend: file operations (tests). */
  readonly fs?: PersistFs | undefined;
  /** Memory backend: timers (tests). */
  readonly timers?: PersistTimers | undefined;
  /** Redis backend: how long to wait for the first load before serving from the local replica. @default 10000 */
  readonly readyTimeoutMs?: number | undefined;
  /** Redis backend: how often the replica is reloaded from Redis. @default 10000 */
  readonly reconcileIntervalMs?: number | undefined;
}

/**
 * Open the configured state backend, ready to serve: the memory store with the saved state
 * restored, or the Redis store loaded from Redis (or, if Redis cannot be reached within
 * `readyTimeoutMs`, serving from its local replica and syncing once Redis answers: logged once).
 */
export async function openState(config: ShuntConfig, options: OpenStateOptions = {}): Promise<StateBackend> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  if (config.state.backend === 'redis') return openRedis(config, options, logger, now);

  const path = config.server.statePath;
  const store = persistentStore(memoryStore({ now }), {
    path,
    logger,
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    ...(options.fs === undefined ? {} : { fs: options.fs }),
    ...(options.timers === undefined ? {} : { timers: options.timers }),
  });
  const loaded = await store.load();
  if (loaded.kind === 'restored') logger.info('routing state restored', { path, accounts: loaded.accounts, conversations: loaded.sticky });
  return fileBackend(store);
}

/** The backend of a persistent memory store (for embedders who build the store themselves). */
export function fileBackend(store: PersistentStore): StateBackend {
  return {
    store,
    kind: 'memory',
    status() {
      const s = store.status();
      return { backend: 'memory', path: s.path, last_saved_ms: s.lastSavedMs, last_error: s.lastError };
    },
    up: () => store.status().lastError === null,
    close: () => store.close(),
  };
}

/**
 * The backend of a store the proxy did not open: no persistence, always up, nothing to close. A
 * store with only the required methods gets core's fallbacks for the rest.
 */
export function plainBackend(store: StateStore, kind: 'memory' | 'custom'): StateBackend {
  return {
    store: completeStore(store),
    kind,
    status: () => (kind === 'memory' ? { backend: 'memory', path: null, last_saved_ms: null, last_error: null } : { backend: 'custom' }),
    up: () => true,
    close: async () => {},
  };
}

async function openRedis(config: ShuntConfig, options: OpenStateOptions, logger: Logger, now: () => number): Promise<StateBackend> {
  // Loaded only when configured: a proxy on the memory backend never loads ioredis.
  const { redisStore } = await import('@shunt/store-redis');
  const keyPrefix = config.state.keyPrefix;
  let degradedLogged = false;
  const store = redisStore({
    url: config.state.url ?? undefined,
    keyPrefix,
    now,
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    ...(options.reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs: options.reconcileIntervalMs }),
    // The store's own messages go to debug: the hooks below log each transition once, as JSON.
    logger: { warn: (message) => logger.debug('redis store', { message }), info: (message) => logger.debug('redis store', { message }) },
    onDegraded: (error) => {
      degradedLogged = true;
      logger.warn('Redis unreachable: serving from the local replica, keeping writes until it returns', { error: error.message });
    },
    onRecovered: ({ downMs }) => logger.info('Redis reachable again: local state pushed and reloaded', { down_ms: downMs }),
  });
  try {
    await store.ready();
    logger.info('shared state loaded from Redis', { key_prefix: keyPrefix });
  } catch (error) {
    // Said once: when the degradation was already logged, this is only a detail.
    (degradedLogged ? logger.debug : logger.warn).call(logger, 'Redis not reachable at start: serving from local state, will sync when it answers', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
  return {
    store,
    kind: 'redis',
    status() {
      const s = store.status();
      return {
        backend: 'redis',
        key_prefix: keyPrefix,
        connected: s.connected,
        degraded_since_ms: s.degradedSinceMs,
        last_sync_ms: s.lastSyncMs,
        pending_writes: s.pendingWrites,
      };
    },
    up: () => store.status().connected,
    close: () => store.close(),
  };
}
