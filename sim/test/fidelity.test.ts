/**
 * Fidelity against ground truth (issue 11): each scenario is generated with a known truth, the
 * simulator runs on the recording, and a true-cost replay runs on the truth. The simulator must
 * recover capacities within 5 % and family cost ratios within 10 %, its self-check must
 * reproduce ≥ 95 % of the recorded 429s with ≤ 5 % spurious ones and each account's first 429
 * within 15 minutes, and its ranking of the strategies must equal the true-cost replay's.
 *
 * Checks the model does not meet yet are listed in KNOWN_GAPS and run as `it.fails`: they are
 * still executed, and the suite breaks the day one starts passing, so the list stays honest.
 */
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIDELITY_BOUNDS } from '../src/replay/self-check.js';
import { measureScenario, rankingAgrees, type FidelityMeasure } from './fidelity-harness.js';
import { SCENARIOS } from './fidelity-scenarios.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

/** Family cost ratios within 10 % of the truth (issue 11). */
const RATIO_BOUND = 0.1;

type Check = 'capacities' | 'family ratios' | 'estimates' | 'self-check' | 'ranking' | 'ranking within uncertainty';

/**
 * Scenario checks the model misses today, each with why (see the report of issue 11). None: the
 * last, out-of-order's plain ranking, closed when never-served conversations were estimated by
 * kind (started together or alone; docs/simulator.md, "Proof against ground truth").
 */
const KNOWN_GAPS: Readonly<Record<string, readonly Check[]>> = {};

describe.each(Object.keys(SCENARIOS))('scenario %s', (name) => {
  let measure: FidelityMeasure;
  beforeAll(async () => {
    measure = await measureScenario(dir, name, SCENARIOS[name] as (typeof SCENARIOS)[string]);
  }, 60_000);
  const gaps = KNOWN_GAPS[name] ?? [];
  const check = (what: Check, title: string, fn: () => void): void => {
    if (gaps.includes(what)) it.fails(title, fn);
    else it(title, fn);
  };

  check('capacities', 'should recover every calibrated capacity within 5 %', () => {
    expect(measure.capacityErrors.length).toBeGreaterThan(0);
    for (const e of measure.capacityErrors) expect(e.error, `${e.account} ${e.window}`).toBeLessThan(0.05);
  });

  check('family ratios', "should recover each identified family's cost relative to Sonnet within 10 %, and state the others' error", () => {
    for (const e of measure.familyRatioErrors) {
      expect(Number.isFinite(e.stated), e.family).toBe(true);
      // Identified: two standard errors inside the bound, so the bound is a fair test of the fit.
      if (2 * e.stated < RATIO_BOUND) expect(e.error, e.family).toBeLessThan(RATIO_BOUND);
      // Not identified (too few or too small calls to weigh): calibration must say how unsure it
      // is, and be right about it.
      else expect(e.error, `${e.family} (stated ±${(e.stated * 100).toFixed(1)} %)`).toBeLessThan(2 * e.stated);
    }
  });

  check('estimates', "should state an estimate error that, doubled, covers the never-served requests' bias against the truth", () => {
    const stated = measure.result.trace.costModel.estimateError;
    expect(Number.isFinite(stated)).toBe(true);
    // Twice, as the robustness rerun moves capacities and costs by twice the stated errors.
    expect(Math.abs(measure.estimateBias), `bias ${(measure.estimateBias * 100).toFixed(2)} % vs stated ${(stated * 100).toFixed(2)} %`).toBeLessThanOrEqual(2 * stated);
  });

  check('self-check', 'should reproduce the recorded 429s in its self-check', () => {
    const fidelity = measure.result.trace.fidelity;
    expect(fidelity).not.toBeNull();
    if (fidelity === null) return;
    expect(fidelity.recorded429s).toBe(measure.result.trace.recorded.rateLimited);
    expect(fidelity.reproduced429s).toBeGreaterThanOrEqual(FIDELITY_BOUNDS.reproduced * fidelity.recorded429s);
    expect(fidelity.spurious429s).toBeLessThanOrEqual(FIDELITY_BOUNDS.spurious * Math.max(1, fidelity.recorded429s));
    for (const [account, minutes] of Object.entries(fidelity.firstRateLimitErrorMinutes)) {
      if (minutes !== null) expect(Math.abs(minutes), account).toBeLessThanOrEqual(FIDELITY_BOUNDS.firstMinutes);
    }
    expect(fidelity.good).toBe(true);
  });

  check('ranking', 'should rank the strategies as the true-cost replay does', () => {
    expect(measure.simRanking).toEqual(measure.truthRanking);
  });

  check('ranking within uncertainty', 'should order every pair of strategies as the true-cost replay does unless it calls them a tie', () => {
    expect(rankingAgrees(measure.simRankingWithin, measure.truthRanking), `${measure.simRankingWithin.join(' > ')} vs truth ${measure.truthRanking.join(' > ')}`).toBe(true);
  });
});

