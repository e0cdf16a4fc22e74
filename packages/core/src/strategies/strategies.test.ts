import { describe, expect, it } from 'vitest';
import { pickAccount, type PickOptions } from '../pick.js';
import { memoryStore, type MemoryStore } from '../store/memory.js';
import { carousel, cushion, maximus, reaper, resolveStrategy, strategies, type StrategyName } from './index.js';
import type { Account, Strategy, StrategyContext } from './types.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3600;
const DAY = 24 * HOUR;
const ALL: readonly Strategy[] = [maximus, cushion, reaper, carousel];

type Pool = readonly [Account, ...Account[]];

describe('reaper (ported from the seed)', () => {
  it('should prefer the account expiring soon (reaper_prefers_expiring_soon)', () => {
    const { store, accounts } = setup('fresh', 'expiring');
    windows(store, 'fresh', { u5: 0.05, r5: 4 * HOUR });
    windows(store, 'expiring', { u5: 0.3, r5: 15 * 60 });
    expect(pick(accounts, store, 'reaper')).toBe('expiring');
  });

  it('should prefer the earlier reset on equal utilization (reaper_prefers_earlier_reset_on_equal_util)', () => {
    const { store, accounts } = setup('later', 'sooner');
    windows(store, 'later', { u5: 0.5, r5: 5 * HOUR });
    windows(store, 'sooner', { u5: 0.5, r5: 2 * HOUR });
    expect(pick(accounts, store, 'reaper')).toBe('sooner');
  });

  it('should prefer more remaining quota on equal reset (reaper_prefers_more_remaining_on_equal_reset)', () => {
    const { store, accounts } = setup('high', 'low');
    windows(store, 'high', { u5: 0.8, r5: 3 * HOUR });
    windows(store, 'low', { u5: 0.2, r5: 3 * HOUR });
    expect(pick(accounts, store, 'reaper')).toBe('low');
  });

  it('should order two expiring accounts by reset alone, ignoring utilization', () => {
    const { store, accounts } = setup('later-empty', 'sooner-full');
    windows(store, 'later-empty', { u5: 0.1, r5: 20 * 60 });
    windows(store, 'sooner-full', { u5: 0.9, r5: 10 * 60 });
    expect(pick(accounts, store, 'reaper')).toBe('sooner-full');
  });

  it('should save fresh accounts (no known reset) for last', () => {
    const { store, accounts } = setup('fresh', 'used');
    windows(store, 'used', { u5: 0.7, r5: 4 * HOUR });
    expect(pick(accounts, store, 'reaper')).toBe('used');
  });

  it('should use the weekly reset when the weekly window binds', () => {
    const { store, accounts } = setup('five-hour-soon', 'weekly-soon');
    // The 5 h reset is imminent but the weekly window is fuller, so the weekly reset binds.
    windows(store, 'five-hour-soon', { u5: 0.1, r5: 5 * 60, u7: 0.5, r7: 3 * DAY });
    windows(store, 'weekly-soon', { u5: 0.2, r5: 4 * HOUR, u7: 0.6, r7: 10 * 60 });
    expect(pick(accounts, store, 'reaper')).toBe('weekly-soon');
    expect(reaper.explain?.({ name: 'five-hour-soon' }, ctx(store))).toEqual({
      bindingUtilization: 0.5,
      bindingResetSecs: T0 / 1000 + 3 * DAY,
      expiring: false,
    });
  });

  it('should count a binding reset exactly expirySoonSecs away as expiring (the horizon is inclusive)', () => {
    const { store, accounts } = setup('full', 'empty');
    windows(store, 'full', { u5: 0.8, r5: 1800 });
    windows(store, 'empty', { u5: 0.2, r5: 1800 });
    // Both expiring: equal resets, so config order decides. Were the horizon exclusive, neither
    // would be expiring and the lower utilization would win.
    expect(pick(accounts, store, 'reaper', { expirySoonSecs: 1800 })).toBe('full');
    expect(reaper.explain?.({ name: 'full' }, ctx(store))).toMatchObject({ expiring: true });
    expect(pick(accounts, store, 'reaper', { expirySoonSecs: 1799 })).toBe('empty');
  });

  it('should bind the 5-hour reset when both windows are equally used', () => {
    const { store, accounts } = setup('five-hour-binds', 'other');
    // Equal utilization: the 5-hour reset (in 1 h) binds, not the weekly one (in 5 days), so this
    // account's reset is earlier than the other's (2 h) and it wins.
    windows(store, 'five-hour-binds', { u5: 0.5, r5: HOUR, u7: 0.5, r7: 5 * DAY });
    windows(store, 'other', { u5: 0.6, r5: 2 * HOUR, u7: 0.2, r7: 4 * DAY });
    expect(pick(accounts, store, 'reaper')).toBe('five-hour-binds');
    expect(reaper.explain?.({ name: 'five-hour-binds' }, ctx(store))).toEqual({
      bindingUtilization: 0.5,
      bindingResetSecs: T0 / 1000 + HOUR,
      expiring: false,
    });
  });

  it('should prefer the earlier reset even when that account is fuller (utilization only breaks reset ties)', () => {
    const { store, accounts } = setup('sooner-full', 'later-empty');
    windows(store, 'sooner-full', { u5: 0.8, r5: 2 * HOUR });
    windows(store, 'later-empty', { u5: 0.1, r5: 3 * HOUR });
    expect(pick(accounts, store, 'reaper')).toBe('sooner-full');
  });

  it('should honour expirySoonSecs (it decides whether utilization breaks a reset tie)', () => {
    const { store, accounts } = setup('high', 'low');
    windows(store, 'high', { u5: 0.8, r5: 45 * 60 });
    windows(store, 'low', { u5: 0.2, r5: 45 * 60 });
    // Not expiring within the default 30 min: same reset, so the lower utilization wins.
    expect(pick(accounts, store, 'reaper')).toBe('low');
    // Both expiring within an hour: the seed compares expiring resets only, so config order decides.
    expect(pick(accounts, store, 'reaper', { expirySoonSecs: 3600 })).toBe('high');
  });
});

