import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { arbRateLimitInfo, T0_MS } from '../../test/arbitraries.js';
import { mergeRateLimitInfo, type RateLimitInfo } from '../rate-limits.js';
import { memoryStore, type MemoryStore, type MemoryStoreOptions } from './memory.js';

const T0_SECS = T0_MS / 1000;

function setup(options: Omit<MemoryStoreOptions, 'now'> = {}): { store: MemoryStore; advance: (ms: number) => void } {
  let t = T0_MS;
  return {
    store: memoryStore({ ...options, now: () => t }),
    advance: (ms) => {
      t += ms;
    },
  };
}

function info(fields: Omit<RateLimitInfo, 'updatedMs'>, updatedMs = T0_MS): RateLimitInfo {
  return { ...fields, updatedMs };
}

describe('memoryStore', () => {
  describe('ported from the seed (state.rs)', () => {
    it('should expire a sticky entry after its TTL (test_sticky_ttl_expiry)', () => {
      const { store, advance } = setup();
      store.setSticky('fp', 'work', 500);
      expect(store.getSticky('fp')).toBe('work');
      advance(600);
      expect(store.getSticky('fp')).toBeNull();
    });

    it('should block availability during a cooldown (test_cooldown_blocks_availability)', () => {
      const { store } = setup();
      expect(store.isAvailable('work')).toBe(true);
      store.setCooldown('work', 60_000);
      expect(store.isAvailable('work')).toBe(false);
    });

    it('should block availability when disabled (test_disable_blocks_availability)', () => {
      const { store } = setup();
      store.disable('work');
      expect(store.isAvailable('work')).toBe(false);
    });

    it('should round-trip the pinned account (test_pinned_account_round_trip)', () => {
      const { store } = setup();
      store.setPinned('work');
      expect(store.getPinned()).toBe('work');
      store.setPinned(null);
      expect(store.getPinned()).toBeNull();
    });

    it('should round-trip the last-used account (test_last_used_round_trip)', () => {
      const { store } = setup();
      store.setLastUsed('work');
      expect(store.getLastUsed()).toBe('work');
    });

    it('should survive a save and reload (test_state_persistence_roundtrip)', () => {
      const { store, advance } = setup();
      store.setCooldown('work', 60_000);
      store.setLastUsed('work');
      advance(300);
      const reloaded = setup().store;
      reloaded.restore(JSON.parse(JSON.stringify(store.snapshot())));
      expect(reloaded.cooldownUntilMs('work')).toBe(T0_MS + 60_000);
      expect(reloaded.getLastUsed()).toBe('work');
    });
  });

  describe('options', () => {
    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('should reject maxStickyEntries %d with a RangeError', (max) => {
      expect(() => memoryStore({ maxStickyEntries: max })).toThrow(RangeError);
      expect(() => memoryStore({ maxStickyEntries: max })).toThrow(/maxStickyEntries/);
    });

    it('should accept undefined options as the defaults', () => {
      const store = memoryStore({ now: undefined, maxStickyEntries: undefined });
      expect(typeof store.now()).toBe('number');
    });
  });

  describe('cooldown', () => {
    it('should let the later deadline win whatever the order', () => {
      const { store, advance } = setup();
      store.setCooldown('work', 10_000);
      store.setCooldown('work', 60_000);
      expect(store.cooldownUntilMs('work')).toBe(T0_MS + 60_000);
      advance(5000);
      store.setCooldown('work', 1000);
      expect(store.cooldownUntilMs('work')).toBe(T0_MS + 60_000);
    });

    it('should never hold a cooldown longer than the weekly window plus 10 minutes', () => {
      const { store } = setup();
      store.setCooldown('work', 10 * 365 * 86_400_000);
      expect(store.cooldownUntilMs('work')).toBe(T0_MS + 604_800_000 + 600_000);
    });

    it('should drop, on restore, a saved cooldown no response could justify, and keep a plausible one', () => {
      const { store } = setup();
      const TEN_YEARS_MS = 10 * 365 * 86_400_000;
      // What an older version saved after a 5h window was rejected with a reset 10 years ahead.
      store.restore({
        version: 1,
        accounts: {
          bogus: {
            cooldownUntilMs: T0_MS + TEN_YEARS_MS,
            rateLimits: { status5h: 'rejected', reset5hSecs: T0_SECS + TEN_YEARS_MS / 1000, updatedMs: T0_MS - 3_600_000 },
          },
          weekly: { cooldownUntilMs: T0_MS + 6 * 86_400_000 },
        },
      });
      expect(store.cooldownUntilMs('bogus')).toBeNull();
      // The rejected window still counts, until its capped reset: 5 h + 10 min after its response.
      expect(store.isExhausted('bogus')).toBe(true);
      expect(store.reset5hSecs('bogus')).toBe(T0_SECS - 3600 + 18_000 + 600);
      expect(store.cooldownUntilMs('weekly')).toBe(T0_MS + 6 * 86_400_000);
    });

    it('should restore a snapshot written before 1.0, whose resets were named reset5h and reset7d', () => {
      const { store } = setup();
      store.restore({
        version: 1,
        accounts: { work: { rateLimits: { utilization5h: 0.5, reset5h: T0_SECS + 3_600, reset7d: T0_SECS + 86_400, updatedMs: T0_MS } } },
      });
      expect(store.reset5hSecs('work')).toBe(T0_SECS + 3_600);
      expect(store.reset7dSecs('work')).toBe(T0_SECS + 86_400);
      expect(store.rateLimits('work')).toEqual({ utilization5h: 0.5, reset5hSecs: T0_SECS + 3_600, reset7dSecs: T0_SECS + 86_400, updatedMs: T0_MS });
    });

    it('should clear a running cooldown', () => {
      const { store } = setup();
      store.setCooldown('work', 60_000);
      store.clearCooldown('work');
      expect(store.isAvailable('work')).toBe(true);
      expect(store.cooldownUntilMs('work')).toBeNull();
    });

    it('should treat a negative cooldown as none', () => {
      const { store } = setup();
      store.setCooldown('work', -5000);
      expect(store.isAvailable('work')).toBe(true);
      expect(store.cooldownUntilMs('work')).toBeNull();
    });

    it.each([Number.NaN, Number.POSITIVE_INFINITY])('should reject a cooldown of %d with a RangeError', (ms) => {
      const { store } = setup();
      expect(() => store.setCooldown('work', ms)).toThrow(RangeError);
      expect(store.isAvailable('work')).toBe(true);
    });
  });

  describe('recordFault', () => {
    it('should remember at most the 64 most recent requests per account, however many fail', () => {
      const { store, advance } = setup();
      let count = 0;
      for (let i = 0; i < 1000; i++) {
        count = store.recordFault('work', `r${String(i)}`, 3_600_000);
        advance(1);
      }
      expect(count).toBe(64);
      // The ones kept are the most recent: r999 again is not new, r0 is.
      expect(store.recordFault('work', 'r999', 3_600_000)).toBe(64);
      expect(store.recordFault('personal', 'r0', 3_600_000)).toBe(1);
    });

    it('should forget what fell out of the window, so an idle account keeps one entry', () => {
      const { store, advance } = setup();
      for (let i = 0; i < 10; i++) store.recordFault('work', `r${String(i)}`, 1000);
      advance(1001);
      expect(store.recordFault('work', 'late', 1000)).toBe(1);
    });

    it('should forget fault counts on restore (they are not part of a snapshot)', () => {
      const { store } = setup();
      store.recordFault('work', 'r1', 60_000);
      expect(store.snapshot().accounts).toStrictEqual({});
      store.restore(store.snapshot());
      expect(store.recordFault('work', 'r2', 60_000)).toBe(1);
    });

    it.each([Number.NaN, -1])('should reject a window of %d with a RangeError', (windowMs) => {
      const { store } = setup();
      expect(() => store.recordFault('work', 'r1', windowMs)).toThrow(RangeError);
    });
  });

  describe('rate limits', () => {
    it('should read utilization 0 and reset null once the reset passes', () => {
      const { store, advance } = setup();
      store.updateRateLimits('work', info({ utilization5h: 0.8, reset5hSecs: T0_SECS + 10, utilization7d: 0.6, reset7dSecs: T0_SECS + 20 }));
      advance(10_000);
      expect(store.utilization5h('work')).toBe(0);
      expect(store.reset5hSecs('work')).toBeNull();
      expect(store.utilization7d('work')).toBe(0.6);
      expect(store.reset7dSecs('work')).toBe(T0_SECS + 20);
      advance(10_000);
      expect(store.utilization7d('work')).toBe(0);
      expect(store.reset7dSecs('work')).toBeNull();
    });

    it('should need rejected or exhausted and a future reset to be exhausted', () => {
      const { store, advance } = setup();
      store.updateRateLimits('allowed', info({ status5h: 'allowed_warning', utilization5h: 1.01, reset5hSecs: T0_SECS + 60 }));
      store.updateRateLimits('noreset', info({ status5h: 'rejected' }));
      store.updateRateLimits('past', info({ status7d: 'rejected', reset7dSecs: T0_SECS }));
      store.updateRateLimits('rejected', info({ status7d: 'rejected', reset7dSecs: T0_SECS + 60 }));
      store.updateRateLimits('exhausted', info({ status5h: 'exhausted', reset5hSecs: T0_SECS + 60 }));
      expect(['allowed', 'noreset', 'past', 'rejected', 'exhausted'].map((n) => store.isExhausted(n))).toEqual([
        false,
        false,
        false,
        true,
        true,
      ]);
      advance(60_000);
      expect(store.isExhausted('rejected')).toBe(false);
      expect(store.isExhausted('exhausted')).toBe(false);
    });

    it('should count a reset at most one window (plus 10 minutes) after the response that reported it', () => {
      const { store, advance } = setup();
      const TEN_YEARS_SECS = 10 * 365 * 86_400;
      store.updateRateLimits('work', info({ status5h: 'rejected', reset5hSecs: T0_SECS + TEN_YEARS_SECS, utilization5h: 1 }));
      store.updateRateLimits('team', info({ status7d: 'rejected', reset7dSecs: T0_SECS + TEN_YEARS_SECS, utilization7d: 1 }));
      expect(store.reset5hSecs('work')).toBe(T0_SECS + 18_000 + 600);
      expect(store.reset7dSecs('team')).toBe(T0_SECS + 604_800 + 600);
      expect(store.rateLimits('work')?.reset5hSecs).toBe(T0_SECS + TEN_YEARS_SECS); // the record keeps what was said
      advance((18_000 + 600) * 1000);
      expect(store.isExhausted('work')).toBe(false);
      expect(store.utilization5h('work')).toBe(0);
      expect(store.isExhausted('team')).toBe(true);
      advance((604_800 - 18_000) * 1000);
      expect(store.isExhausted('team')).toBe(false);
    });

    it('should not revive a rolled-over rejected window from a later partial record', () => {
      const { store, advance } = setup();
      store.updateRateLimits('work', info({ status5h: 'rejected', reset5hSecs: T0_SECS + 60, utilization5h: 1 }));
      advance(120_000);
      store.updateRateLimits('work', info({ reset5hSecs: T0_SECS + 18_000 }, T0_MS + 120_000));
      expect(store.isExhausted('work')).toBe(false);
      expect(store.utilization5h('work')).toBe(0);
    });

    it('should not be changed by mutating the record passed in', () => {
      const { store } = setup();
      const record = info({ utilization5h: 0.1 });
      store.updateRateLimits('work', record);
      record.utilization5h = 0.9;
      expect(store.utilization5h('work')).toBe(0.1);
    });

    it('should ignore inherited fields and keep keys RateLimitInfo does not declare, as mergeRateLimitInfo does', () => {
      const { store } = setup();
      store.updateRateLimits('work', info({ utilization5h: 0.1, reset5hSecs: T0_SECS + 60 }));
      const inheriting = Object.assign(Object.create({ utilization5h: 0.9 }) as RateLimitInfo, { reset5hSecs: T0_SECS + 60, updatedMs: T0_MS + 1 });
      store.updateRateLimits('work', inheriting);
      expect(store.utilization5h('work')).toBe(0.1);
      const wider = { ...info({ utilization5h: 0.2 }, T0_MS + 2), requestId: 'req_1' };
      store.updateRateLimits('work', wider);
      expect(store.rateLimits('work')).toStrictEqual({ utilization5h: 0.2, reset5hSecs: T0_SECS + 60, updatedMs: T0_MS + 2, requestId: 'req_1' });
    });

    /** A record as a caller may pass one: fields in any order, some set to undefined, extra keys, any prototype. */
    const arbCallerUpdate = fc.record({
      advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 6 * 3_600_000 })),
      relative: arbRateLimitInfo(0),
      extras: fc.subarray<readonly [string, unknown]>([
        ['requestId', 'req_1'],
        ['utilization7d', undefined],
        ['status5h', undefined],
      ]),
      order: fc.array(fc.integer(), { minLength: 13, maxLength: 13 }),
      nullPrototype: fc.boolean(),
    });

    test.prop([fc.array(arbCallerUpdate, { maxLength: 30 })])(
      'should hold exactly what mergeRateLimitInfo makes of the same records, keys in the same order',
      (updates) => {
        const { store, advance } = setup();
        let expected: RateLimitInfo | undefined;
        for (const update of updates) {
          advance(update.advanceMs);
          const nowMs = store.now();
          const nowSecs = Math.floor(nowMs / 1000);
          const shifted: Record<string, unknown> = { ...update.relative, updatedMs: nowMs };
          if (update.relative.reset5hSecs !== undefined) shifted['reset5hSecs'] = update.relative.reset5hSecs + nowSecs;
          if (update.relative.reset7dSecs !== undefined) shifted['reset7dSecs'] = update.relative.reset7dSecs + nowSecs;
          const entries = [...Object.entries(shifted), ...update.extras]
            .map((entry, i) => ({ entry, rank: update.order[i] ?? 0 }))
            .sort((x, y) => x.rank - y.rank)
            .map(({ entry }) => entry);
          const record = (): RateLimitInfo =>
            Object.assign(update.nullPrototype ? Object.create(null) : {}, Object.fromEntries(entries)) as RateLimitInfo;
          expected = mergeRateLimitInfo(expected, record());
          store.updateRateLimits('work', record());
          expect(Object.entries(store.rateLimits('work') ?? {})).toStrictEqual(Object.entries(expected));
        }
      },
    );
  });

  describe('disable', () => {
    it('should keep the reason given, and default it to "disabled"', () => {
      const { store } = setup();
      store.disable('work', 'refresh token revoked');
      store.disable('team');
      expect(store.disabledReason('work')).toBe('refresh token revoked');
      expect(store.disabledReason('team')).toBe('disabled');
      store.enable('work');
      expect(store.disabledReason('work')).toBeNull();
    });
  });

  describe('sticky', () => {
    it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('should reject a TTL of %d with a RangeError', (ttl) => {
      const { store } = setup();
      expect(() => store.setSticky('fp', 'work', ttl)).toThrow(RangeError);
      expect(store.getSticky('fp')).toBeNull();
    });

    it('should never hold more than maxStickyEntries', () => {
      const { store } = setup({ maxStickyEntries: 3 });
      for (let i = 0; i < 10; i++) store.setSticky(`fp${i}`, 'work', 60_000);
      const live = Array.from({ length: 10 }, (_, i) => store.getSticky(`fp${i}`)).filter((a) => a !== null);
      expect(live).toHaveLength(3);
      expect(Object.keys(store.snapshot().sticky)).toEqual(['fp7', 'fp8', 'fp9']);
    });

    it('should evict the least recently routed entry when all are live', () => {
      const { store, advance } = setup({ maxStickyEntries: 2 });
      store.setSticky('a', 'work', 60_000);
      advance(1);
      store.setSticky('b', 'work', 60_000);
      advance(1);
      store.setSticky('a', 'team', 60_000); // routed again: now the most recent
      store.setSticky('c', 'work', 60_000);
      expect(store.getSticky('a')).toBe('team');
      expect(store.getSticky('b')).toBeNull();
      expect(store.getSticky('c')).toBe('work');
    });

    it('should evict expired entries before live ones, wherever they sit', () => {
      const { store, advance } = setup({ maxStickyEntries: 3 });
      store.setSticky('old-live', 'work', 600_000);
      store.setSticky('short', 'work', 1000);
      store.setSticky('new-live', 'work', 600_000);
      advance(1000); // `short` has expired but is not the oldest entry
      store.setSticky('next', 'work', 600_000);
      expect(store.getSticky('old-live')).toBe('work');
      expect(store.getSticky('new-live')).toBe('work');
      expect(store.getSticky('next')).toBe('work');
    });

    it('should sweep every expired entry, then still evict by age when they were all live', () => {
      const { store, advance } = setup({ maxStickyEntries: 3 });
      store.setSticky('a', 'work', 1000);
      store.setSticky('b', 'work', 600_000);
      store.setSticky('c', 'work', 1000);
      advance(1000);
      store.setSticky('d', 'work', 600_000); // sweeps a and c
      store.setSticky('e', 'work', 600_000); // room left: nothing evicted
      expect(['a', 'b', 'c', 'd', 'e'].map((fp) => store.getSticky(fp))).toEqual([null, 'work', null, 'work', 'work']);
      store.setSticky('f', 'work', 600_000); // all live: the oldest (b) goes
      expect(['b', 'd', 'e', 'f'].map((fp) => store.getSticky(fp))).toEqual([null, 'work', 'work', 'work']);
    });

    it('should not evict anything when an existing entry is set again at the cap', () => {
      const { store } = setup({ maxStickyEntries: 2 });
      store.setSticky('a', 'work', 60_000);
      store.setSticky('b', 'work', 60_000);
      store.setSticky('a', 'team', 60_000);
      expect(store.getSticky('a')).toBe('team');
      expect(store.getSticky('b')).toBe('work');
    });

    it('should list entries least recently routed first: routing again moves one to the end, reading does not', () => {
      const { store } = setup();
      for (const fp of ['a', 'b', 'c', 'd']) store.setSticky(fp, 'work', 60_000);
      store.setSticky('b', 'team', 60_000);
      store.setSticky('b', 'team', 60_000); // already the most recent
      store.setSticky('a', 'work', 60_000);
      expect(store.getSticky('c')).toBe('work');
      expect(Object.keys(store.snapshot().sticky)).toEqual(['c', 'd', 'b', 'a']);
    });

    it('should restore that order and evict from its least recently routed end', () => {
      const { store } = setup({ maxStickyEntries: 3 });
      for (const fp of ['a', 'b', 'c']) store.setSticky(fp, 'work', 60_000);
      store.setSticky('a', 'work', 60_000);
      const restored = setup({ maxStickyEntries: 3 }).store;
      restored.restore(JSON.parse(JSON.stringify(store.snapshot())));
      expect(Object.keys(restored.snapshot().sticky)).toEqual(['b', 'c', 'a']);
      restored.setSticky('d', 'work', 60_000);
      expect(Object.keys(restored.snapshot().sticky)).toEqual(['c', 'a', 'd']);
    });

    it('should evict below the cap when an entry is routed again in a restored store larger than the cap', () => {
      const { store } = setup();
      for (const fp of ['a', 'b', 'c', 'd', 'e']) store.setSticky(fp, 'work', 60_000);
      const small = setup({ maxStickyEntries: 3 }).store;
      small.restore(store.snapshot());
      expect(Object.keys(small.snapshot().sticky)).toEqual(['a', 'b', 'c', 'd', 'e']);
      small.setSticky('b', 'team', 60_000);
      expect(Object.keys(small.snapshot().sticky)).toEqual(['d', 'e', 'b']);
    });

    it('should hand out copies of its entries in snapshots', () => {
      const { store } = setup();
      store.setSticky('fp', 'work', 60_000);
      const taken = store.snapshot() as unknown as { sticky: Record<string, { account: string; expiresAtMs: number }> };
      const entry = taken.sticky['fp'];
      if (entry === undefined) throw new Error('fp missing from the snapshot');
      entry.account = 'team';
      entry.expiresAtMs = 0;
      expect(store.getSticky('fp')).toBe('work');
      expect(store.snapshot().sticky).toStrictEqual({ fp: { account: 'work', expiresAtMs: T0_MS + 60_000 } });
    });

    it('should evict correctly after a restore', () => {
      const { store } = setup({ maxStickyEntries: 2 });
      store.setSticky('long', 'work', 600_000);
      store.setSticky('short', 'work', 1000);
      const restored = setup({ maxStickyEntries: 2 });
      restored.store.restore(store.snapshot());
      restored.advance(1000); // `short` expires; `long` is the oldest entry
      restored.store.setSticky('next', 'work', 600_000);
      expect(restored.store.getSticky('long')).toBe('work');
      expect(restored.store.getSticky('next')).toBe('work');
    });
  });

  describe('snapshot and restore', () => {
    function populated(): { store: MemoryStore; advance: (ms: number) => void } {
      const s = setup();
      s.store.updateRateLimits('work', info({ utilization5h: 0.5, reset5hSecs: T0_SECS + 3600, status5h: 'allowed', overageStatus: 'rejected' }));
      s.store.setCooldown('work', 60_000);
      s.store.disable('team', 'auth failed');
      s.store.setSticky('fp1', 'work', 600_000);
      s.store.setSticky('fp2', 'team', 600_000);
      s.store.setPinned('work');
      s.store.setLastUsed('team');
      s.store.nextRoundRobin();
      s.store.nextRoundRobin();
      return s;
    }

    it('should capture everything worth keeping', () => {
      const { store } = populated();
      expect(store.snapshot()).toStrictEqual({
        version: 1,
        accounts: {
          work: {
            cooldownUntilMs: T0_MS + 60_000,
            rateLimits: { utilization5h: 0.5, reset5hSecs: T0_SECS + 3600, status5h: 'allowed', overageStatus: 'rejected', updatedMs: T0_MS },
          },
          team: { disabledReason: 'auth failed' },
        },
        sticky: {
          fp1: { account: 'work', expiresAtMs: T0_MS + 600_000 },
          fp2: { account: 'team', expiresAtMs: T0_MS + 600_000 },
        },
        pinned: 'work',
        lastUsed: 'team',
        roundRobin: 2,
      });
    });

    it('should drop expired sticky entries and cooldowns, and accounts left with nothing', () => {
      const { store, advance } = setup();
      store.setCooldown('work', 1000);
      store.setSticky('gone', 'work', 1000);
      store.setSticky('kept', 'work', 5000);
      advance(1000);
      const snapshot = store.snapshot();
      expect(snapshot.accounts).toStrictEqual({});
      expect(snapshot.sticky).toStrictEqual({ kept: { account: 'work', expiresAtMs: T0_MS + 5000 } });
    });

    it('should restore identically through JSON', () => {
      const { store } = populated();
      const snapshot = store.snapshot();
      const copy = setup().store;
      copy.restore(JSON.parse(JSON.stringify(snapshot)));
      expect(copy.snapshot()).toStrictEqual(snapshot);
      expect(copy.isAvailable('work')).toBe(false);
      expect(copy.disabledReason('team')).toBe('auth failed');
      expect(copy.getSticky('fp2')).toBe('team');
      expect(copy.utilization5h('work')).toBe(0.5);
      expect(copy.nextRoundRobin()).toBe(2);
    });

    it('should not share state with the snapshot it was restored from, nor with its own snapshots', () => {
      const { store } = populated();
      const snapshot = JSON.parse(JSON.stringify(store.snapshot())) as { accounts: { work: { rateLimits: { utilization5h: number } } } };
      const copy = setup().store;
      copy.restore(snapshot);
      snapshot.accounts.work.rateLimits.utilization5h = 0.99;
      const taken = copy.snapshot() as unknown as typeof snapshot;
      taken.accounts.work.rateLimits.utilization5h = 0.98;
      expect(copy.utilization5h('work')).toBe(0.5);
    });

    it('should replace, not merge, what the store held', () => {
      const { store } = populated();
      store.setSticky('other', 'work', 600_000);
      store.restore({ version: 1, accounts: {}, sticky: {}, pinned: null, lastUsed: null, roundRobin: 0 });
      expect(store.snapshot()).toStrictEqual({ version: 1, accounts: {}, sticky: {}, pinned: null, lastUsed: null, roundRobin: 0 });
      expect(store.isAvailable('work')).toBe(true);
      expect(store.getSticky('other')).toBeNull();
    });

    it('should accept a snapshot that leaves out optional sections', () => {
      const { store } = setup();
      store.restore({ version: 1 });
      expect(store.snapshot()).toStrictEqual({ version: 1, accounts: {}, sticky: {}, pinned: null, lastUsed: null, roundRobin: 0 });
    });

    it('should keep accounts and fingerprints named like Object.prototype members', () => {
      const { store } = setup();
      store.disable('__proto__', 'x');
      store.setSticky('__proto__', 'constructor', 60_000);
      const copy = setup().store;
      copy.restore(JSON.parse(JSON.stringify(store.snapshot())));
      expect(copy.disabledReason('__proto__')).toBe('x');
      expect(copy.getSticky('__proto__')).toBe('constructor');
    });

    it.each<[string, unknown, RegExp]>([
      ['not an object', 'nope', /snapshot must be an object/],
      ['null', null, /snapshot must be an object/],
      ['an array', [], /snapshot must be an object/],
      ['a wrong version', { version: 2 }, /snapshot\.version/],
      ['accounts not an object', { version: 1, accounts: [] }, /snapshot\.accounts/],
      ['an account not an object', { version: 1, accounts: { work: 5 } }, /snapshot\.accounts\["work"\]/],
      ['a string cooldown', { version: 1, accounts: { work: { cooldownUntilMs: '5' } } }, /snapshot\.accounts\["work"\]\.cooldownUntilMs/],
      ['a null cooldown (NaN through JSON)', { version: 1, accounts: { work: { cooldownUntilMs: null } } }, /cooldownUntilMs/],
      ['a numeric disabled reason', { version: 1, accounts: { work: { disabledReason: 1 } } }, /\.disabledReason/],
      ['rate limits not an object', { version: 1, accounts: { work: { rateLimits: 'x' } } }, /\.rateLimits/],
      ['rate limits without updatedMs', { version: 1, accounts: { work: { rateLimits: {} } } }, /\.rateLimits\.updatedMs/],
      ['a string utilization', { version: 1, accounts: { work: { rateLimits: { updatedMs: 1, utilization5h: '0.5' } } } }, /\.rateLimits\.utilization5h/],
      ['a numeric status', { version: 1, accounts: { work: { rateLimits: { updatedMs: 1, status7d: 3 } } } }, /\.rateLimits\.status7d/],
      ['sticky not an object', { version: 1, sticky: 3 }, /snapshot\.sticky/],
      ['a sticky entry without account', { version: 1, sticky: { fp: { expiresAtMs: 1 } } }, /snapshot\.sticky\["fp"\]/],
      ['a sticky entry without expiry', { version: 1, sticky: { fp: { account: 'work' } } }, /snapshot\.sticky\["fp"\]\.expiresAtMs/],
      ['a numeric pin', { version: 1, pinned: 3 }, /snapshot\.pinned/],
      ['a numeric last used', { version: 1, lastUsed: false }, /snapshot\.lastUsed/],
      ['a negative counter', { version: 1, roundRobin: -1 }, /snapshot\.roundRobin/],
      ['a fractional counter', { version: 1, roundRobin: 1.5 }, /snapshot\.roundRobin/],
    ])('should reject %s with a TypeError naming the field and change nothing', (_, bad, field) => {
      const { store } = populated();
      const before = store.snapshot();
      expect(() => store.restore(bad)).toThrow(TypeError);
      expect(() => store.restore(bad)).toThrow(field);
      expect(store.snapshot()).toStrictEqual(before);
    });
  });
});
