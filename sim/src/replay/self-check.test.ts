import { describe, expect, it } from 'vitest';
import type { RequestCost } from '../model/cost-model.js';
import type { ReadRow } from '../trace/reader.js';
import { createSelfCheck } from './self-check.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const MIN = 60_000;
const cost = (credits: number): RequestCost => ({ credits5h: credits, credits7d: credits, cacheMissCredits: 0, cacheTtlMs: 300_000 });
const attempt = (tsMs: number, status: number, account = 'a'): ReadRow => ({ recordIndex: 0, tsMs, account, status });
const context = { estimatedShare: 0, uncalibrated: [], r2: 1 };

describe('createSelfCheck', () => {
  it('should count recorded 429s the model reproduces, misses and invents', () => {
    const pool = [{ name: 'a', capacity: { window5hCredits: 10, window7dCredits: 1_000 }, start: { weeklyAnchorMs: null } }];
    const check = createSelfCheck(pool, T0);
    check.push(T0, null, [attempt(T0, 200)], cost(4));
    check.push(T0 + MIN, null, [attempt(T0 + MIN, 200)], cost(4));
    // 80 %: the model admits this one, as the recording did; it ends at 120 %.
    check.push(T0 + 2 * MIN, null, [attempt(T0 + 2 * MIN, 200)], cost(4));
    // Full: the recording's 429 is reproduced…
    check.push(T0 + 3 * MIN, null, [attempt(T0 + 3 * MIN, 429), attempt(T0 + 3 * MIN, 200, 'elsewhere')], cost(1));
    // …and a success the recording shows on the full account is one the model would have refused.
    check.push(T0 + 4 * MIN, null, [attempt(T0 + 4 * MIN, 200)], cost(1));
    const fidelity = check.finish(context);
    expect(fidelity).toMatchObject({ recorded429s: 1, reproduced429s: 1, missed429s: 0, spurious429s: 1, firstRateLimitErrorMinutes: { a: 0 } });
    // One spurious against one recorded 429 is far beyond 5 %.
    expect(fidelity.good).toBe(false);
    expect(fidelity.reasons[0]).toMatch(/refuses 1 attempts/);
  });

  it('should judge attempts at their own time, and order ties by the recorded utilization', () => {
    const pool = [{ name: 'a', capacity: { window5hCredits: 10, window7dCredits: 1_000 }, start: { weeklyAnchorMs: null } }];
    const check = createSelfCheck(pool, T0);
    // A request held for 9 minutes: its attempt comes after a request that arrived later.
    check.push(T0, null, [{ ...attempt(T0 + 9 * MIN, 200), utilization5h: 0.95 }], cost(5));
    check.push(T0 + MIN, null, [{ ...attempt(T0 + MIN, 200), utilization5h: 0.5 }], cost(5));
    // Released together with the held one, charged first (its reading is lower).
    check.push(T0 + 2 * MIN, null, [{ ...attempt(T0 + 9 * MIN, 200), utilization5h: 0.9 }], cost(4));
    check.push(T0 + 10 * MIN, null, [attempt(T0 + 10 * MIN, 429)], cost(1));
    const fidelity = check.finish(context);
    expect(fidelity).toMatchObject({ recorded429s: 1, reproduced429s: 1, spurious429s: 0, good: true });
  });

  it('should count a recorded 429 as reproduced when the model is within the headers\' rounding of full', () => {
    const pool = [{ name: 'a', capacity: { window5hCredits: 10, window7dCredits: 1_000 }, start: { weeklyAnchorMs: null } }];
    const check = createSelfCheck(pool, T0);
    // 99.999 %: below 100 % in the model, but the reading that refused said "1.0000".
    check.push(T0, null, [attempt(T0, 200)], cost(9.9999));
    check.push(T0 + MIN, null, [attempt(T0 + MIN, 429)], cost(1));
    expect(check.finish(context)).toMatchObject({ recorded429s: 1, reproduced429s: 1, good: true });
  });

  it('should follow the recording into the next window when jitter in the resets leaves the model\'s window open a second longer', () => {
    const pool = [{ name: 'a', capacity: { window5hCredits: 10, window7dCredits: 1_000 }, start: { weeklyAnchorMs: null } }];
    const check = createSelfCheck(pool, T0);
    const HOUR = 60 * MIN;
    // Held since 10 minutes before the window opened at T0; its reset reads 2 s late (jitter), so
    // the model's window, opened at the inferred T0 + 2 s, resets at T0 + 5 h + 2 s. It fills it.
    check.push(T0 - 10 * MIN, null, [{ ...attempt(T0 - 10 * MIN, 200), utilization5h: 1, reset5hSecs: (T0 + 5 * HOUR) / 1000 + 2 }], cost(10));
    // Held until the true reset at T0 + 5 h and served in the next window, whose reset reads on time.
    const next = { utilization5h: 0.1, reset5hSecs: (T0 + 10 * HOUR) / 1000 };
    check.push(T0 + 5 * HOUR - 5 * MIN, null, [{ ...attempt(T0 + 5 * HOUR - 5 * MIN, 200), ...next }], cost(1));
    check.push(T0 + 5 * HOUR - 4 * MIN, null, [{ ...attempt(T0 + 5 * HOUR - 4 * MIN, 200), ...next, utilization5h: 0.2 }], cost(1));
    expect(check.finish(context)).toMatchObject({ recorded429s: 0, spurious429s: 0, good: true });
  });
});
