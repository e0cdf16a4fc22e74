/**
 * @module
 * Reference models of the four built-in strategies, written from the formulas in
 * docs/strategies.md and the seed's comparators (seed-router.rs), not from `src/strategies/`.
 * Each states its preference order as a comparator and picks by a stable sort, a different shape
 * from the code's single-pass loops, so the laws compare the code with the documentation instead
 * of with itself (`explain()` shares its helpers with `pick()`).
 */
import type { CompleteStateStore } from '../store/types.js';
import type { Account } from '../strategies/types.js';

/** The four numbers every strategy reads for one account (docs/strategies.md's table). */
export interface Windows {
  readonly u5: number;
  readonly u7: number;
  /** Epoch seconds, or null when unknown. */
  readonly r5: number | null;
  readonly r7: number | null;
}

/** What a reference pick may look at: the windows, the instant, Reaper's horizon and Carousel's counter. */
export interface ReferenceInput {
  readonly windows: (name: string) => Windows;
  readonly nowSecs: number;
  readonly expirySoonSecs: number;
  /** The round-robin counter value the pick consumes. */
  readonly counter: number;
}

/** A reference strategy: the candidate it picks. */
export type ReferencePick = <A extends Account>(candidates: readonly [A, ...A[]], input: ReferenceInput) => A;

/** The windows of `name` as the store reports them. */
export function windowsIn(store: CompleteStateStore, name: string): Windows {
  return {
    u5: store.utilization5h(name),
    u7: store.utilization7d(name),
    r5: store.reset5hSecs(name),
    r7: store.reset7dSecs(name),
  };
}

const WINDOW_5H_SECS = 5 * 3600;
const WINDOW_7D_SECS = 7 * 24 * 3600;

/**
 * Maximus per docs/strategies.md: `tf = clamp((r − now) / window, 0, 1)` (0 when `r` is unknown),
 * `score = (1 − tf5 · u5) · (1 − tf7 · u7)` with each `u` clamped into [0, 1].
 */
export function referenceMaximusScore(w: Windows, nowSecs: number): number {
  const tf = (reset: number | null, windowSecs: number): number =>
    reset === null ? 0 : clamp((reset - nowSecs) / windowSecs, 0, 1);
  return (1 - tf(w.r5, WINDOW_5H_SECS) * clamp(w.u5, 0, 1)) * (1 - tf(w.r7, WINDOW_7D_SECS) * clamp(w.u7, 0, 1));
}

/**
 * Reaper's binding window per the seed's `most_urgent_window`: the fuller window (the 5-hour one
 * on a tie) and whether its reset is at most `expirySoonSecs` away.
 */
export function referenceReaperBinding(
  w: Windows,
  nowSecs: number,
  expirySoonSecs: number,
): { eff: number; reset: number | null; expiring: boolean } {
  const reset = w.u5 >= w.u7 ? w.r5 : w.r7;
  return { eff: Math.max(w.u5, w.u7), reset, expiring: reset !== null && reset - nowSecs <= expirySoonSecs };
}

/** The reference model of every built-in strategy, by name. */
export const referenceStrategies: Readonly<Record<'maximus' | 'cushion' | 'reaper' | 'carousel', ReferencePick>> = {
  // Highest score first; the stable sort keeps config order among equal scores (deliberate change #1).
  maximus: (candidates, input) =>
    firstBy(candidates, (a, b) => {
      const score = (account: Account): number => referenceMaximusScore(input.windows(account.name), input.nowSecs);
      return score(b) - score(a);
    }),
  // Lowest (binding, secondary), lexicographically.
  cushion: (candidates, input) =>
    firstBy(candidates, (a, b) => {
      const key = (account: Account): [number, number] => {
        const { u5, u7 } = input.windows(account.name);
        return [Math.max(u5, u7), Math.min(u5, u7)];
      };
      const [bindingA, secondaryA] = key(a);
      const [bindingB, secondaryB] = key(b);
      return bindingA - bindingB || secondaryA - secondaryB;
    }),
  // The seed's comparator, case by case.
  reaper: (candidates, input) =>
    firstBy(candidates, (a, b) => {
      const binding = (account: Account): ReturnType<typeof referenceReaperBinding> =>
        referenceReaperBinding(input.windows(account.name), input.nowSecs, input.expirySoonSecs);
      const x = binding(a);
      const y = binding(b);
      if (x.expiring !== y.expiring) return x.expiring ? -1 : 1;
      if (x.expiring) return (x.reset as number) - (y.reset as number);
      if (x.reset === null || y.reset === null) return (x.reset === null ? 1 : 0) - (y.reset === null ? 1 : 0);
      return x.reset - y.reset || x.eff - y.eff;
    }),
  carousel: (candidates, input) => {
    const n = candidates.length;
    return candidates[((input.counter % n) + n) % n] ?? candidates[0];
  },
};

/** The first candidate in the order `compare` defines; Array.prototype.sort is stable, so ties keep config order. */
function firstBy<A>(candidates: readonly [A, ...A[]], compare: (a: A, b: A) => number): A {
  return [...candidates].sort(compare)[0] ?? candidates[0];
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
