// Two (or three) redisStore instances on one real redis-server: what one learns, the others learn
// within a bounded time, and concurrent writes converge whatever order they land in.
import { randomUUID } from 'node:crypto';
import { classifyResponse, pickAccount, recordResponse, type RateLimitInfo } from '@shunt/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { freePort, type RedisServer } from '../test/redis-server.js';
import { describeWithRedis, useRedisServer } from '../test/with-redis.js';
import { redisStore, type RedisStore, type RedisStoreOptions } from './redis-store.js';

const T0 = Date.UTC(2026, 0, 1);
const S0 = T0 / 1000;
/** What "quickly" means for pub/sub propagation on one machine; measured values are far below. */
const PROPAGATION_BOUND_MS = 500;

let server: RedisServer;
const open: RedisStore[] = [];
const prefixes = new WeakMap<RedisStore, string>();

/** Instances sharing one fresh key prefix, all loaded from Redis. */
async function instances(count: number, options: Partial<RedisStoreOptions> = {}): Promise<RedisStore[]> {
  const keyPrefix = `pair:${randomUUID()}:`;
  const stores = Array.from({ length: count }, () => redisStore({ url: server.url, keyPrefix, ...options }));
  open.push(...stores);
  for (const store of stores) prefixes.set(store, keyPrefix);
  await Promise.all(stores.map((store) => store.ready()));
  return stores;
}

/** Poll until `check` holds; resolves to how long it took (ms), rejects after `timeoutMs`. */
async function eventually(check: () => boolean, timeoutMs = PROPAGATION_BOUND_MS): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - start;
}