/** Generator parameters for the property. */
interface Params {
  readonly seed: number;
  readonly window5h: number;
  readonly window7d: number;
  readonly opusOverSonnet: number;
}

async function checkParams(p: Params): Promise<void> {
    const sonnet = { input: 3e-6, output: 15e-6, cacheRead: 0.3e-6, cacheCreation: 3.75e-6, cacheCreation1h: 6e-6 };
    const scale = (k: number): typeof sonnet => ({
      input: sonnet.input * k,
      output: sonnet.output * k,
      cacheRead: sonnet.cacheRead * k,
      cacheCreation: sonnet.cacheCreation * k,
      cacheCreation1h: sonnet.cacheCreation1h * k,
    });
    const measure = await measureScenario(dir, `property-${p.seed}`, {
      seed: p.seed,
      days: 1,
      users: 3,
      accounts: 2,
      capacityScale: { window5h: p.window5h, window7d: p.window7d },
      weights: { opus: scale(p.opusOverSonnet), sonnet, haiku: scale(1 / 3) },
    });
    for (const e of measure.capacityErrors) {
      // An account with little traffic has too few readings to judge.
      const group = measure.result.trace.costModel.calibration?.groups.get(`account:${e.account}`);
      if (group === undefined || group.samples5h < 200) continue;
      expect(e.error, `${e.account} ${e.window}`).toBeLessThan(0.05);
    }
    const opus = measure.familyRatioErrors.find((e) => e.family === 'opus');
    if (opus !== undefined) expect(opus.error).toBeLessThan(0.1);
    // Three generated days and replays: room on a loaded machine, not a performance bound.
}

describe('fidelity over generator parameters', () => {
  // The seed is fixed so that CI judges the same cases every run: a random one found the
  // counterexample below in CI (seed -738859394), a real gap of the model, not a flake, now
  // pinned as an example. Change the seed locally to explore.
  test.prop(
    [
      fc.record({
        seed: fc.integer({ min: 1, max: 10_000 }),
        window5h: fc.double({ min: 0.25, max: 1, noNaN: true }),
        window7d: fc.double({ min: 0.4, max: 1, noNaN: true }),
        opusOverSonnet: fc.double({ min: 0.8, max: 3, noNaN: true }),
      }),
    ],
    { numRuns: 3, seed: 704_270_745 },
  )('should recover capacities within 5 % and the Opus/Sonnet cost ratio within 10 %', checkParams, 180_000);

  // Small, tight pools (5h capacity at 25 %, weekly at 40 %) with Opus priced 2.7× Sonnet. CI
  // found seed 9 (before sub-agents got fresh sessions), and seed 11 fails the same way on today's
  // generator: bravo's 5-hour capacity came out 13–20 % off and Opus 38 % off, because the
  // alternating fit fixed at list price every weight that came out negative on its way, while the
  // capacities were still far off, and so ended on list prices throughout.
  it.each([9, 11])('should recover capacities within 5 % on a small, tight pool with expensive Opus (seed %i)', { timeout: 180_000 }, async (seed) => {
    await checkParams({ seed, window5h: 0.25, window7d: 0.4, opusOverSonnet: 2.673093282973861 });
  });
});
