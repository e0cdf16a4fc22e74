import { referenceStrategies } from '../testing/reference-strategies.js';
import { describeStrategy } from '../testing/index.js';
import { carousel, cushion, maximus, reaper } from './index.js';
import { least7d } from '../../test/runtimes/scenarios.js';

for (const strategy of [maximus, cushion, reaper, carousel]) {
  describeStrategy(strategy, { reference: referenceStrategies[strategy.name as keyof typeof referenceStrategies] });
}

// A user-defined strategy, to prove the suite (and the seam) fits more than the built-ins.
describeStrategy(least7d);
