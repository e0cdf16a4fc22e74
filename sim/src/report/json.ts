/**
 * @module
 * The `--json` report: a documented, stable schema (docs/simulator.md), byte-identical across runs
 * for the same inputs — fixed key order, rounded numbers, nothing about the run itself.
 */
import { MODEL_FAMILIES, TOKEN_KINDS } from '../model/costs.js';
import type { SimulationResult } from '../replay/simulate.js';
import type { RoutingSettings } from '../replay/replayer.js';
import { roundTo } from '../util/numbers.js';
import { assess } from './assessment.js';
import { formatVerdict, rankStrategies, verdict } from './verdict.js';
import type { StrategyReport } from './metrics.js';

/** Identifies the JSON schema; bumped on any incompatible change. */
export const REPORT_SCHEMA = 'shunt-sim-report/v1';

/** Settings echoed into the report. */
export interface ReportSettings extends RoutingSettings {
  readonly reorderWindowMs: number;
  readonly warmupRows: number;
}

/** The JSON document (see docs/simulator.md for every field). */
export interface JsonReport {
  readonly schema: string;
  readonly trace: Record<string, unknown>;
  readonly settings: Record<string, number>;
  readonly verdict: Record<string, unknown>;
  readonly strategies: readonly StrategyReport[];
  readonly whatIf: Record<string, unknown> | null;
}

/** Build the JSON document. */
export function toJsonReport(result: SimulationResult, settings: ReportSettings): JsonReport {
  const { trace } = result;
  const calibration = trace.costModel.calibration;
  const weights = trace.costModel.weights;
  const assessment = assess(result, settings);
  const fidelity = trace.fidelity;
  return {
    schema: REPORT_SCHEMA,
    trace: {
      file: trace.file,
      format: trace.format,
      bytes: trace.bytes,
      rows: trace.rows,
      skippedRows: trace.skippedRows,
      lateAttempts: trace.lateAttempts,
      requests: trace.requests,
      start: iso(trace.startMs),
      end: iso(trace.endMs),
      recorded: { rateLimited: trace.recorded.rateLimited, unserved: trace.recorded.unserved },
      fidelity:
        fidelity === null
          ? null
          : {
              recorded429s: fidelity.recorded429s,
              reproduced429s: fidelity.reproduced429s,
              missed429s: fidelity.missed429s,
              spurious429s: fidelity.spurious429s,
              // null where only one of the recording and the model has a first 429 (see reasons).
              firstRateLimitErrorMinutes: Object.fromEntries(
                Object.entries(fidelity.firstRateLimitErrorMinutes).map(([name, minutes]) => [name, minutes === null ? null : num(minutes, 1)]),
              ),
              good: fidelity.good,
              reasons: fidelity.reasons,
            },
      cacheTtlMs: trace.cacheTtlMs,
      costModel: {
        mode: trace.costModel.mode,
        fallbacks: trace.costModel.fallbacks,
        estimateError: num(trace.costModel.estimateError, 6),
        weightsPerMillionTokens:
          weights === null
            ? null
            : Object.fromEntries(
                MODEL_FAMILIES.map((family) => [
                  family,
                  Object.fromEntries(TOKEN_KINDS.map((kind) => [kind, roundTo(weights[family][kind] * 1e6, 4)])),
                ]),
              ),
        calibration:
          calibration === null
            ? null
            : {
                r2: num(calibration.r2, 4),
                samples: calibration.samples,
                weightsFitted: calibration.weightsFitted,
                costError: num(calibration.costError, 6),
                familyCostErrors: Object.fromEntries(MODEL_FAMILIES.map((family) => [family, num(calibration.familyCostErrors[family], 6)])),
                groups: [...calibration.groups.entries()].map(([group, g]) => ({
                  group,
                  capacity5h: num(g.capacity.window5hCredits, 4),
                  capacity7d: num(g.capacity.window7dCredits, 4),
                  capacityError5h: num(g.capacityError.window5h, 6),
                  capacityError7d: num(g.capacityError.window7d, 6),
                  samples5h: g.samples5h,
                  samples7d: g.samples7d,
                  r2_5h: num(g.r2_5h, 4),
                  r2_7d: num(g.r2_7d, 4),
                  rmse5h: num(g.rmse5h, 6),
                })),
              },
      },
      accounts: trace.accounts.map((a) => ({
        name: a.name,
        plan: a.plan,
        planSource: a.planSource,
        capacity5h: num(a.capacity.window5hCredits, 4),
        capacity7d: num(a.capacity.window7dCredits, 4),
        capacitySource: a.capacitySource,
        weeklyReset: a.weeklyResetMs === null ? null : iso(a.weeklyResetMs),
        startUtilization5h: num(a.startUtilization5h, 4),
        startUtilization7d: num(a.startUtilization7d, 4),
      })),
    },
    settings: {
      stickyTtlMs: settings.stickyTtlMs,
      expirySoonSecs: settings.expirySoonSecs,
      maxWaitMs: settings.maxWaitMs,
      reorderWindowMs: settings.reorderWindowMs,
      warmupRows: settings.warmupRows,
    },
    verdict: {
      best: assessment.verdict === null || assessment.verdict.tie ? null : assessment.verdict.best,
      runnerUp: assessment.verdict?.runnerUp ?? null,
      moreServed: assessment.verdict?.moreServed ?? 0,
      fewerHeld: assessment.verdict?.fewerHeld ?? 0,
      ranking: assessment.ranking,
      robust: assessment.robust,
      rankingWithinUncertainty: assessment.rankingWithinUncertainty,
      movedRankings: assessment.movedRankings,
      line: assessment.verdictLine,
      stickyTtl: {
        configuredMs: assessment.stickyTtl.configuredMs,
        cacheTtlMs: assessment.stickyTtl.cacheTtlMs,
        recommendedMs: assessment.stickyTtl.recommendedMs,
      },
    },
    strategies: result.results.map((r) => r.report),
    whatIf:
      result.whatIf === null
        ? null
        : {
            added: result.whatIf.added.map((a) => ({
              name: a.name,
              plan: a.plan,
              capacity5h: num(a.capacity.window5hCredits, 4),
              capacity7d: num(a.capacity.window7dCredits, 4),
            })),
            verdict: verdictOf(result.whatIf.results),
            strategies: result.whatIf.results,
          },
  };
}

/** The JSON text: two-space indent, trailing newline. */
export function formatJsonReport(report: JsonReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function verdictOf(reports: readonly StrategyReport[]): Record<string, unknown> {
  const v = verdict(reports);
  return { best: v === null || v.tie ? null : v.best, ranking: rankStrategies(reports), line: formatVerdict(v) };
}

function iso(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** A rounded number, or null for NaN/∞ (JSON has neither). */
function num(value: number, digits: number): number | null {
  return Number.isFinite(value) ? roundTo(value, digits) : null;
}
