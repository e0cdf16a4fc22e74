import { describe, expect, it } from 'vitest';
import { explainPick, pickAccount, soonestAvailableMs, type PickOptions } from './pick.js';
import type { RateLimitInfo } from './rate-limits.js';
import { carousel, cushion, maximus, reaper, resolveStrategy } from './strategies/index.js';
import type { Account, Strategy } from './strategies/types.js';
import { memoryStore, type MemoryStore } from './store/memory.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const NOW_SECS = T0 / 1000;
const HOUR = 3600;
const MIN_MS = 60_000;
const ALL: ReadonlyArray<readonly [string, Strategy]> = [maximus, cushion, reaper, carousel].map((s) => [s.name, s] as const);

describe('pickAccount: availability (ported from the seed)', () => {
  it.each(ALL)('should skip an account whose window is exhausted (all_strategies_skip_exhausted, %s)', (_, strategy) => {
    for (const status of ['exhausted', 'rejected']) {
      const { store, accounts } = setup('exhausted', 'fresh');
      limits(store, 'exhausted', { utilization5h: 1, reset5hSecs: NOW_SECS + HOUR, status5h: status });
      expect(pickAccount(accounts, store, { strategy })?.name).toBe('fresh');
    }
  });

  it.each(ALL)('should skip an account whose weekly window is rejected (%s)', (_, strategy) => {
    const { store, accounts } = setup('exhausted', 'fresh');
    limits(store, 'exhausted', { utilization7d: 1, reset7dSecs: NOW_SECS + 2 * 24 * HOUR, status7d: 'rejected' });
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('fresh');
  });

  it.each(ALL)('should route to a rejected account again once its window has reset (%s)', (_, strategy) => {
    const { clock, store, accounts } = setup('was-exhausted');
    limits(store, 'was-exhausted', { utilization5h: 1, reset5hSecs: NOW_SECS + HOUR, status5h: 'rejected' });
    expect(pickAccount(accounts, store, { strategy })).toBeNull();
    clock.t += HOUR * 1000;
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('was-exhausted');
  });

  it.each(ALL)('should skip an account on cooldown (all_strategies_skip_cooldown, %s)', (_, strategy) => {
    const { store, accounts } = setup('cooling', 'ready');
    store.setCooldown('cooling', 60_000);
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('ready');
  });

  // The seed's health-check exclusion maps to disable(): a failing probe takes the account out.
  it.each(ALL)('should skip a disabled account (all_strategies_skip_health_check_failed, %s)', (_, strategy) => {
    const { store, accounts } = setup('unhealthy', 'healthy');
    store.disable('unhealthy', 'health check failed');
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('healthy');
  });

  it.each(ALL)('should route to an account again once enabled (health_check_failed_cleared_allows_routing, %s)', (_, strategy) => {
    const { store, accounts } = setup('recovered');
    store.disable('recovered', 'health check failed');
    expect(pickAccount(accounts, store, { strategy })).toBeNull();
    store.enable('recovered');
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('recovered');
  });

  it.each(ALL)('should return null when no account is eligible (all_unhealthy_returns_none, %s)', (_, strategy) => {
    const { store, accounts } = setup('a', 'b', 'c', 'd');
    store.disable('a');
    store.setCooldown('b', 1000);
    limits(store, 'c', { reset5hSecs: NOW_SECS + 60, status5h: 'rejected' });
    expect(pickAccount(accounts, store, { strategy, tried: new Set(['d']) })).toBeNull();
    expect(pickAccount([], store, { strategy })).toBeNull();
  });

  it.each(ALL)('should never pick an account already tried (%s)', (_, strategy) => {
    const { store, accounts } = setup('a', 'b');
    expect(pickAccount(accounts, store, { strategy, tried: new Set(['a']) })?.name).toBe('b');
  });

  it('should return the very object from the accounts list', () => {
    const accounts = [{ name: 'a', token: 'secret-a' }];
    const { store } = setup();
    expect(pickAccount(accounts, store)).toBe(accounts[0]);
  });
});