describeWithRedis('redisStore across instances', () => {
  useRedisServer(open, (started) => {
    server = started;
  });

  it('should show every kind of write made on A to B within the propagation bound', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    const now = Date.now();
    const timings: Record<string, number> = {};

    a.setCooldown('work', 60_000);
    timings['cooldown'] = await eventually(() => b.cooldownUntilMs('work') === a.cooldownUntilMs('work'));

    const record: RateLimitInfo = { utilization5h: 0.42, reset5hSecs: Math.floor(now / 1000) + 3600, status5h: 'allowed', updatedMs: now };
    a.updateRateLimits('work', record);
    timings['rate limits'] = await eventually(() => b.rateLimits('work')?.utilization5h === 0.42);
    expect(b.rateLimits('work')).toEqual(record);

    a.setSticky('conversation', 'personal', 600_000);
    timings['sticky'] = await eventually(() => b.getSticky('conversation') === 'personal');

    a.setPinned('personal');
    timings['pin'] = await eventually(() => b.getPinned() === 'personal');
    a.setPinned(null);
    await eventually(() => b.getPinned() === null);

    a.disable('spare', 'needs login');
    timings['disabled'] = await eventually(() => b.disabledReason('spare') === 'needs login');
    expect(b.isAvailable('spare')).toBe(false);
    a.enable('spare');
    await eventually(() => b.disabledReason('spare') === null);

    // Read by no pick: held up to lazyWriteMs (1 s) so that it goes with other such writes.
    a.setLastUsed('work');
    timings['last used (held)'] = await eventually(() => b.getLastUsed() === 'work', 30_000);

    a.clearCooldown('work');
    timings['cleared cooldown'] = await eventually(() => b.cooldownUntilMs('work') === null);

    console.info(`propagation A→B (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  });

  it('should route B around an account within the bound once A saw it answer 429', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    const accounts = [{ name: 'work' }, { name: 'personal' }];
    // Both instances would pick `work` (most headroom)…
    const reset5hSecs = Math.floor(Date.now() / 1000) + 3 * 3600;
    for (const store of [a, b]) store.updateRateLimits('personal', { utilization5h: 0.5, reset5hSecs, updatedMs: Date.now() });
    expect(pickAccount(accounts, b)?.name).toBe('work');
    // …until A gets a 429 for it.
    const action = classifyResponse(
      { status: 429, headers: { 'retry-after': '60', 'anthropic-ratelimit-unified-5h-status': 'rejected' } },
      { nowMs: a.now() },
    );
    expect(action.kind).toBe('failover');
    recordResponse(a, { name: 'work' }, action);
    expect(pickAccount(accounts, a)?.name).toBe('personal');
    const tookMs = await eventually(() => pickAccount(accounts, b)?.name === 'personal');
    console.info(`a 429 on A reached B's picks in ${tookMs.toFixed(1)} ms`);
  });

  it('should keep a conversation started on A on the same account when its next turn lands on B', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    const accounts = [{ name: 'work' }, { name: 'personal' }];
    const first = pickAccount(accounts, a, { fingerprint: 'conversation-1' });
    expect(first?.name).toBe('work');
    await eventually(() => b.getSticky('conversation-1') === 'work');
    // B has since learned that `work` is busier: without stickiness it would pick `personal`.
    b.updateRateLimits('work', { utilization5h: 0.9, reset5hSecs: Math.floor(Date.now() / 1000) + 3 * 3600, updatedMs: Date.now() });
    expect(pickAccount(accounts, b)?.name).toBe('personal');
    expect(pickAccount(accounts, b, { fingerprint: 'conversation-1' })?.name).toBe('work');
  });

  it('should load the shared state into a new instance on ready()', async () => {
    const [a] = (await instances(1)) as [RedisStore];
    a.setCooldown('work', 60_000);
    a.updateRateLimits('work', { utilization7d: 0.3, updatedMs: Date.now() });
    a.disable('spare', 'needs login');
    a.setPinned('personal');
    a.setSticky('conversation', 'work', 60_000);
    a.nextRoundRobin();
    a.nextRoundRobin();
    await a.flush();
    const late = redisStore({ url: server.url, keyPrefix: keyPrefixOf(a) });
    open.push(late);
    await late.ready();
    expect(late.cooldownUntilMs('work')).toBe(a.cooldownUntilMs('work'));
    expect(late.rateLimits('work')).toEqual(a.rateLimits('work'));
    expect(late.disabledReason('spare')).toBe('needs login');
    expect(late.getPinned()).toBe('personal');
    expect(late.getSticky('conversation')).toBe('work');
    expect(late.nextRoundRobin()).toBe(2);
  });

  it('should keep the later cooldown deadline whichever instance writes last', async () => {
    let t = T0;
    const [a, b] = (await instances(2, { now: () => t })) as [RedisStore, RedisStore];
    // Written in the same tick: both flushes race to Redis and through pub/sub.
    a.setCooldown('work', 60_000);
    b.setCooldown('work', 5000);
    await Promise.all([a.flush(), b.flush()]);
    await eventually(() => a.cooldownUntilMs('work') === T0 + 60_000 && b.cooldownUntilMs('work') === T0 + 60_000);
    // The short one arriving last does not cut the long one short either.
    t += 1000;
    b.setCooldown('work', 1000);
    await b.flush();
    await a.reconcile();
    expect(a.cooldownUntilMs('work')).toBe(T0 + 60_000);
  });

  it('should drop a bogus cooldown found in Redis and let a later, sane one stand', async () => {
    let t = T0;
    const [a] = (await instances(1, { now: () => t })) as [RedisStore];
    // What an older version wrote after a 5h window was rejected with a reset 10 years ahead.
    const redis = new Redis(server.url);
    await redis.hset(`${keyPrefixOf(a)}cooldowns`, 'work', `0;${String(T0 + 10 * 365 * 86_400_000)},${String(T0 * 1000)}`);
    redis.disconnect();
    await a.reconcile();
    expect(a.cooldownUntilMs('work')).toBeNull();
    t += 1000;
    a.setCooldown('work', 3_600_000);
    await a.flush();
    const late = redisStore({ url: server.url, keyPrefix: keyPrefixOf(a), now: () => t });
    open.push(late);
    await late.ready();
    expect(late.cooldownUntilMs('work')).toBe(T0 + 1000 + 3_600_000);
  });

  it('should keep the newest value of each rate-limit field whichever record lands last', async () => {
    const t = T0;
    const [a, b] = (await instances(2, { now: () => t })) as [RedisStore, RedisStore];
    a.updateRateLimits('work', { utilization5h: 0.8, reset5hSecs: S0 + 3600, updatedMs: T0 + 2000 });
    await a.flush();
    // B's response was received earlier but is reported later, and carries a field A's lacks.
    b.updateRateLimits('work', { utilization5h: 0.5, reset5hSecs: S0 + 3600, utilization7d: 0.3, updatedMs: T0 + 1000 });
    await b.flush();
    const expected = { utilization5h: 0.8, reset5hSecs: S0 + 3600, utilization7d: 0.3, updatedMs: T0 + 2000 };
    await eventually(() => sameJson(a.rateLimits('work'), expected) && sameJson(b.rateLimits('work'), expected));
  });

  it('should converge every instance and Redis to one state, whatever the interleaving of writes and flushes', async () => {
    const names = ['a', 'b', 'c'];
    const fingerprints = ['fp1', 'fp2'];
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('cooldown' as const), name: fc.constantFrom(...names), ms: fc.integer({ min: 0, max: 60_000 }) }),
      fc.record({ kind: fc.constant('clear' as const), name: fc.constantFrom(...names) }),
      fc.record({
        kind: fc.constant('rateLimits' as const),
        name: fc.constantFrom(...names),
        info: fc.record(
          {
            utilization5h: fc.constantFrom(0.1, 0.6, 1.01),
            reset5hSecs: fc.constantFrom(S0 + 30, S0 + 300),
            status5h: fc.constantFrom('allowed', 'rejected'),
            utilization7d: fc.constantFrom(0.2, 0.7),
          },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ kind: fc.constant('disable' as const), name: fc.constantFrom(...names), reason: fc.constantFrom('x', 'y') }),
      fc.record({ kind: fc.constant('enable' as const), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('pin' as const), name: fc.constantFrom(null, ...names) }),
      fc.record({ kind: fc.constant('sticky' as const), fingerprint: fc.constantFrom(...fingerprints), name: fc.constantFrom(...names) }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 20_000 }) }),
    );
    const stepArb = fc.record({ on: fc.integer({ min: 0, max: 1 }), op: opArb, flush: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        let t = T0;
        const stores = (await instances(2, { now: () => t })) as [RedisStore, RedisStore];
        try {
          for (const { on, op, flush } of steps) {
            const store = stores[on] as RedisStore;
            switch (op.kind) {
              case 'cooldown':
                store.setCooldown(op.name, op.ms);
                break;
              case 'clear':
                store.clearCooldown(op.name);
                break;
              case 'rateLimits':
                store.updateRateLimits(op.name, { ...op.info, updatedMs: t });
                break;
              case 'disable':
                store.disable(op.name, op.reason);
                break;
              case 'enable':
                store.enable(op.name);
                break;
              case 'pin':
                store.setPinned(op.name);
                break;
              case 'sticky':
                store.setSticky(op.fingerprint, op.name, 600_000);
                break;
              case 'advance':
                t += op.ms;
                break;
            }
            if (flush) await store.flush();
          }
          await Promise.all(stores.map((store) => store.flush()));
          await Promise.all(stores.map((store) => store.reconcile()));
          const fresh = redisStore({ url: server.url, keyPrefix: keyPrefixOf(stores[0]), now: () => t });
          open.push(fresh);
          await fresh.ready();
          const view = (store: RedisStore): unknown => ({
            accounts: names.map((name) => [store.cooldownUntilMs(name), store.disabledReason(name), store.rateLimits(name), store.isExhausted(name)]),
            sticky: fingerprints.map((fp) => store.getSticky(fp)),
            pinned: store.getPinned(),
          });
          expect(view(stores[1])).toEqual(view(stores[0]));
          expect(view(fresh)).toEqual(view(stores[0]));
        } finally {
          await Promise.all(open.splice(0).map((store) => store.close()));
        }
      }),
      { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 25) },
    );
  });

  it('should share the round-robin counter: each instance catches up with the others on its next increment', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    expect([a.nextRoundRobin(), a.nextRoundRobin(), a.nextRoundRobin()]).toEqual([0, 1, 2]);
    await a.flush();
    expect(b.nextRoundRobin()).toBe(0); // handed out locally, before Redis answers
    await b.flush();
    expect(b.nextRoundRobin()).toBe(4);
  });

  it('should keep sticky entries in Redis only for their TTL', async () => {
    const [a] = (await instances(1)) as [RedisStore];
    a.setSticky('short', 'work', 300);
    a.setSticky('long', 'work', 600_000);
    await a.flush();
    const raw = new Redis(server.url);
    try {
      const prefix = keyPrefixOf(a);
      const shortTtl = await raw.pttl(`${prefix}sticky:short`);
      expect(shortTtl).toBeGreaterThan(0);
      expect(shortTtl).toBeLessThanOrEqual(300);
      expect(await raw.pttl(`${prefix}sticky:long`)).toBeGreaterThan(300_000);
      await eventually(() => a.getSticky('short') === null, 1000);
      await eventually(() => false, 50).catch(() => {}); // Redis expires lazily within a few ms
      expect(await raw.exists(`${prefix}sticky:short`)).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it('should keep sliding renewals of a conversation local for about a second, and send changes at once', async () => {
    let t = T0;
    const [a, b] = (await instances(2, { now: () => t })) as [RedisStore, RedisStore];
    a.setSticky('conversation', 'work', 600_000);
    await a.flush();
    t += 500;
    a.setSticky('conversation', 'work', 600_000); // a sticky hit 0.5 s later
    expect(a.status().pendingWrites).toBe(0);
    t += 600;
    a.setSticky('conversation', 'work', 600_000); // 1.1 s after the last one sent
    expect(a.status().pendingWrites).toBe(1);
    await a.flush();
    a.setSticky('conversation', 'personal', 600_000); // rerouted: always sent
    expect(a.status().pendingWrites).toBe(1);
    await a.flush();
    await eventually(() => b.getSticky('conversation') === 'personal');
    // The local replica slid with every renewal.
    t += 600_000 - 1;
    expect(a.getSticky('conversation')).toBe('personal');
  });

  it('should count a key written many times as one pending write', async () => {
    const [a] = (await instances(1)) as [RedisStore];
    for (let i = 0; i < 1000; i++) a.setSticky('conversation', i % 2 === 0 ? 'work' : 'personal', 60_000);
    expect(a.status().pendingWrites).toBe(1);
    await a.flush();
    expect(a.status()).toMatchObject({ connected: true, degradedSinceMs: null, pendingWrites: 0 });
    expect(a.status().lastSyncMs).not.toBeNull();
  });

  it('should ignore malformed and foreign messages on the channel', async () => {
    const [a] = (await instances(1)) as [RedisStore];
    const raw = new Redis(server.url);
    try {
      const channel = `${keyPrefixOf(a)}events`;
      for (const message of ['not json', '{"v":2,"ops":[]}', '{"v":1,"from":"x","ops":[["cd","work","garbage"],["rl","work",{"nope":"1:1:[1,null]"}],["st","fp","1:1:\\"x\\""],42]}']) {
        await raw.publish(channel, message);
      }
      await raw.publish(channel, JSON.stringify({ v: 1, from: 'x', ops: [['rt', 'pinned', `${String(Date.now() * 2000)}:0:"work"`]] }));
      await eventually(() => a.getPinned() === 'work');
      expect(a.cooldownUntilMs('work')).toBeNull();
      expect(a.rateLimits('work')).toBeNull();
      expect(a.getSticky('fp')).toBeNull();
    } finally {
      raw.disconnect();
    }
  });

  it('should count a request that failed on A when another fails on B, and cool the account everywhere', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    const serverError = (store: RedisStore): ReturnType<typeof classifyResponse> =>
      classifyResponse({ status: 500, headers: {} }, { nowMs: store.now() });
    expect(recordResponse(a, { name: 'work' }, serverError(a), { requestKey: 'r1' })).toBe(0);
    // B hears of r1 by pub/sub: its own probe then counts two requests.
    const tookMs = await eventually(() => b.recordFault('work', 'probe', 60_000) === 2);
    console.info(`a failing request on A reached B's fault count in ${tookMs.toFixed(1)} ms`);
    expect(recordResponse(b, { name: 'work' }, serverError(b), { requestKey: 'r2' })).toBe(10_000);
    await eventually(() => a.cooldownUntilMs('work') === b.cooldownUntilMs('work'));
  });

  it('should not cool an account when one request fails on it through two instances', async () => {
    const [a, b] = (await instances(2)) as [RedisStore, RedisStore];
    const action = classifyResponse({ transportError: new Error('ECONNRESET') }, { nowMs: a.now() });
    recordResponse(a, { name: 'work' }, action, { requestKey: 'poison' });
    await a.flush();
    await b.reconcile();
    expect(recordResponse(b, { name: 'work' }, action, { requestKey: 'poison' })).toBe(0);
    expect(b.isAvailable('work')).toBe(true);
    expect(a.isAvailable('work')).toBe(true);
  });

  it('should load recent failures into a new instance, and keep them in Redis only for their window', async () => {
    let t = T0;
    const [a] = (await instances(1, { now: () => t })) as [RedisStore];
    a.recordFault('work', 'r1', 60_000);
    a.recordFault('work', 'r2', 60_000);
    a.recordFault('personal', 'r1', 60_000);
    await a.flush();
    const late = redisStore({ url: server.url, keyPrefix: keyPrefixOf(a), now: () => t });
    open.push(late);
    await late.ready();
    expect(late.recordFault('work', 'r3', 60_000)).toBe(3);
    expect(late.recordFault('personal', 'r1', 60_000)).toBe(1);
    await late.flush();
    const raw = new Redis(server.url);
    try {
      const key = `${keyPrefixOf(a)}faults`;
      expect(await raw.zcard(key)).toBe(4);
      const ttl = await raw.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // A minute and a bit later, the next write drops every failure older than its window.
      t += 60_001;
      a.recordFault('work', 'r4', 60_000);
      await a.flush();
      expect(await raw.zrange(key, 0, -1)).toEqual([JSON.stringify(['work', 'r4'])]);
    } finally {
      raw.disconnect();
    }
  });
});

it('should keep at most 1000 failing requests for Redis while it is unreachable, and go on counting', async () => {
  const store = redisStore({ url: `redis://127.0.0.1:${String(await freePort())}`, readyTimeoutMs: 60_000 });
  try {
    let count = 0;
    for (let i = 0; i < 5000; i++) count = store.recordFault(`account-${String(i % 5)}`, `r${String(i)}`, 60_000);
    expect(count).toBe(64);
    expect(store.status().pendingWrites).toBe(1000);
  } finally {
    await store.close();
  }
});

/** The key prefix a store made by {@link instances} shares with its group. */
function keyPrefixOf(store: RedisStore): string {
  const prefix = prefixes.get(store);
  if (prefix === undefined) throw new Error('keyPrefixOf: not a store made by instances()');
  return prefix;
}

function sameJson(x: unknown, y: unknown): boolean {
  return JSON.stringify(x, Object.keys(x ?? {}).sort()) === JSON.stringify(y, Object.keys(y ?? {}).sort());
}
