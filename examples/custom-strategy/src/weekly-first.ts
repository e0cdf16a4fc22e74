/**
 * A custom strategy: the account with the most weekly headroom, ties broken on the 5-hour window,
 * then on config order (like the built-ins). docs/strategies.md, "Write your own strategy".
 */
import type { Strategy } from '@shunt/core';

export const weeklyFirst: Strategy = {
  name: 'weekly-first',
  pick(candidates, { store }) {
    let best = candidates[0]!;
    for (const account of candidates) {
      const weekly = store.utilization7d(account.name);
      const bestWeekly = store.utilization7d(best.name);
      // Strictly better only: ties stay with the earlier account.
      if (weekly < bestWeekly || (weekly === bestWeekly && store.utilization5h(account.name) < store.utilization5h(best.name))) best = account;
    }
    return best;
  },
  explain: (account, { store }) => ({ weekly: store.utilization7d(account.name), fiveHour: store.utilization5h(account.name) }),
};