describe('pickAccount: pinned', () => {
  it.each(ALL)('should route to the pinned account under every strategy (pinned_account_beats_all_strategies, %s)', (_, strategy) => {
    const { store, accounts } = setup('a', 'b');
    limits(store, 'a', { utilization5h: 0.9, reset5hSecs: NOW_SECS + HOUR, status5h: 'allowed' });
    limits(store, 'b', { utilization5h: 0.1, reset5hSecs: NOW_SECS + HOUR, status5h: 'allowed' });
    store.setPinned('a');
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('a');
    store.setPinned('b');
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('b');
  });

  it('should not write a sticky entry or advance the carousel for a pinned pick', () => {
    const { store, accounts } = setup('a', 'b');
    store.setPinned('b');
    expect(explainPick(accounts, store, { strategy: carousel, fingerprint: 'fp' })).toMatchObject({
      account: { name: 'b' },
      reason: 'pinned',
    });
    expect(store.getSticky('fp')).toBeNull();
    expect(store.nextRoundRobin()).toBe(0);
  });

  // Deliberate change: the seed routed to a pinned account even with its window rejected.
  it('should fall through to the strategy when the pinned account is exhausted', () => {
    const { store, accounts } = setup('a', 'b');
    limits(store, 'b', { utilization5h: 1, reset5hSecs: NOW_SECS + HOUR, status5h: 'rejected' });
    store.setPinned('b');
    expect(explainPick(accounts, store)).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
  });

  it.each([
    ['cooling', (store: MemoryStore) => store.setCooldown('b', MIN_MS)],
    ['disabled', (store: MemoryStore) => store.disable('b')],
  ] as const)('should fall through when the pinned account is %s', (_, apply) => {
    const { store, accounts } = setup('a', 'b');
    store.setPinned('b');
    apply(store);
    expect(explainPick(accounts, store)).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
  });

  it('should fall through when the pinned account was tried or is not in this list', () => {
    const { store, accounts } = setup('a', 'b');
    store.setPinned('b');
    expect(pickAccount(accounts, store, { tried: new Set(['b']) })?.name).toBe('a');
    store.setPinned('elsewhere');
    expect(explainPick(accounts, store)).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
  });
});

