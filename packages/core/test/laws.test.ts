import fc from 'fast-check';
import { describe, it } from 'vitest';
import { carousel, cushion, maximus, reaper } from '../src/strategies/index.js';
import {
  lawCarouselVisitsEachOncePerCycle,
  lawCushionPicksLexicographicMinimum,
  lawMaximusFreshScoresOne,
  lawMaximusNonDecreasingOverTime,
  lawMaximusNonIncreasingInUtilization,
  lawMaximusScoreInUnitInterval,
  lawMaximusScoreIsTheFormula,
  lawNeverPicksIneligible,
  lawNullIffNoneEligible,
  lawPickAndExplainAgree,
  lawPicksAsTheReference,
  lawPinnedWinsWhenEligible,
  lawReaperPutsExpiringFirst,
  lawSameStateSamePick,
  lawStickyStaysPut,
} from '../src/testing/laws.js';
import { referenceStrategies } from '../src/testing/reference-strategies.js';

describe.each([maximus, cushion, reaper, carousel].map((s) => [s.name, s] as const))('routing laws: %s', (_, strategy) => {
  it('should never pick an account that is tried, cooling, disabled or exhausted', () => {
    fc.assert(lawNeverPicksIneligible(strategy));
  });

  it('should return null exactly when no account is eligible', () => {
    fc.assert(lawNullIffNoneEligible(strategy));
  });

  it('should pick the pinned account whenever it is eligible', () => {
    fc.assert(lawPinnedWinsWhenEligible(strategy));
  });

  it('should keep a conversation on its account while that account is eligible', () => {
    fc.assert(lawStickyStaysPut(strategy));
  });

  it('should pick the same accounts from two stores in the same state', () => {
    fc.assert(lawSameStateSamePick(strategy));
  });

  it('should make the same decision in pickAccount and explainPick', () => {
    fc.assert(lawPickAndExplainAgree(strategy));
  });

  it('should pick what the reference model of the documented order picks', () => {
    fc.assert(lawPicksAsTheReference(strategy, referenceStrategies[strategy.name as keyof typeof referenceStrategies]));
  });
});

describe('maximus laws', () => {
  it('should score every account within [0, 1]', () => {
    fc.assert(lawMaximusScoreInUnitInterval());
  });

  it('should never score higher for more utilization', () => {
    fc.assert(lawMaximusNonIncreasingInUtilization());
  });

  it('should never score lower as time passes', () => {
    fc.assert(lawMaximusNonDecreasingOverTime());
  });

  it('should score a fresh account exactly 1', () => {
    fc.assert(lawMaximusFreshScoresOne());
  });

  it('should score every account by the documented formula', () => {
    fc.assert(lawMaximusScoreIsTheFormula());
  });
});

describe('cushion laws', () => {
  it('should pick the first lexicographic minimum of (binding, secondary)', () => {
    fc.assert(lawCushionPicksLexicographicMinimum());
  });
});

describe('reaper laws', () => {
  it('should mark exactly the expiring accounts, and pick one whenever there is one', () => {
    fc.assert(lawReaperPutsExpiringFirst());
  });
});

describe('carousel laws', () => {
  it('should visit every eligible account once per cycle when nothing changes', () => {
    fc.assert(lawCarouselVisitsEachOncePerCycle());
  });
});
