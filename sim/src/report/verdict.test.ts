import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { StrategyReport } from './metrics.js';
import { formatVerdict, rankingWithinUncertainty, rankStrategies, verdict } from './verdict.js';

function report(strategy: string, served: number, held: number, missCredits = 0): StrategyReport {
  return {
    strategy,
    requests: 100,
    served,
    servedAfterHold: 0,
    failed: 100 - served,
    rateLimited: 0,
    held,
    holdMs: { total: 0, p50: 0, p95: 0, max: 0 },
    exhaustedMinutes: 0,
    switches: 0,
    cacheMisses: { routing: 0, credits: missCredits, all: 0 },
    stickyHitRate: 0,
    expiredWeeklyQuota: 0,
    firstExhaustion: null,
    firstHold: null,
    spread: { gini: 0, range: 0 },
    accounts: [],
  };
}

describe('verdict', () => {
  it('should rank by served, then held, then the cache credits routing wasted, ties sharing a place', () => {
    const reports = [report('maximus', 90, 5), report('cushion', 95, 9), report('reaper', 95, 4, 2), report('carousel', 95, 4, 2)];
    expect(rankStrategies(reports)).toEqual(['carousel=reaper', 'cushion', 'maximus']);
    expect(rankStrategies([report('a', 95, 4, 1), report('b', 95, 4, 2)])).toEqual(['a', 'b']);
  });

  it('should name the best with its margin over the runner-up', () => {
    const v = verdict([report('maximus', 90, 5), report('reaper', 95, 2), report('cushion', 93, 7)]);
    expect(formatVerdict(v)).toBe('best for this trace: reaper, serving 2 more than cushion and holding 5 fewer');
    expect(verdict([report('a', 90, 0), report('b', 90, 0)])?.tie).toBe(true);
    expect(verdict([report('a', 90, 0)])).toBeNull();
  });
});

describe('ranking within uncertainty', () => {
  it('should let strategies a moved pool reorders share a place, with everything ranked between them', () => {
    expect(rankingWithinUncertainty(['a', 'b', 'c', 'd'], [['a', 'b', 'c', 'd']])).toEqual(['a', 'b', 'c', 'd']);
    expect(rankingWithinUncertainty(['a', 'b', 'c', 'd'], [['b', 'a', 'c', 'd'], ['a', 'b', 'c', 'd']])).toEqual(['a=b', 'c', 'd']);
    // d overtakes b on one pool: b, c and d cannot be told apart.
    expect(rankingWithinUncertainty(['a', 'b', 'c', 'd'], [['a', 'd', 'b', 'c']])).toEqual(['a', 'b=c=d']);
    // A tie on a moved pool is no order either.
    expect(rankingWithinUncertainty(['b', 'a', 'c'], [['a=b', 'c']])).toEqual(['a=b', 'c']);
    expect(rankingWithinUncertainty(['a=b', 'c'], [])).toEqual(['a=b', 'c']);
  });

  test.prop([fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1 }).chain((names) => fc.tuple(fc.constant(names), fc.array(fc.shuffledSubarray(names, { minLength: names.length, maxLength: names.length }), { maxLength: 3 })))])(
    'should only merge places of the nominal ranking, and order every pair it keeps apart the same way on every moved pool',
    ([nominal, moved]) => {
      const within = rankingWithinUncertainty(nominal, moved);
      // A coarsening: the places, read in order, list the nominal ranking's names.
      const flat = within.flatMap((place) => place.split('='));
      expect([...flat].sort()).toEqual([...nominal].sort());
      const placeOf = (ranking: readonly string[], name: string): number => ranking.findIndex((place) => place.split('=').includes(name));
      for (const a of nominal) {
        for (const b of nominal) {
          if (placeOf(within, a) >= placeOf(within, b)) continue;
          expect(placeOf(nominal, a)).toBeLessThan(placeOf(nominal, b));
          for (const ranking of moved) expect(placeOf(ranking, a), `${a} before ${b} in ${ranking.join('>')}`).toBeLessThan(placeOf(ranking, b));
        }
      }
    },
  );
});
