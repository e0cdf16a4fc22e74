/**
 * The lifecycle every Redis-backed suite shares: one redis-server for the whole `describe`, the
 * stores a test opened closed after it, the server stopped at the end, and the whole suite skipped
 * with its reason when redis-server is missing (outside CI; under CI a missing server fails).
 */
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { redisSkipReason, startRedis, type RedisServer } from './redis-server.js';

/** `describe` that runs only where a redis-server can be started, with the reason in its title otherwise. */
export function describeWithRedis(title: string, body: () => void): void {
  const reason = redisSkipReason();
  describe.skipIf(reason !== null)(`${title}${reason === null ? '' : ` (skipped: ${reason})`}`, body);
}

/**
 * Register the hooks inside a {@link describeWithRedis} body: start a server before the suite (and
 * hand it to `onStart`), close every store pushed onto `open` after each test, stop the server after.
 */
export function useRedisServer(open: Array<{ close(): Promise<void> }>, onStart: (server: RedisServer) => void): void {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
    onStart(server);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    await server?.stop();
  });
}
