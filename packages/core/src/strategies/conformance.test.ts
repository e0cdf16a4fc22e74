import { referenceStrategies } from '../testing/reference-strategies.js';
import { describeStrategy } from '../testing/index.js';
import { carousel, cushion, maximus, reaper } from './index.js';
import type { Strategy } from './types.js';

for (const strategy of [maximus, cushion, reaper, carousel]) {
  describeStrategy(strategy, { reference: referenceStrategies[strategy.name as keyof typeof referenceStrategies] });
}

// A user-defined strategy, to prove the suite (and the seam) fits more than the built-ins.
const least7d: Strategy = {
  name: 'least-7d',
  pick(candidates, { store }) {
    let best = candidates[0];
    for (const candidate of candidates) {
      if (store.utilization7d(candidate.name) < store.utilization7d(best.name)) best = candidate;
    }
    return best;
  },
  explain: (account, { store }) => ({ utilization7d: store.utilization7d(account.name) }),
};

describeStrategy(least7d);
