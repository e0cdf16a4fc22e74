/**
 * The fidelity harness: generate a scenario with a known ground truth, run the simulator on the
 * recording, run the true-cost replay, and measure how far the simulator's model is from the truth
 * (capacities, family weight ratios, the self-check, the ranking of strategies).
 */
import { join } from 'node:path';
import { builtInStrategies } from '../src/replay/load-strategy.js';
import { simulate, type SimulationResult } from '../src/replay/simulate.js';
import { generateTrace, type GenerateOptions, type GroundTruth } from '../src/generate/record.js';
import { replayTruth } from '../src/generate/truth.js';
import { MODEL_FAMILIES, modelFamily, tokenCredits, type ModelFamily } from '../src/model/costs.js';
import { readTrace } from '../src/trace/reader.js';
import { createRequestAssembler } from '../src/trace/assemble.js';
import { createCostAssigner } from '../src/model/cost-model.js';
import { rankStrategies } from '../src/report/verdict.js';
import { assess } from '../src/report/assessment.js';
import type { StrategyReport } from '../src/report/metrics.js';

/** A scenario: generator options without the output file. */
export type Scenario = Omit<GenerateOptions, 'out' | 'truthOut'>;

/** What one scenario measured. */
export interface FidelityMeasure {
  /** |fitted / true − 1| per account and window (capacities in the truth's units). */
  readonly capacityErrors: ReadonlyArray<{ readonly account: string; readonly window: '5h' | '7d'; readonly error: number }>;
  /**
   * |fitted ratio / true ratio − 1| of each family's cost to Sonnet's, over the trace's own tokens,
   * and the ratio's relative standard error as calibration states it (the two families' errors added).
   */
  readonly familyRatioErrors: ReadonlyArray<{ readonly family: ModelFamily; readonly error: number; readonly stated: number }>;
  /**
   * What the never-served requests' estimates add beyond their true cost, relative to the true
   * cost of every request (each priced wherever it lands: a conversation's first request with its
   * prefix written). Comparable with `result.trace.costModel.estimateError`.
   */
  readonly estimateBias: number;
  readonly result: SimulationResult;
  readonly truth: GroundTruth;
  readonly truthReports: readonly StrategyReport[];
  readonly simRanking: readonly string[];
  /** The simulator's ranking with the strategies its own uncertainty cannot order sharing a place. */
  readonly simRankingWithin: readonly string[];
  readonly truthRanking: readonly string[];
}

/**
 * Whether the truth agrees with what the simulator claims: every pair the simulator orders
 * (different places) is ordered the same way by the truth; a pair it calls a tie within its
 * uncertainty may fall either way.
 */
export function rankingAgrees(sim: readonly string[], truth: readonly string[]): boolean {
  const placeOf = (ranking: readonly string[]): Map<string, number> =>
    new Map(ranking.flatMap((place, i) => place.split('=').map((name) => [name, i] as const)));
  const simAt = placeOf(sim);
  const truthAt = placeOf(truth);
  if (simAt.size !== truthAt.size) return false;
  for (const [a, pa] of simAt) {
    for (const [b, pb] of simAt) {
      if (pa < pb && !((truthAt.get(a) ?? Infinity) < (truthAt.get(b) ?? -Infinity))) return false;
    }
  }
  return true;
}

/** Routing of the replay (the proxy's defaults). */
export const ROUTING = { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 } as const;

