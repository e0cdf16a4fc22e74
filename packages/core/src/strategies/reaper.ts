/**
 * @module
 * Reaper: use it or lose it. Drains the quota that is about to reset unused.
 */
import type { StrategyContext, Strategy } from './types.js';

/**
 * Per account, the binding window is the fuller one: `eff = max(u5, u7)`, `rb = r5` if `u5 ≥ u7`
 * else `r7`. The account is *expiring* when `rb` is known and `rb − now ≤ expirySoonSecs`.
 *
 * Order (first wins): expiring accounts, earliest `rb` first; then accounts with a known `rb`,
 * earliest `rb` first, then lowest `eff`; then accounts with no reset at all (fresh accounts are
 * saved for last, since using them starts a new window). Ties go to the first candidate in config
 * order.
 */
export const reaper: Strategy = {
  name: 'reaper',

  pick(candidates, context) {
    let best = candidates[0];
    let found = false;
    let bestRank = 0;
    let bestReset = 0;
    let bestEff = 0;
    for (const candidate of candidates) {
      const { eff, resetSecs, expiring } = binding(candidate.name, context);
      // A NaN input is not a real quota: skip it, so it only wins when every candidate is broken.
      if (Number.isNaN(eff) || Number.isNaN(resetSecs)) continue;
      // The order as a lexicographic key (rank, reset, eff), keys that do not apply set to 0:
      // between two expiring accounts the seed compares resets only, and unknown resets tie.
      const rank = expiring ? 0 : resetSecs !== null ? 1 : 2;
      const reset = rank === 2 ? 0 : (resetSecs as number);
      const e = rank === 1 ? eff : 0;
      // Strict comparisons keep the first of equal keys.
      if (
        !found ||
        rank < bestRank ||
        (rank === bestRank && (reset < bestReset || (reset === bestReset && e < bestEff)))
      ) {
        found = true;
        bestRank = rank;
        bestReset = reset;
        bestEff = e;
        best = candidate;
      }
    }
    return best;
  },

  explain(account, context) {
    const { eff, resetSecs, expiring } = binding(account.name, context);
    return { bindingUtilization: eff, bindingResetSecs: resetSecs, expiring };
  },
};

/** The account's binding window: its utilization, its reset (epoch seconds) and whether it expires soon. */
function binding(
  name: string,
  context: StrategyContext,
): { eff: number; resetSecs: number | null; expiring: boolean } {
  const { store } = context;
  const u5 = store.utilization5h(name);
  const u7 = store.utilization7d(name);
  // With equal utilizations (both 0 included) the 5-hour reset binds, as in the seed.
  const resetSecs = u5 >= u7 ? store.reset5hSecs(name) : store.reset7dSecs(name);
  const expiring = resetSecs !== null && resetSecs - context.nowMs / 1000 <= context.expirySoonSecs;
  return { eff: Math.max(u5, u7), resetSecs, expiring };
}
