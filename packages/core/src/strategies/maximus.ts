/**
 * @module
 * Maximus: the time-weighted dual-window scorer (the default strategy).
 */
import { WINDOW_5H_SECS, WINDOW_7D_SECS } from '../rate-limits.js';
import type { CompleteStateStore } from '../store/types.js';
import type { Strategy } from './types.js';

/**
 * Highest `score = (1 − tf5·u5) · (1 − tf7·u7)` wins, where `tf = min(1, max(0, reset − now) / window)`
 * (0 when the reset is unknown) and `u` is the window's utilization clamped into [0, 1].
 *
 * A nearly used-up window costs little when it is about to reset, so an account at 90 % that
 * resets in 10 minutes beats one at 60 % that resets in 3 hours. Fresh accounts score 1; every
 * score is in [0, 1]. Ties go to the first candidate in config order.
 */
export const maximus: Strategy = {
  name: 'maximus',

  pick(candidates, context) {
    const { store } = context;
    const nowSecs = context.nowMs / 1000;
    let best = candidates[0];
    // Every real score is ≥ 0, so it beats the sentinel; NaN (a store returning garbage) never
    // does, as `>` is false for NaN. Strict `>` keeps the first of equal scores.
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const candidate of candidates) {
      const score = health5h(store, candidate.name, nowSecs) * health7d(store, candidate.name, nowSecs);
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    return best;
  },

  explain(account, context) {
    const nowSecs = context.nowMs / 1000;
    const h5 = health5h(context.store, account.name, nowSecs);
    const h7 = health7d(context.store, account.name, nowSecs);
    return { score: h5 * h7, health5h: h5, health7d: h7 };
  },
};

function health5h(store: CompleteStateStore, name: string, nowSecs: number): number {
  return health(store.utilization5h(name), store.reset5hSecs(name), nowSecs, WINDOW_5H_SECS);
}

function health7d(store: CompleteStateStore, name: string, nowSecs: number): number {
  return health(store.utilization7d(name), store.reset7dSecs(name), nowSecs, WINDOW_7D_SECS);
}

/** `1 − tf·u` for one window. NaN in, NaN out, so a broken input never looks healthy. */
function health(utilization: number, resetSecs: number | null, nowSecs: number, windowSecs: number): number {
  // Anthropic reports utilization above 1 (1.01 has been seen) and a custom store might return a
  // negative one; clamping keeps each health, and so the score, inside [0, 1].
  // Math.max/min propagate NaN, unlike a comparison, which would turn a NaN reset into "now".
  const u = Math.min(1, Math.max(0, utilization));
  // An unknown reset weighs like one already passed: nothing of the window is left to wait for.
  const timeFraction = Math.min(1, Math.max(0, (resetSecs ?? nowSecs) - nowSecs) / windowSecs);
  return 1 - timeFraction * u;
}