describe('pickAccount: sticky', () => {
  it('should keep a conversation on its account and record the strategy pick as sticky', () => {
    const { store, accounts } = setup('a', 'b', 'c');
    const options: PickOptions = { strategy: carousel, fingerprint: 'conversation' };
    expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
    expect(store.getSticky('conversation')).toBe('a');
    for (let i = 0; i < 3; i++) {
      expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'a' }, reason: 'sticky' });
    }
    // Other conversations still rotate.
    expect(pickAccount(accounts, store, { strategy: carousel, fingerprint: 'other' })?.name).toBe('b');
  });

  it('should not ask the store for a sticky entry when the request has no fingerprint', () => {
    // A Redis store pays a round trip per lookup: a request without a conversation costs none.
    const { store, accounts } = setup('a', 'b');
    const looked: unknown[] = [];
    const spy: MemoryStore = { ...store, getSticky: (fingerprint) => (looked.push(fingerprint), store.getSticky(fingerprint)) };
    expect(explainPick(accounts, spy, { fingerprint: null })).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
    expect(pickAccount(accounts, spy)?.name).toBe('a');
    expect(looked).toEqual([]);
    pickAccount(accounts, spy, { fingerprint: 'fp' });
    expect(looked).toEqual(['fp']);
  });

  it('should renew the TTL on every hit when sliding (the default)', () => {
    const { clock, store, accounts } = setup('a', 'b');
    const options: PickOptions = { strategy: cushion, fingerprint: 'fp' };
    expect(pickAccount(accounts, store, options)?.name).toBe('a');
    // From now on Cushion would prefer b: only stickiness keeps the conversation on a.
    limits(store, 'a', { utilization5h: 0.5, reset5hSecs: NOW_SECS + 4 * HOUR, status5h: 'allowed' });
    for (let i = 0; i < 3; i++) {
      clock.t += 9 * MIN_MS;
      expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'a' }, reason: 'sticky' });
    }
  });

  it("should re-route sticky_ttl after the last strategy decision when not sliding (the seed's behaviour)", () => {
    const { clock, store, accounts } = setup('a', 'b');
    const options: PickOptions = { strategy: cushion, fingerprint: 'fp', slidingSticky: false };
    expect(pickAccount(accounts, store, options)?.name).toBe('a');
    limits(store, 'a', { utilization5h: 0.5, reset5hSecs: NOW_SECS + 4 * HOUR, status5h: 'allowed' });
    clock.t += 9 * MIN_MS;
    expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'a' }, reason: 'sticky' });
    clock.t += 9 * MIN_MS;
    expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'b' }, reason: 'strategy' });
    clock.t += 9 * MIN_MS;
    expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'b' }, reason: 'sticky' });
  });

  it('should honour stickyTtlMs', () => {
    const { clock, store, accounts } = setup('a', 'b');
    pickAccount(accounts, store, { strategy: carousel, fingerprint: 'fp', stickyTtlMs: 1000 });
    // Away from the exact boundary, which is the store's business.
    clock.t += 500;
    expect(store.getSticky('fp')).toBe('a');
    clock.t += 1000;
    expect(store.getSticky('fp')).toBeNull();
  });

  it('should keep a conversation that asks for 1-hour prompt caching stuck for at least an hour', () => {
    const { clock, store, accounts } = setup('a', 'b');
    const options = { strategy: carousel, fingerprint: 'fp', stickyTtlMs: 10 * MIN_MS, promptCacheTtlMs: 60 * MIN_MS };
    expect(pickAccount(accounts, store, options)?.name).toBe('a');
    // A 30-minute pause: past the sticky TTL, within the cache's life.
    clock.t += 30 * MIN_MS;
    expect(explainPick(accounts, store, options)).toMatchObject({ account: { name: 'a' }, reason: 'sticky' });
    // The sliding TTL restarted at that pick; an hour and a bit later it is gone.
    clock.t += 61 * MIN_MS;
    expect(store.getSticky('fp')).toBeNull();
  });

  it('should keep the longer sticky TTL when the prompt cache lives less', () => {
    const { clock, store, accounts } = setup('a', 'b');
    pickAccount(accounts, store, { strategy: carousel, fingerprint: 'fp', stickyTtlMs: 10 * MIN_MS, promptCacheTtlMs: 5 * MIN_MS });
    clock.t += 8 * MIN_MS;
    expect(store.getSticky('fp')).toBe('a');
  });

  it.each([
    ['cooling', (store: MemoryStore) => store.setCooldown('a', MIN_MS), {}],
    ['disabled (sticky_skips_health_check_failed)', (store: MemoryStore) => store.disable('a', 'health check failed'), {}],
    [
      'exhausted',
      (store: MemoryStore) => limits(store, 'a', { utilization5h: 1, reset5hSecs: NOW_SECS + HOUR, status5h: 'rejected' }),
      {},
    ],
    ['tried', () => undefined, { tried: new Set(['a']) }],
  ] as const)('should skip a sticky account that is %s and re-stick to the new pick', (_, apply, extra) => {
    const { store, accounts } = setup('a', 'b');
    store.setSticky('fp', 'a', 600_000);
    apply(store);
    expect(explainPick(accounts, store, { fingerprint: 'fp', ...extra })).toMatchObject({
      account: { name: 'b' },
      reason: 'strategy',
    });
    expect(store.getSticky('fp')).toBe('b');
  });

  it('should ignore a sticky entry naming an account outside this list', () => {
    const { store, accounts } = setup('a', 'b');
    store.setSticky('fp', 'elsewhere', 600_000);
    expect(explainPick(accounts, store, { fingerprint: 'fp' })).toMatchObject({ account: { name: 'a' }, reason: 'strategy' });
    expect(store.getSticky('fp')).toBe('a');
  });

  it('should let the pin win over a sticky entry', () => {
    const { store, accounts } = setup('a', 'b');
    store.setSticky('fp', 'a', 600_000);
    store.setPinned('b');
    expect(explainPick(accounts, store, { fingerprint: 'fp' })).toMatchObject({ account: { name: 'b' }, reason: 'pinned' });
    expect(store.getSticky('fp')).toBe('a');
  });

  it('should not stick when there is no fingerprint', () => {
    const { store, accounts } = setup('a');
    const before = store.snapshot().sticky;
    pickAccount(accounts, store, { fingerprint: null });
    pickAccount(accounts, store, {});
    expect(store.snapshot().sticky).toEqual(before);
  });
});

