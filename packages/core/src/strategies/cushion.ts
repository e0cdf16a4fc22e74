/**
 * @module
 * Cushion: the account with the most room left in its tightest window.
 */
import type { Strategy } from './types.js';

/**
 * Lowest `(max(u5, u7), min(u5, u7))` wins, compared lexicographically: the binding (fuller)
 * window decides, the other window breaks ties. Reset times are ignored. Ties go to the first
 * candidate in config order.
 */
export const cushion: Strategy = {
  name: 'cushion',

  pick(candidates, context) {
    const { store } = context;
    let best = candidates[0];
    // NaN means "nothing chosen yet": the first real candidate takes it. A candidate whose own
    // inputs are NaN is skipped, so it can only win when every candidate is broken (then the first).
    let bestBinding = Number.NaN;
    let bestSecondary = Number.NaN;
    for (const candidate of candidates) {
      const u5 = store.utilization5h(candidate.name);
      const u7 = store.utilization7d(candidate.name);
      // Math.max/min propagate NaN, so one NaN window makes both keys NaN.
      const binding = Math.max(u5, u7);
      const secondary = Math.min(u5, u7);
      if (Number.isNaN(binding)) continue;
      // Strict `<` keeps the first of equal pairs.
      if (
        Number.isNaN(bestBinding) ||
        binding < bestBinding ||
        (binding === bestBinding && secondary < bestSecondary)
      ) {
        bestBinding = binding;
        bestSecondary = secondary;
        best = candidate;
      }
    }
    return best;
  },

  explain(account, context) {
    const u5 = context.store.utilization5h(account.name);
    const u7 = context.store.utilization7d(account.name);
    return { binding: Math.max(u5, u7), secondary: Math.min(u5, u7) };
  },
};
