// One test per row of "Deliberate changes from the Rust shunt" in docs/strategies.md (rows 9 on;
// rows 1–8 are pinned next to the code they describe). Each pins what shunt does, and says what
// the Rust shunt did instead.
import { describe, expect, it } from 'vitest';
import { pickAccount } from '../src/pick.js';
import { parseRateLimitHeaders } from '../src/rate-limits.js';
import { memoryStore } from '../src/store/memory.js';
import { maximus } from '../src/strategies/index.js';

const T0 = Date.UTC(2026, 0, 1);
const T0_SECS = T0 / 1000;
const U = 'anthropic-ratelimit-unified-';

describe('deliberate changes from the Rust shunt (docs/strategies.md)', () => {
  it('should evict the least recently routed conversation at the sticky cap (row 9; the seed cleared the whole map)', () => {
    const store = memoryStore({ now: () => T0, maxStickyEntries: 2 });
    store.setSticky('old', 'work', 600_000);
    store.setSticky('recent', 'work', 600_000);
    store.setSticky('new', 'team', 600_000);
    expect([store.getSticky('old'), store.getSticky('recent'), store.getSticky('new')]).toEqual([null, 'work', 'team']);
  });

  it('should keep the round-robin counter in a snapshot (row 10; the seed restarted it at 0)', () => {
    const store = memoryStore({ now: () => T0 });
    store.nextRoundRobin();
    store.nextRoundRobin();
    const restarted = memoryStore({ now: () => T0 });
    restarted.restore(JSON.parse(JSON.stringify(store.snapshot())));
    expect(restarted.nextRoundRobin()).toBe(2);
  });

  it('should refuse two accounts with the same name (row 11; the seed let them share state silently)', () => {
    expect(() => pickAccount([{ name: 'work' }, { name: 'work' }], memoryStore({ now: () => T0 }))).toThrow(TypeError);
  });

  it('should clamp utilization to 1 in Maximus (row 12; two windows over 1 gave the seed a positive score)', () => {
    const store = memoryStore({ now: () => T0 });
    store.updateRateLimits('over', { utilization5h: 1.5, reset5hSecs: T0_SECS + 18_000, utilization7d: 1.5, reset7dSecs: T0_SECS + 604_800, updatedMs: T0 });
    // Unclamped, (1 − 1.5) · (1 − 1.5) = 0.25.
    expect(maximus.explain?.({ name: 'over' }, { store, nowMs: T0, expirySoonSecs: 1800 })).toMatchObject({ score: 0 });
  });

  it('should keep a record without any utilization header (row 13; the seed ignored the whole response)', () => {
    const info = parseRateLimitHeaders({ [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(T0_SECS + 3600) }, T0);
    expect(info).toStrictEqual({ status5h: 'rejected', reset5hSecs: T0_SECS + 3600, updatedMs: T0 });
    const store = memoryStore({ now: () => T0 });
    store.updateRateLimits('work', info ?? { updatedMs: T0 });
    expect(store.isExhausted('work')).toBe(true);
  });

  it('should read a reset written with an exponent or a plus sign (row 14; the seed parsed only digits)', () => {
    const info = parseRateLimitHeaders({ [`${U}5h-reset`]: '1.8e9', [`${U}7d-reset`]: '+1800000000' }, T0);
    expect(info).toMatchObject({ reset5hSecs: 1_800_000_000, reset7dSecs: 1_800_000_000 });
  });
});