describe('explainPick', () => {
  it('should list every candidate with what the strategy weighed and every exclusion with its first reason', () => {
    const { store, accounts } = setup('tried-and-disabled', 'disabled', 'cooling', 'exhausted', 'fresh', 'used');
    store.disable('tried-and-disabled');
    store.disable('disabled', 'auth');
    store.setCooldown('disabled', MIN_MS);
    store.setCooldown('cooling', MIN_MS);
    limits(store, 'cooling', { reset5hSecs: NOW_SECS + 60, status5h: 'rejected' });
    limits(store, 'exhausted', { reset5hSecs: NOW_SECS + 60, status5h: 'rejected' });
    limits(store, 'used', { utilization5h: 0.5, reset5hSecs: NOW_SECS + 2.5 * HOUR, status5h: 'allowed' });

    const decision = explainPick(accounts, store, { tried: new Set(['tried-and-disabled']), strategy: resolveStrategy('most-available') });

    expect(decision).toEqual({
      account: accounts[4],
      reason: 'strategy',
      strategy: 'cushion',
      candidates: [
        { name: 'fresh', explain: { binding: 0, secondary: 0 } },
        { name: 'used', explain: { binding: 0.5, secondary: 0 } },
      ],
      excluded: [
        { name: 'tried-and-disabled', why: 'tried' },
        { name: 'disabled', why: 'disabled' },
        { name: 'cooling', why: 'cooling' },
        { name: 'exhausted', why: 'exhausted' },
      ],
    });
  });

  it("should report reason 'none' with no account when nothing is eligible", () => {
    const { store, accounts } = setup('a');
    store.disable('a');
    expect(explainPick(accounts, store, { strategy: 'reaper' })).toEqual({
      account: null,
      reason: 'none',
      strategy: 'reaper',
      candidates: [],
      excluded: [{ name: 'a', why: 'disabled' }],
    });
  });

  it('should name the strategy in force and list candidates even when stickiness decided', () => {
    const { store, accounts } = setup('a', 'b');
    store.setSticky('fp', 'b', 600_000);
    const decision = explainPick(accounts, store, { fingerprint: 'fp' });
    expect(decision.reason).toBe('sticky');
    expect(decision.strategy).toBe('maximus');
    expect(decision.candidates.map((c) => c.name)).toEqual(['a', 'b']);
    expect(decision.candidates[0]?.explain).toEqual({ score: 1, health5h: 1, health7d: 1 });
  });

  it('should give an empty explanation for a strategy without explain()', () => {
    const { store, accounts } = setup('a');
    const custom: Strategy = { name: 'first', pick: (candidates) => candidates[0] };
    expect(explainPick(accounts, store, { strategy: custom }).candidates).toEqual([{ name: 'a', explain: {} }]);
  });

  it('should not call explain() from pickAccount', () => {
    const { store, accounts } = setup('a', 'b');
    let calls = 0;
    const spy: Strategy = {
      name: 'spy',
      pick: (candidates) => candidates[0],
      explain: () => {
        calls++;
        return {};
      },
    };
    pickAccount(accounts, store, { strategy: spy });
    expect(calls).toBe(0);
    explainPick(accounts, store, { strategy: spy });
    expect(calls).toBe(2);
    expect(explainPick(accounts, store, { strategy: spy, candidates: false })).toEqual({ account: accounts[0], reason: 'strategy', strategy: 'spy', candidates: [], excluded: [] });
    expect(calls).toBe(2);
  });

  it('should report the reason alone with candidates: false, sticky and pinned too', () => {
    const { store, accounts } = setup('a', 'b');
    store.setSticky('fp', 'b', 600_000);
    expect(explainPick(accounts, store, { fingerprint: 'fp', candidates: false })).toEqual({ account: accounts[1], reason: 'sticky', strategy: 'maximus', candidates: [], excluded: [] });
    store.setPinned('a');
    expect(explainPick(accounts, store, { fingerprint: 'fp', candidates: false })).toMatchObject({ account: accounts[0], reason: 'pinned', candidates: [] });
    store.disable('a');
    store.disable('b');
    expect(explainPick(accounts, store, { candidates: false })).toEqual({ account: null, reason: 'none', strategy: 'maximus', candidates: [], excluded: [] });
  });
});

