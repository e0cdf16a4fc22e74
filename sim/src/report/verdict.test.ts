import { describe, expect, it } from 'vitest';
import type { StrategyReport } from './metrics.js';
import { formatVerdict, rankStrategies, verdict } from './verdict.js';

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
