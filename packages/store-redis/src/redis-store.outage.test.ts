// Redis goes away (SIGKILL, nothing persisted) and comes back empty: the instances keep serving
// from their replicas, say so once, and when Redis returns they push what they know and reload,
// so nothing either learned meanwhile is lost. A file of its own: it kills its server.
import { randomUUID } from 'node:crypto';
import { pickAccount } from '@shunt/core';
import { expect, it } from 'vitest';
import { freePort, startRedis, type RedisServer } from '../test/redis-server.js';
import { watched as watchedStore, type Watched } from '../test/watched.js';
import { describeWithRedis, useRedisServer } from '../test/with-redis.js';
import type { RedisStore, RedisStoreOptions } from './redis-store.js';

const open: RedisStore[] = [];

function watched(options: RedisStoreOptions): Watched {
  return watchedStore(options, open);
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithRedis('redisStore when Redis goes away', () => {
  let server: RedisServer;
  useRedisServer(open, (started) => {
    server = started;
  });

  it('should keep serving while Redis is killed mid-write, report it once, and lose nothing when it returns', async () => {
    const keyPrefix = `outage:${randomUUID()}:`;
    const a = watched({ url: server.url, keyPrefix });
    const b = watched({ url: server.url, keyPrefix });
    await Promise.all([a.store.ready(), b.store.ready()]);
    const accounts = Array.from({ length: 8 }, (_, i) => ({ name: `account-${String(i)}` }));

    // A writes steadily: a cooldown, a conversation and a rate-limit record every few ms.
    let written = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const i = written++;
        a.store.setCooldown(`account-${String(i % 8)}`, 60_000 + i);
        a.store.setSticky(`conversation-${String(i)}`, `account-${String(i % 8)}`, 600_000);
        a.store.updateRateLimits(`account-${String(i % 8)}`, { utilization7d: i / 1000, updatedMs: Date.now() });
        // Picking keeps working whatever Redis does (no pick throws; all are cooling or not).
        pickAccount(accounts, a.store, { fingerprint: `conversation-${String(i)}` });
        await pause(3);
      }
    })();

    await pause(100);
    await server.kill();
    await eventually(() => !a.store.status().connected && !b.store.status().connected, 5000);
    // B learns something during the outage too.
    b.store.setPinned('account-3');
    b.store.disable('account-7', 'needs login');
    await pause(300);
    expect(a.store.status().degradedSinceMs).not.toBeNull();
    expect(a.store.status().pendingWrites).toBeGreaterThan(0);
    const duringOutage = written;

    await server.restart();
    const recoveredInMs = await eventually(() => a.store.status().connected && b.store.status().connected, 10_000);
    await pause(50);
    writing = false;
    await writer;
    await Promise.all([a.store.flush(), b.store.flush()]);
    console.info(`both instances reconciled ${recoveredInMs.toFixed(0)} ms after Redis came back; A wrote ${String(written)} times, ${String(duringOutage)} before the restart`);

    // Logged once each, however many reconnection attempts failed.
    expect(a.degraded).toHaveLength(1);
    expect(b.degraded).toHaveLength(1);
    expect(a.recovered).toHaveLength(1);
    expect(b.recovered).toHaveLength(1);

    // B sees everything A wrote (before, during and after the outage), and A sees B's outage writes.
    await eventually(() => b.store.getSticky(`conversation-${String(written - 1)}`) !== null, 2000);
    await b.store.reconcile();
    for (let i = 0; i < written; i++) {
      const fp = `conversation-${String(i)}`;
      expect(a.store.getSticky(fp)).not.toBeNull();
      expect(b.store.getSticky(fp)).toBe(a.store.getSticky(fp));
    }
    for (const { name } of accounts) {
      expect(b.store.cooldownUntilMs(name)).toBe(a.store.cooldownUntilMs(name));
      expect(b.store.rateLimits(name)).toEqual(a.store.rateLimits(name));
    }
    await eventually(() => a.store.getPinned() === 'account-3', 2000);
    expect(a.store.disabledReason('account-7')).toBe('needs login');

    // And Redis, which came back empty, holds it all again: a new instance starts from it.
    const late = watched({ url: server.url, keyPrefix });
    await late.store.ready();
    expect(late.store.getSticky('conversation-0')).toBe(a.store.getSticky('conversation-0'));
    expect(late.store.getPinned()).toBe('account-3');
    expect(late.store.cooldownUntilMs('account-5')).toBe(a.store.cooldownUntilMs('account-5'));
    expect(late.degraded).toHaveLength(0);
  });

  it('should start without Redis, serve from the replica, and sync once Redis appears', async () => {
    const port = await freePort();
    const keyPrefix = `startup:${randomUUID()}:`;
    const early = watched({ url: `redis://127.0.0.1:${String(port)}`, keyPrefix, readyTimeoutMs: 200 });
    await expect(early.store.ready()).rejects.toThrow(/no connection to Redis/);
    expect(early.degraded).toHaveLength(1);
    expect(early.store.status()).toMatchObject({ connected: false, lastSyncMs: null });
    early.store.setCooldown('work', 60_000);
    expect(early.store.isAvailable('work')).toBe(false);

    const late = await startRedis({ port });
    try {
      await eventually(() => early.store.status().connected, 10_000);
      expect(early.recovered).toHaveLength(1);
      const other = watched({ url: late.url, keyPrefix });
      await other.store.ready();
      expect(other.store.cooldownUntilMs('work')).toBe(early.store.cooldownUntilMs('work'));
    } finally {
      await Promise.all(open.splice(0).map((store) => store.close()));
      await late.stop();
    }
  });
});