describe('pickAccount: misuse', () => {
  it('should throw a clear error when the strategy returns something that is not a candidate', () => {
    const { store, accounts } = setup('a', 'b');
    // A look-alike object, not the account itself.
    const rogue: Strategy = { name: 'rogue', pick: () => ({ name: 'a' }) as never };
    expect(() => pickAccount(accounts, store, { strategy: rogue })).toThrow(
      'Strategy "rogue" returned an account named "a", which is not one of its 2 candidates',
    );
    const tried: Strategy = { name: 'ignores-tried', pick: () => accounts[0] as never };
    expect(() => pickAccount(accounts, store, { strategy: tried, tried: new Set(['a']) })).toThrow(/ignores-tried/);
  });

  it('should throw for an unknown strategy name instead of falling back to maximus', () => {
    const { store, accounts } = setup('a');
    expect(() => pickAccount(accounts, store, { strategy: 'freshest' as 'maximus' })).toThrow(/Unknown routing strategy "freshest"/);
  });

  it.each([
    ['stickyTtlMs', -1],
    ['stickyTtlMs', Number.NaN],
    ['stickyTtlMs', Number.POSITIVE_INFINITY],
    ['promptCacheTtlMs', -1],
    // From JavaScript or a parsed config: a numeric string is not a number.
    ['promptCacheTtlMs', '3600000' as unknown as number],
    ['expirySoonSecs', -0.5],
    ['expirySoonSecs', Number.NaN],
  ] as const)('should throw a RangeError naming %s for %s', (option, value) => {
    const { store, accounts } = setup('a');
    expect(() => pickAccount(accounts, store, { [option]: value })).toThrow(RangeError);
    expect(() => pickAccount(accounts, store, { [option]: value })).toThrow(option);
  });

  it('should accept 0 for stickyTtlMs and expirySoonSecs (the lower bound is inclusive)', () => {
    const { store, accounts } = setup('a');
    expect(pickAccount(accounts, store, { stickyTtlMs: 0, expirySoonSecs: 0 })?.name).toBe('a');
  });

  it('should describe a strategy result that is not an account at all', () => {
    const { store, accounts } = setup('a');
    const returning = (value: unknown): Strategy => ({ name: 'broken', pick: () => value as never });
    expect(() => pickAccount(accounts, store, { strategy: returning(undefined) })).toThrow(
      'Strategy "broken" returned undefined, which is not one of its 1 candidates',
    );
    expect(() => pickAccount(accounts, store, { strategy: returning(null) })).toThrow('returned null, which');
    expect(() => pickAccount(accounts, store, { strategy: returning({ id: 1 }) })).toThrow('returned [object Object], which');
  });

  it('should notice a duplicate pushed onto an array that was already checked', () => {
    const { store } = setup();
    const accounts = [{ name: 'a' }, { name: 'b' }];
    expect(pickAccount(accounts, store)?.name).toBe('a');
    accounts.push({ name: 'a' });
    expect(() => pickAccount(accounts, store)).toThrow(TypeError);
  });

  it.each([2, 9, 300])('should throw a TypeError naming a duplicated account name (%i accounts)', (n) => {
    const { store } = setup();
    const accounts = Array.from({ length: n - 1 }, (_, i) => ({ name: `acct-${String(i)}` }));
    accounts.push({ name: `acct-${String(n - 2)}` });
    expect(() => pickAccount(accounts, store)).toThrow(TypeError);
    expect(() => explainPick(accounts, store)).toThrow(`two accounts are named "acct-${String(n - 2)}"`);
  });
});