/** Generate, simulate, replay the truth, and measure. */
export async function measureScenario(dir: string, name: string, scenario: Scenario): Promise<FidelityMeasure> {
  const out = join(dir, `${name}.csv`);
  const summary = await generateTrace({ ...scenario, out });
  const truth = summary.truth;
  const strategies = builtInStrategies();
  const routing = { ...ROUTING, stickyTtlMs: scenario.stickyTtlMs ?? ROUTING.stickyTtlMs };
  const result = await simulate({ file: out, strategies, routing, pool: { kind: 'trace', plan: 'max5' } });
  const truthReports = replayTruth(truth, strategies, routing, result.trace.endMs);

  // Fitted credits are on the calibration's own scale: convert through the trace's served tokens.
  const fittedWeights = result.trace.costModel.weights;
  const perFamily = new Map<ModelFamily, { fitted: number; truth: number }>(MODEL_FAMILIES.map((f) => [f, { fitted: 0, truth: 0 }]));
  await readTrace(out, (row) => {
    if (row.status !== 200 || row.inputTokens === undefined || fittedWeights === null) return;
    const family = modelFamily(row.model);
    const tokens = {
      input: row.inputTokens,
      output: row.outputTokens ?? 0,
      cacheRead: row.cacheReadTokens ?? 0,
      cacheCreation: row.cacheCreationTokens ?? 0,
      cacheCreation1h: row.cacheCreation1hTokens,
    };
    const sums = perFamily.get(family) as { fitted: number; truth: number };
    sums.fitted += tokenCredits(tokens, family, fittedWeights);
    sums.truth += tokenCredits(tokens, family, truth.weights);
  });
  let fittedTotal = 0;
  let truthTotal = 0;
  for (const sums of perFamily.values()) {
    fittedTotal += sums.fitted;
    truthTotal += sums.truth;
  }
  const toTruthUnits = truthTotal / fittedTotal;

  // Price every request as the simulator does, and compare the estimated ones with the truth.
  const truthById = new Map(truth.requests.map((r) => [r[0], r]));
  const assigner = createCostAssigner({ mode: 'calibrated', weights: fittedWeights ?? undefined });
  const opened = new Set<string>();
  let estimatedExcess = 0;
  let truthAll = 0;
  const assembler = createRequestAssembler({
    onRequest(request) {
      const cost = assigner.assign(request);
      const id = request.attempts[0]?.requestId;
      const row = id === undefined || id === null ? undefined : truthById.get(id);
      if (row === undefined) return;
      const opens = request.session !== null && !opened.has(request.session);
      if (request.session !== null) opened.add(request.session);
      const trueCredits = row[4] + (opens ? row[5] : 0);
      truthAll += trueCredits;
      if (request.tokens === null) estimatedExcess += (cost.credits5h + (opens ? cost.cacheMissCredits : 0)) * toTruthUnits - trueCredits;
    },
  });
  await readTrace(out, (row) => assembler.add(row));
  assembler.finish();
  const estimateBias = truthAll > 0 ? estimatedExcess / truthAll : 0;
  const capacityErrors = truth.accounts.flatMap((account) => {
    const fitted = result.trace.accounts.find((a) => a.name === account.name);
    if (fitted === undefined || fitted.capacitySource !== 'calibrated') return [];
    return [
      { account: account.name, window: '5h' as const, error: Math.abs((fitted.capacity.window5hCredits * toTruthUnits) / account.capacity.window5hCredits - 1) },
      { account: account.name, window: '7d' as const, error: Math.abs((fitted.capacity.window7dCredits * toTruthUnits) / account.capacity.window7dCredits - 1) },
    ];
  });
  const sonnet = perFamily.get('sonnet') as { fitted: number; truth: number };
  const familyRatioErrors = MODEL_FAMILIES.filter((f) => f !== 'sonnet' && (perFamily.get(f)?.truth ?? 0) > 0 && sonnet.truth > 0).map((family) => {
    const sums = perFamily.get(family) as { fitted: number; truth: number };
    const stated = result.trace.costModel.calibration?.familyCostErrors;
    return {
      family,
      error: Math.abs(sums.fitted / sonnet.fitted / (sums.truth / sonnet.truth) - 1),
      stated: stated === undefined ? Number.NaN : stated[family] + stated.sonnet,
    };
  });
  return {
    capacityErrors,
    familyRatioErrors,
    estimateBias,
    result,
    truth,
    truthReports,
    simRanking: rankStrategies(result.results.map((r) => r.report)),
    simRankingWithin: assess(result, routing).rankingWithinUncertainty,
    truthRanking: rankStrategies(truthReports),
  };
}
