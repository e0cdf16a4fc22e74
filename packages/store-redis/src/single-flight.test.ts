// Cross-instance single-flight (the OAuth refresh guard): however two instances' calls interleave,
// the function runs once and both get its result; a failed or vanished leader is handled.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { freePort, type RedisServer } from '../test/redis-server.js';
import { describeWithRedis, useRedisServer } from '../test/with-redis.js';
import { redisStore, type RedisStore } from './redis-store.js';

let server: RedisServer;
const open: RedisStore[] = [];

async function pair(): Promise<[RedisStore, RedisStore]> {
  const keyPrefix = `flight:${randomUUID()}:`;
  const stores: [RedisStore, RedisStore] = [redisStore({ url: server.url, keyPrefix }), redisStore({ url: server.url, keyPrefix })];
  open.push(...stores);
  await Promise.all(stores.map((store) => store.ready()));
  return stores;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describeWithRedis('singleFlight and acquireLock', () => {
  useRedisServer(open, (started) => {
    server = started;
  });

  it('should run a refresh once when two instances race, and give both its result', async () => {
    const [a, b] = await pair();
    let calls = 0;
    const gate = deferred<void>();
    const refresh = async (): Promise<{ accessToken: string }> => {
      calls++;
      await gate.promise;
      return { accessToken: `token-${String(calls)}` };
    };
    const racing = Promise.all([a.singleFlight('refresh:work', refresh, { pollMs: 5 }), b.singleFlight('refresh:work', refresh, { pollMs: 5 })]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.resolve();
    const [ra, rb] = await racing;
    expect(calls).toBe(1);
    expect(ra.value).toEqual({ accessToken: 'token-1' });
    expect(rb.value).toEqual({ accessToken: 'token-1' });
    expect([ra.leader, rb.leader].sort()).toEqual([false, true]);
  });

  it('should run once for any interleaving of starts and completions, reusing a just-finished result (fc.scheduler)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 4 }), async (s, callers) => {
        const stores = await pair();
        const key = `refresh:${randomUUID()}`;
        let calls = 0;
        try {
          const results = Promise.all(
            Array.from({ length: callers }, async (_, i) => {
              await s.schedule(Promise.resolve(), `start caller ${String(i)}`);
              return (stores[i % 2] as RedisStore).singleFlight(
                key,
                async () => {
                  calls++;
                  return s.schedule(Promise.resolve(`token from caller ${String(i)}`), `refresh by caller ${String(i)}`);
                },
                { pollMs: 2, reuseWithinMs: 5000 },
              );
            }),
          );
          const settled = await s.waitFor(results);
          expect(calls).toBe(1);
          expect(new Set(settled.map((r) => r.value)).size).toBe(1);
          expect(settled.filter((r) => r.leader)).toHaveLength(1);
        } finally {
          await Promise.all(open.splice(0).map((store) => store.close()));
        }
      }),
      { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 20) },
    );
  });

  it('should hand the leader’s failure to the followers instead of spending the token again', async () => {
    const [a, b] = await pair();
    let calls = 0;
    const gate = deferred<void>();
    const failing = async (): Promise<string> => {
      calls++;
      await gate.promise;
      throw new Error('invalid_grant');
    };
    const leader = a.singleFlight('refresh:work', failing, { pollMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const follower = b.singleFlight('refresh:work', failing, { pollMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    gate.resolve();
    // Settle both at once: awaiting the leader first would leave the follower's rejection, which
    // can land while the leader is still being awaited, without a handler (an unhandled rejection).
    const [leaderOutcome, followerOutcome] = await Promise.allSettled([leader, follower]);
    expect(leaderOutcome).toMatchObject({ status: 'rejected', reason: { message: 'invalid_grant' } });
    expect(followerOutcome).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/leading instance failed: invalid_grant/) } });
    expect(calls).toBe(1);
  });

  it('should take over when the leader vanished (its lock expired without a result)', async () => {
    const [a, b] = await pair();
    const crashed = await a.acquireLock('refresh:work', 150); // a leader that never finishes
    expect(crashed).not.toBeNull();
    const started = performance.now();
    const result = await b.singleFlight('refresh:work', () => Promise.resolve('fresh'), { pollMs: 10 });
    expect(result).toEqual({ value: 'fresh', leader: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('should never release a lock that expired and was taken by another instance', async () => {
    const [a, b] = await pair();
    const slow = await a.acquireLock('k', 100);
    expect(slow).not.toBeNull();
    expect(await b.acquireLock('k', 10_000)).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const next = await b.acquireLock('k', 10_000);
    expect(next).not.toBeNull();
    // A finishes late: its release must not free B's lock (the token check in Lua).
    expect(await slow?.release()).toBe(false);
    expect(await a.acquireLock('k', 10_000)).toBeNull();
    expect(await next?.release()).toBe(true);
    expect(await next?.release()).toBe(false);
    expect(await a.acquireLock('k', 10_000)).not.toBeNull();
  });

  it('should run again after a flight finished when reuse is off, and reuse the result when it is on', async () => {
    const [a, b] = await pair();
    let calls = 0;
    const refresh = async (): Promise<number> => ++calls;
    expect(await a.singleFlight('k', refresh)).toEqual({ value: 1, leader: true });
    expect(await b.singleFlight('k', refresh)).toEqual({ value: 2, leader: true });
    expect(await a.singleFlight('r', refresh, { reuseWithinMs: 5000 })).toEqual({ value: 3, leader: true });
    expect(await b.singleFlight('r', refresh, { reuseWithinMs: 5000 })).toEqual({ value: 3, leader: false });
  });

  it('should dedupe concurrent calls within one instance', async () => {
    const [a] = await pair();
    let calls = 0;
    const results = await Promise.all([1, 2, 3].map(() => a.singleFlight('k', async () => ++calls)));
    expect(calls).toBe(1);
    expect(results.map((r) => r.leader)).toEqual([true, false, false]);
  });

  it('should run locally when Redis is unreachable, or throw when asked to', async () => {
    const store = redisStore({ url: `redis://127.0.0.1:${String(await freePort())}`, readyTimeoutMs: 60_000 });
    open.push(store);
    expect(await store.singleFlight('k', () => Promise.resolve(7))).toEqual({ value: 7, leader: true });
    await expect(store.singleFlight('k', () => Promise.resolve(7), { whenUnreachable: 'throw' })).rejects.toThrow();
  });
});