describe('soonestAvailableMs', () => {
  it('should return now when an account is eligible now', () => {
    const { store } = setup();
    store.setCooldown('a', MIN_MS);
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], store)).toBe(T0);
  });

  it('should return the earliest cooldown end', () => {
    const { store } = setup();
    store.setCooldown('a', 5 * MIN_MS);
    store.setCooldown('b', 2 * MIN_MS);
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], store)).toBe(T0 + 2 * MIN_MS);
  });

  it("should wait for an exhausted account's rejected window to reset", () => {
    const { store } = setup();
    limits(store, 'a', { utilization5h: 1, reset5hSecs: NOW_SECS + HOUR, status5h: 'rejected', reset7dSecs: NOW_SECS + 3 * HOUR });
    expect(soonestAvailableMs([{ name: 'a' }], store)).toBe(T0 + HOUR * 1000);
  });

  it('should wait for the later of the cooldown and the reset, and for both rejected windows', () => {
    const { store } = setup();
    limits(store, 'a', { reset5hSecs: NOW_SECS + 60, status5h: 'rejected' });
    store.setCooldown('a', 5 * MIN_MS);
    limits(store, 'b', { reset5hSecs: NOW_SECS + 600, status5h: 'rejected', reset7dSecs: NOW_SECS + 7200, status7d: 'exhausted' });
    store.setCooldown('b', MIN_MS);
    expect(soonestAvailableMs([{ name: 'a' }], store)).toBe(T0 + 5 * MIN_MS);
    expect(soonestAvailableMs([{ name: 'b' }], store)).toBe(T0 + 7200 * 1000);
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], store)).toBe(T0 + 5 * MIN_MS);
  });

  it('should wait for the rejected window only, even when the other window resets later', () => {
    const { store } = setup();
    // Late in the week: the weekly window is rejected until 1 h from now, the 5-hour one is fine.
    limits(store, 'weekly', { reset5hSecs: NOW_SECS + 4 * HOUR, status5h: 'allowed', reset7dSecs: NOW_SECS + HOUR, status7d: 'rejected' });
    expect(soonestAvailableMs([{ name: 'weekly' }], store)).toBe(T0 + HOUR * 1000);
    // Both rejected, the 5-hour one resetting last: the later reset is when it is back.
    limits(store, 'both', { reset5hSecs: NOW_SECS + 2 * HOUR, status5h: 'rejected', reset7dSecs: NOW_SECS + HOUR, status7d: 'rejected' });
    expect(soonestAvailableMs([{ name: 'both' }], store)).toBe(T0 + 2 * HOUR * 1000);
  });

  it('should ignore disabled accounts, and return null when all are disabled or there are none', () => {
    const { store } = setup();
    store.disable('a');
    store.setCooldown('b', MIN_MS);
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], store)).toBe(T0 + MIN_MS);
    store.disable('b');
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], store)).toBeNull();
    expect(soonestAvailableMs([], store)).toBeNull();
  });

  it("should wait for the later known reset of an account a custom store calls exhausted without a record", () => {
    const { store } = setup();
    const custom = (r5: number | null, r7: number | null): MemoryStore => ({
      ...store,
      isExhausted: (name: string) => name === 'a',
      rateLimits: () => null,
      reset5hSecs: () => r5,
      reset7dSecs: () => r7,
    });
    expect(soonestAvailableMs([{ name: 'a' }], custom(NOW_SECS + 60, NOW_SECS + 600))).toBe(T0 + 600_000);
    expect(soonestAvailableMs([{ name: 'a' }], custom(NOW_SECS + 900, NOW_SECS + 600))).toBe(T0 + 900_000);
    expect(soonestAvailableMs([{ name: 'a' }], custom(null, NOW_SECS + 600))).toBe(T0 + 600_000);
    expect(soonestAvailableMs([{ name: 'a' }], custom(NOW_SECS + 60, null))).toBe(T0 + 60_000);
    // Exhausted until nobody knows when: it does not count, so only b's cooldown does.
    const unknown = custom(null, null);
    unknown.setCooldown('b', MIN_MS);
    expect(soonestAvailableMs([{ name: 'a' }], unknown)).toBeNull();
    expect(soonestAvailableMs([{ name: 'a' }, { name: 'b' }], unknown)).toBe(T0 + MIN_MS);
  });

  it('should agree with pickAccount: nothing before the instant, something at it', () => {
    const { clock, store, accounts } = setup('a', 'b');
    limits(store, 'a', { reset5hSecs: NOW_SECS + 90, status5h: 'rejected' });
    store.setCooldown('b', 2 * MIN_MS);
    const at = soonestAvailableMs(accounts, store);
    expect(at).toBe(T0 + 90_000);
    clock.t = (at as number) - 1;
    expect(pickAccount(accounts, store)).toBeNull();
    clock.t = at as number;
    expect(pickAccount(accounts, store)?.name).toBe('a');
  });
});

