// A Redis that hangs (SIGSTOP: the process keeps its sockets and answers nothing) is noticed by
// the heartbeat and reported once; nothing waits on it past commandTimeoutMs; after SIGCONT the
// store resynchronises on the same connections. Also: a db index Redis does not have is an error,
// not a silent db 0. A file of its own: it stops its server.
import { randomUUID } from 'node:crypto';
import { pickAccount } from '@shunt/core';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import type { RedisServer } from '../test/redis-server.js';
import { watched as watchedStore, type Watched } from '../test/watched.js';
import { describeWithRedis, useRedisServer } from '../test/with-redis.js';
import { redisStore, type RedisStoreOptions } from './redis-store.js';

const open: Array<{ close(): Promise<void> }> = [];

function watched(options: RedisStoreOptions): Watched {
  return watchedStore(options, open);
}

/** Wait for `check` with a generous ceiling (a loaded machine), resolving to the ms it took. */
async function eventually(what: string, check: () => boolean, ceilingMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ceilingMs) throw new Error(`${what}: not within ${String(ceilingMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

/** Resolves to how the promise settled, or "pending" if it is still waiting after `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<'resolved' | 'rejected' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<'pending'>((resolve) => {
      timer = setTimeout(() => resolve('pending'), ms);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

describeWithRedis('redisStore when Redis hangs', () => {
  let server: RedisServer;
  useRedisServer(open, (started) => {
    server = started;
  });

  it('should report a stopped Redis once, keep every call within its deadline, and resync after SIGCONT', { timeout: 120_000 }, async () => {
    const keyPrefix = `hang:${randomUUID()}:`;
    const options = { url: server.url, keyPrefix, heartbeatIntervalMs: 200, commandTimeoutMs: 500 };
    const a = watched(options);
    const b = watched(options);
    await Promise.all([a.store.ready(), b.store.ready()]);
    const accounts = [{ name: 'one' }, { name: 'two' }];
    await eventually('a first heartbeat', () => a.store.status().lastHeartbeatMs !== null, 30_000);

    server.pause();
    try {
      // Nothing is written: only the heartbeat can notice.
      const tookMs = await eventually('both stores to report Redis degraded', () => !a.store.status().connected && !b.store.status().connected, 60_000);
      console.info(`a stopped Redis was reported after ${tookMs.toFixed(0)} ms (bound: heartbeatIntervalMs + commandTimeoutMs = 700 ms, plus scheduling)`);
      expect(a.degraded).toHaveLength(1);
      expect(a.degraded[0]?.message).toMatch(/did not answer within 500 ms/);
      expect(a.store.status().degradedSinceMs).not.toBeNull();

      // Routing keeps working from the replica, and learns from this instance's own writes.
      a.store.setCooldown('one', 60_000);
      expect(pickAccount(accounts, a.store)?.name).toBe('two');
      // Calls that need Redis give up at their deadline instead of hanging with it. The ceiling is
      // generous (a loaded machine), far below "forever".
      expect(await settledWithin(a.store.flush(), 30_000)).toBe('resolved');
      expect(await settledWithin(a.store.acquireLock('refresh', 10_000), 30_000)).toBe('rejected');
      const local = a.store.singleFlight('refresh', async () => 'ran here');
      expect(await settledWithin(local, 30_000)).toBe('resolved');
      expect(await local).toEqual({ value: 'ran here', leader: true });
      expect(a.store.status().pendingWrites).toBeGreaterThan(0);
    } finally {
      server.resume();
    }

    await eventually('both stores to recover', () => a.store.status().connected && b.store.status().connected, 60_000);
    expect(a.recovered).toHaveLength(1);
    expect(b.recovered).toHaveLength(1);
    expect(a.degraded).toHaveLength(1);
    // The cooldown A set while Redis hung reached B once it answered again.
    await eventually("A's outage write to reach B", () => b.store.cooldownUntilMs('one') === a.store.cooldownUntilMs('one'), 30_000);
    expect(b.store.isAvailable('one')).toBe(false);
  });

  it('should refuse a db index the server does not have instead of using db 0', { timeout: 60_000 }, async () => {
    const store = redisStore({ url: `${server.url}/99`, keyPrefix: `db:${randomUUID()}:` });
    open.push(store);
    await expect(store.ready()).rejects.toThrow(/db 99 of redis:\/\/127\.0\.0\.1:\d+\/99/);
    expect(store.status()).toMatchObject({ connected: false, fatalError: expect.stringMatching(/db 99/) });
  });

  it('should refuse a url whose path is not a db index', () => {
    expect(() => redisStore({ url: `${server.url}/main` })).toThrow(/db "main"/);
  });

  it('should never put the password of the url in its messages', { timeout: 60_000 }, async () => {
    const store = redisStore({ url: `redis://:hunter2@127.0.0.1:${String(server.port)}/99` });
    open.push(store);
    const error = await store.ready().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/db 99/);
    expect(error?.message).not.toContain('hunter2');
  });
});

describeWithRedis('redisStore write cost', () => {
  let server: RedisServer;
  useRedisServer(open, (started) => {
    server = started;
  });

  /** Every message the stores publish on `channel`, as parsed ops. */
  async function listen(channel: string): Promise<unknown[][]> {
    const listener = new Redis(server.url);
    open.push({ close: async () => void listener.disconnect() });
    const seen: unknown[][] = [];
    listener.on('message', (_channel: string, text: string) => seen.push((JSON.parse(text) as { ops: unknown[] }).ops));
    await listener.subscribe(channel);
    return seen;
  }

  it('should hold re-stamps of an unchanged record and the last-used account, and send a changed value at once', { timeout: 60_000 }, async () => {
    const keyPrefix = `cost:${randomUUID()}:`;
    const seen = await listen(`${keyPrefix}events`);
    // A lazy delay no test outlives: anything sent below was sent because it was urgent.
    const a = watched({ url: server.url, keyPrefix, lazyWriteMs: 3_600_000 });
    const b = watched({ url: server.url, keyPrefix });
    await Promise.all([a.store.ready(), b.store.ready()]);

    a.store.updateRateLimits('one', { utilization5h: 0.25, updatedMs: Date.now() });
    a.store.setLastUsed('one');
    await eventually('the first record to reach B', () => b.store.utilization5h('one') === 0.25, 30_000);
    const afterFirst = seen.length;

    // A hundred responses saying the same: nothing goes to Redis.
    for (let i = 0; i < 100; i++) {
      a.store.updateRateLimits('one', { utilization5h: 0.25, updatedMs: Date.now() + i + 1 });
      a.store.setLastUsed('one');
    }
    // A changed utilization goes on the next tick, without waiting for the held writes.
    a.store.updateRateLimits('one', { utilization5h: 0.5, updatedMs: Date.now() + 200 });
    await eventually('the changed value to reach B', () => b.store.utilization5h('one') === 0.5, 30_000);
    const ops = seen.slice(afterFirst).flat();
    expect(ops.filter((op) => Array.isArray(op) && op[0] === 'rt')).toEqual([]);
    expect(ops.filter((op) => Array.isArray(op) && op[0] === 'rl')).toHaveLength(1);
    expect(a.store.status().pendingWrites).toBeGreaterThan(0);

    // flush() sends the held ones too: B ends with A's latest stamp and last-used account.
    await a.store.flush();
    expect(a.store.status().pendingWrites).toBe(0);
    await eventually('the held writes to reach B', () => b.store.getLastUsed() === 'one', 30_000);
    expect(b.store.rateLimits('one')).toEqual(a.store.rateLimits('one'));
  });

  it('should weigh a held re-stamp against a record from another instance, and converge on the newest', { timeout: 60_000 }, async () => {
    const keyPrefix = `cost:${randomUUID()}:`;
    const a = watched({ url: server.url, keyPrefix, lazyWriteMs: 3_600_000 });
    const b = watched({ url: server.url, keyPrefix });
    await Promise.all([a.store.ready(), b.store.ready()]);
    const t = Date.now();
    a.store.updateRateLimits('one', { utilization5h: 0.25, updatedMs: t });
    await eventually('the first record to reach B', () => b.store.utilization5h('one') === 0.25, 30_000);

    // A hears 0.25 again at t + 20 (held: nothing new); B meanwhile heard 0.3 at t + 10.
    a.store.updateRateLimits('one', { utilization5h: 0.25, updatedMs: t + 20 });
    b.store.updateRateLimits('one', { utilization5h: 0.3, updatedMs: t + 10 });
    await b.store.flush();
    await a.store.reconcile(); // A has merged B's record now, whatever pub/sub did
    // A's own later record still stands: it was weighed, not overwritten by an older one.
    expect(a.store.rateLimits('one')).toMatchObject({ utilization5h: 0.25, updatedMs: t + 20 });

    await a.store.flush();
    await eventually('B to take the newest record', () => b.store.rateLimits('one')?.updatedMs === t + 20, 30_000);
    expect(b.store.utilization5h('one')).toBe(0.25);
  });

  it('should send held writes by themselves after lazyWriteMs', { timeout: 60_000 }, async () => {
    const keyPrefix = `cost:${randomUUID()}:`;
    const a = watched({ url: server.url, keyPrefix, lazyWriteMs: 50 });
    const b = watched({ url: server.url, keyPrefix });
    await Promise.all([a.store.ready(), b.store.ready()]);
    a.store.setLastUsed('two');
    await eventually('the last-used account to reach B', () => b.store.getLastUsed() === 'two', 30_000);
    expect(a.store.status().pendingWrites).toBe(0);
  });
});