describe('carousel (ported from the seed)', () => {
  it('should cycle through the accounts in config order (carousel_cycles_in_order)', () => {
    const { store, accounts } = setup('a', 'b', 'c');
    const picks = Array.from({ length: 6 }, () => pick(accounts, store, 'carousel'));
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('should rotate over the eligible accounts only', () => {
    const { store, accounts } = setup('a', 'b', 'c');
    store.setCooldown('b', 60_000);
    expect([pick(accounts, store, 'carousel'), pick(accounts, store, 'carousel'), pick(accounts, store, 'carousel')]).toEqual([
      'a',
      'c',
      'a',
    ]);
  });

  it('should not advance the counter when explaining', () => {
    const { store } = setup('a');
    expect(carousel.explain?.({ name: 'a' }, ctx(store))).toEqual({});
    expect(store.nextRoundRobin()).toBe(0);
  });

  it('should fall back to the first candidate when a custom store returns a non-integer counter', () => {
    const { store } = setup();
    const broken = { ...store, nextRoundRobin: () => Number.NaN };
    const accounts: Pool = [{ name: 'a' }, { name: 'b' }];
    expect(carousel.pick(accounts, { ...ctx(store), store: broken })).toBe(accounts[0]);
    expect(carousel.pick(accounts, { ...ctx(store), store: { ...store, nextRoundRobin: () => -1 } })).toBe(accounts[1]);
  });
});

describe('cushion (ported from the seed)', () => {
  it('should pick the lowest binding window (cushion_picks_lowest_binding)', () => {
    const { store, accounts } = setup('heavy', 'light');
    windows(store, 'heavy', { u5: 0.8, r5: HOUR });
    windows(store, 'light', { u5: 0.1, r5: HOUR });
    expect(pick(accounts, store, 'cushion')).toBe('light');
  });

  it('should break a binding tie on the secondary window (cushion_tiebreaks_on_secondary_window)', () => {
    // Both bind at 0.6, so only the secondary window can decide; the seed's own version of this
    // test had different bindings and never reached the tie-break.
    const { store, accounts } = setup('worse', 'better');
    windows(store, 'worse', { u5: 0.5, r5: HOUR, u7: 0.6, r7: DAY });
    windows(store, 'better', { u5: 0.6, r5: HOUR, u7: 0.2, r7: DAY });
    expect(pick(accounts, store, 'cushion')).toBe('better');
    expect(cushion.explain?.({ name: 'worse' }, ctx(store))).toEqual({ binding: 0.6, secondary: 0.5 });
    expect(cushion.explain?.({ name: 'better' }, ctx(store))).toEqual({ binding: 0.6, secondary: 0.2 });
  });

  it('should let the secondary window decide only between equal binding windows', () => {
    const { store, accounts } = setup('lower-binding', 'lower-secondary');
    windows(store, 'lower-binding', { u5: 0.4, r5: HOUR, u7: 0.5, r7: DAY });
    windows(store, 'lower-secondary', { u5: 0.6, r5: HOUR, u7: 0.1, r7: DAY });
    expect(pick(accounts, store, 'cushion')).toBe('lower-binding');
  });

  it('should keep the first of two accounts with equal binding and secondary windows', () => {
    const { store, accounts } = setup('first', 'second');
    windows(store, 'first', { u5: 0.6, r5: HOUR, u7: 0.2, r7: DAY });
    windows(store, 'second', { u5: 0.2, r5: 2 * HOUR, u7: 0.6, r7: 2 * DAY });
    expect(pick(accounts, store, 'cushion')).toBe('first');
  });

  it('should treat a window whose reset has passed as empty', () => {
    const { clock, store, accounts } = setup('rolled-over', 'half');
    windows(store, 'rolled-over', { u5: 0.9, r5: 60 });
    windows(store, 'half', { u5: 0.5, r5: 2 * HOUR });
    expect(pick(accounts, store, 'cushion')).toBe('half');
    clock.t += 61_000;
    expect(pick(accounts, store, 'cushion')).toBe('rolled-over');
  });
});

describe('maximus (ported from the seed)', () => {
  it('should prefer an imminent reset over raw utilization (maximus_prefers_imminent_reset_over_raw_utilization)', () => {
    const { store, accounts } = setup('draining', 'almost_reset');
    windows(store, 'draining', { u5: 0.6, r5: 3 * HOUR, u7: 0.3, r7: 4 * DAY });
    windows(store, 'almost_reset', { u5: 0.9, r5: 10 * 60, u7: 0.2, r7: 3 * DAY });
    expect(pick(accounts, store, 'maximus')).toBe('almost_reset');

    // The seed's worked example: 0.64 × 0.8286 ≈ 0.530 against 0.97 × 0.9143 ≈ 0.887.
    const draining = maximus.explain?.({ name: 'draining' }, ctx(store));
    expect(draining?.['health5h']).toBeCloseTo(0.64, 10);
    expect(draining?.['health7d']).toBeCloseTo(0.8286, 4);
    expect(draining?.['score']).toBeCloseTo(0.53, 3);
    const almostReset = maximus.explain?.({ name: 'almost_reset' }, ctx(store));
    expect(almostReset?.['health5h']).toBeCloseTo(0.97, 10);
    expect(almostReset?.['health7d']).toBeCloseTo(0.9143, 4);
    expect(almostReset?.['score']).toBeCloseTo(0.887, 3);
  });

  it('should pick a fresh account over a depleted one (maximus_picks_fresh_over_depleted)', () => {
    const { store, accounts } = setup('depleted', 'fresh');
    windows(store, 'depleted', { u5: 0.8, r5: 3 * HOUR, u7: 0.7, r7: 5 * DAY });
    expect(pick(accounts, store, 'maximus')).toBe('fresh');
    expect(maximus.explain?.({ name: 'fresh' }, ctx(store))).toEqual({ score: 1, health5h: 1, health7d: 1 });
  });

  it('should clamp utilization above 1 so the score stays in [0, 1]', () => {
    const { store } = setup();
    windows(store, 'over', { u5: 1.01, r5: 5 * HOUR, u7: 1.5, r7: 7 * DAY });
    expect(maximus.explain?.({ name: 'over' }, ctx(store))).toEqual({ score: 0, health5h: 0, health7d: 0 });
  });

  it('should clamp a negative utilization from a custom store to 0, so no health exceeds 1', () => {
    const { store } = setup();
    windows(store, 'odd', { u5: 0.5, r5: HOUR, u7: 0.5, r7: DAY });
    const negative = { ...store, utilization5h: () => -0.5, utilization7d: () => -2 };
    expect(maximus.explain?.({ name: 'odd' }, { ...ctx(store), store: negative })).toEqual({ score: 1, health5h: 1, health7d: 1 });
  });

  it('should cap the time fraction at 1 for a reset further away than the window', () => {
    const { store } = setup();
    windows(store, 'far', { u5: 0.5, r5: 10 * HOUR });
    expect(maximus.explain?.({ name: 'far' }, ctx(store))?.['health5h']).toBe(0.5);
  });
});

describe('ties', () => {
  // The seed's Maximus returned the LAST of equal scores, so its failover integration test routed
  // to account 2 first; every strategy now keeps config order.
  it.each(ALL.map((s) => [s.name, s] as const))('should give a tie between fresh accounts to the first (%s)', (_, strategy) => {
    const { store, accounts } = setup('first', 'second', 'third');
    expect(pick(accounts, store, strategy)).toBe('first');
  });

  it.each(ALL.map((s) => [s.name, s] as const))('should give a tie between identical accounts to the first (%s)', (_, strategy) => {
    const { store, accounts } = setup('first', 'second', 'third');
    for (const name of ['first', 'second', 'third']) windows(store, name, { u5: 0.4, r5: 2 * HOUR, u7: 0.2, r7: 3 * DAY });
    expect(pick(accounts, store, strategy)).toBe('first');
  });

  it.each(ALL.filter((s) => s !== carousel).map((s) => [s.name, s] as const))(
    'should give a tie among later accounts to the earliest of them (%s)',
    (_, strategy) => {
      const { store, accounts } = setup('worst', 'tied-1', 'tied-2');
      windows(store, 'worst', { u5: 0.95, r5: 4 * HOUR, u7: 0.9, r7: 6 * DAY });
      windows(store, 'tied-1', { u5: 0.1, r5: 2 * HOUR });
      windows(store, 'tied-2', { u5: 0.1, r5: 2 * HOUR });
      expect(pick(accounts, store, strategy)).toBe('tied-1');
    },
  );
});

describe('NaN from a custom store', () => {
  it.each(ALL.filter((s) => s !== carousel).map((s) => [s.name, s] as const))(
    'should never prefer a NaN input over a real one, and never throw (%s)',
    (_, strategy) => {
      const { store } = setup();
      windows(store, 'real', { u5: 0.99, r5: 4 * HOUR, u7: 0.99, r7: 6 * DAY });
      const nanStore = {
        ...store,
        utilization5h: (name: string) => (name === 'broken' ? Number.NaN : store.utilization5h(name)),
      };
      const accounts: Pool = [{ name: 'broken' }, { name: 'real' }];
      expect(strategy.pick(accounts, { ...ctx(store), store: nanStore })).toBe(accounts[1]);
      const allBroken: Pool = [{ name: 'broken' }, { name: 'broken' }];
      expect(strategy.pick(allBroken, { ...ctx(store), store: nanStore })).toBe(allBroken[0]);
    },
  );

  it.each(ALL.filter((s) => s !== carousel).map((s) => [s.name, s] as const))(
    'should never prefer a NaN reset over a real one (%s)',
    (_, strategy) => {
      const { store } = setup();
      windows(store, 'real', { u5: 0.99, r5: 4 * HOUR });
      windows(store, 'broken', { u5: 0.5, r5: 4 * HOUR });
      const nanStore = { ...store, reset5hSecs: (name: string) => (name === 'broken' ? Number.NaN : store.reset5hSecs(name)) };
      const accounts: Pool = [{ name: 'broken' }, { name: 'real' }];
      // Cushion ignores resets, so for it the broken account is simply the better one.
      const expected = strategy === cushion ? accounts[0] : accounts[1];
      expect(strategy.pick(accounts, { ...ctx(store), store: nanStore })).toBe(expected);
    },
  );
});

describe('resolveStrategy', () => {
  it('should resolve every built-in name to its strategy', () => {
    for (const [name, strategy] of Object.entries(strategies)) {
      expect(resolveStrategy(name)).toBe(strategy);
      expect(strategy.name).toBe(name);
    }
  });

  it.each([
    ['round-robin', carousel],
    ['round_robin', carousel],
    ['most-available', cushion],
    ['most_available', cushion],
    ['earliest-expiry', reaper],
    ['earliest_expiry', reaper],
    ['Maximus', maximus],
    ['ROUND-ROBIN', carousel],
  ] as const)('should resolve %s', (name, strategy) => {
    expect(resolveStrategy(name)).toBe(strategy);
  });

  it('should return a strategy object unchanged', () => {
    const custom: Strategy = { name: 'first', pick: (candidates) => candidates[0] };
    expect(resolveStrategy(custom)).toBe(custom);
  });

  it('should throw for an unknown name, listing the valid names', () => {
    expect(() => resolveStrategy('least-utilized')).toThrow(RangeError);
    expect(() => resolveStrategy('least-utilized')).toThrow(
      /Unknown routing strategy "least-utilized": expected one of maximus, cushion, reaper, carousel \(or an alias: round-robin,/,
    );
    expect(() => resolveStrategy('constructor')).toThrow(RangeError);
    expect(() => resolveStrategy('__proto__')).toThrow(RangeError);
  });

  it('should throw a TypeError for something that is neither a name nor a strategy', () => {
    const expected = /^resolveStrategy: expected a strategy name or an object with a pick\(\) method, got /;
    expect(() => resolveStrategy(null as unknown as string)).toThrow(TypeError);
    expect(() => resolveStrategy(null as unknown as string)).toThrow(expected);
    expect(() => resolveStrategy(undefined as unknown as string)).toThrow(expected);
    expect(() => resolveStrategy({ name: 'no-pick' } as unknown as Strategy)).toThrow(TypeError);
    expect(() => resolveStrategy({ name: 'no-pick' } as unknown as Strategy)).toThrow(expected);
  });
});

function setup(...names: string[]): { clock: { t: number }; store: MemoryStore; accounts: Account[] } {
  const clock = { t: T0 };
  return { clock, store: memoryStore({ now: () => clock.t }), accounts: names.map((name) => ({ name })) };
}

/** Store one response's windows, resets given as offsets from now in seconds. */
function windows(store: MemoryStore, name: string, w: { u5?: number; r5?: number; u7?: number; r7?: number }): void {
  const nowSecs = Math.floor(store.now() / 1000);
  store.updateRateLimits(name, {
    updatedMs: store.now(),
    ...(w.u5 === undefined ? {} : { utilization5h: w.u5, status5h: 'allowed' }),
    ...(w.r5 === undefined ? {} : { reset5hSecs: nowSecs + w.r5 }),
    ...(w.u7 === undefined ? {} : { utilization7d: w.u7, status7d: 'allowed' }),
    ...(w.r7 === undefined ? {} : { reset7dSecs: nowSecs + w.r7 }),
  });
}

function ctx(store: MemoryStore): StrategyContext {
  return { store, nowMs: store.now(), expirySoonSecs: 1800 };
}

function pick(accounts: Account[], store: MemoryStore, strategy: Strategy | StrategyName, options: PickOptions = {}): string | undefined {
  return pickAccount(accounts, store, { ...options, strategy })?.name;
}