describe('overage (a rejected window Anthropic still serves, at overage cost)', () => {
  const onOverage = { status5h: 'rejected', reset5hSecs: NOW_SECS + 2 * HOUR, utilization5h: 1.02, overageStatus: 'allowed' } as const;

  it.each(['allowed', 'allowed_warning'])('should keep an account whose rejected window is served on overage (%s) eligible', (overageStatus) => {
    const { store, accounts } = setup('overage');
    limits(store, 'overage', { ...onOverage, overageStatus });
    expect(store.isExhausted('overage')).toBe(false);
    expect(store.utilization5h('overage')).toBeGreaterThanOrEqual(1);
    for (const [, strategy] of ALL) expect(pickAccount(accounts, store, { strategy })?.name).toBe('overage');
    expect(soonestAvailableMs(accounts, store)).toBe(T0);
  });

  it('should still count the window as exhausted when overage is rejected or unknown', () => {
    const { store, accounts } = setup('no-overage', 'unknown');
    limits(store, 'no-overage', { ...onOverage, overageStatus: 'rejected', overageDisabledReason: 'out_of_credits' });
    const { overageStatus: _, ...withoutOverage } = onOverage;
    limits(store, 'unknown', withoutOverage);
    expect(store.isExhausted('no-overage')).toBe(true);
    expect(store.isExhausted('unknown')).toBe(true);
    expect(pickAccount(accounts, store)).toBeNull();
  });

  it.each(ALL)('should leave an account on overage for last with %s', (_, strategy) => {
    // `overage` would win every strategy on its numbers (Reaper: it expires soonest; Maximus and
    // Cushion: its weekly window is emptier; Carousel: it comes first).
    const { store, accounts } = setup('overage', 'roomy');
    limits(store, 'overage', { ...onOverage, reset5hSecs: NOW_SECS + 600, utilization7d: 0.1, reset7dSecs: NOW_SECS + 6 * 24 * HOUR });
    limits(store, 'roomy', { utilization5h: 0.9, reset5hSecs: NOW_SECS + 4 * HOUR, utilization7d: 0.9, reset7dSecs: NOW_SECS + 6 * 24 * HOUR });
    for (let i = 0; i < 3; i++) expect(pickAccount(accounts, store, { strategy })?.name).toBe('roomy');
    store.setCooldown('roomy', MIN_MS);
    expect(pickAccount(accounts, store, { strategy })?.name).toBe('overage');
  });

  it('should move a conversation off an account on overage when another has room, and not between full ones', () => {
    const { store, accounts } = setup('a', 'b', 'c');
    store.setSticky('fp', 'a', 10 * MIN_MS);
    limits(store, 'a', onOverage);
    limits(store, 'b', onOverage);
    store.setCooldown('c', MIN_MS);
    // Carousel's next turn is 'b': only stickiness can keep the conversation on 'a'.
    store.nextRoundRobin();
    // Every eligible account is full: the conversation stays where its cache is.
    expect(explainPick(accounts, store, { fingerprint: 'fp', strategy: 'carousel' })).toMatchObject({ account: { name: 'a' }, reason: 'sticky' });
    store.clearCooldown('c');
    expect(pickAccount(accounts, store, { fingerprint: 'fp', strategy: 'carousel' })?.name).toBe('c');
    expect(store.getSticky('fp')).toBe('c');
  });

  it('should advance Carousel once per decision when every candidate is full', () => {
    // No account has room left, so the strategy's first choice stands: it is not asked again.
    const { store, accounts } = setup('a', 'b');
    limits(store, 'a', onOverage);
    limits(store, 'b', onOverage);
    const picks = [0, 1, 2].map(() => pickAccount(accounts, store, { strategy: 'carousel' })?.name);
    expect(picks).toEqual(['a', 'b', 'a']);
  });

  it('should honour a pin on an account on overage (the operator chose it)', () => {
    const { store, accounts } = setup('overage', 'roomy');
    limits(store, 'overage', onOverage);
    store.setPinned('overage');
    expect(pickAccount(accounts, store)?.name).toBe('overage');
  });
});

function setup(...names: string[]): { clock: { t: number }; store: MemoryStore; accounts: Account[] } {
  const clock = { t: T0 };
  return { clock, store: memoryStore({ now: () => clock.t }), accounts: names.map((name) => ({ name })) };
}

function limits(store: MemoryStore, name: string, info: Omit<RateLimitInfo, 'updatedMs'>): void {
  store.updateRateLimits(name, { ...info, updatedMs: store.now() });
}
