/**
 * Domain arbitraries for the simulator's property tests.
 */
import { fc } from '@fast-check/vitest';
import type { PoolAccount, ReplayRequest } from '../src/replay/replayer.js';

/** Monday 5 January 2026, 09:00 UTC. */
export const T0: number = Date.UTC(2026, 0, 5, 9);

/** A pool of 1..max accounts with small capacities, so that windows run out. */
export function poolArb(options: { min?: number; max?: number; unlimited?: boolean } = {}): fc.Arbitrary<PoolAccount[]> {
  const capacity = options.unlimited
    ? fc.constant({ window5hCredits: Number.POSITIVE_INFINITY, window7dCredits: Number.POSITIVE_INFINITY })
    : fc.record({ window5hCredits: fc.double({ min: 0.5, max: 20, noNaN: true }), window7dCredits: fc.double({ min: 2, max: 120, noNaN: true }) });
  const anchor = fc.option(fc.integer({ min: 0, max: 7 * 86_400_000 - 1 }), { nil: null });
  return fc
    .array(fc.record({ capacity, anchor, used7d: options.unlimited ? fc.constant(0) : fc.double({ min: 0, max: 1.2, noNaN: true }) }), {
      minLength: options.min ?? 1,
      maxLength: options.max ?? 4,
    })
    .map((accounts) =>
      accounts.map((a, i) => ({
        name: `acct-${i + 1}`,
        capacity: a.capacity,
        start: a.anchor === null ? { weeklyAnchorMs: null } : { weeklyAnchorMs: T0 + a.anchor, utilization7d: a.used7d },
      })),
    );
}

/** Requests in arrival order: bursts and gaps, a few conversations, costs up to a third of a small window. */
export function requestsArb(maxLength = 120): fc.Arbitrary<ReplayRequest[]> {
  return fc
    .array(
      fc.record({
        gapMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 4 * 3_600_000 })),
        session: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
        credits: fc.double({ min: 0, max: 3, noNaN: true }),
      }),
      { maxLength },
    )
    .map((items) => {
      let at = T0;
      return items.map((item, seq) => {
        at += item.gapMs;
        return { seq, arrivalMs: at, session: item.session === null ? null : `s${item.session}`, credits5h: item.credits, credits7d: item.credits };
      });
    });
}

/** Routing settings, including a zero max wait and a long one. */
export const routingArb: fc.Arbitrary<{ stickyTtlMs: number; expirySoonSecs: number; maxWaitMs: number }> = fc.record({
  stickyTtlMs: fc.constantFrom(0, 600_000, 3_600_000),
  expirySoonSecs: fc.constantFrom(0, 1_800),
  maxWaitMs: fc.constantFrom(0, 600_000, 3 * 3_600_000),
});
