/**
 * @module
 * What the reports say about a run beyond the numbers: the verdict and whether it survives the
 * model's uncertainty, the self-check in one line, and the sticky TTL the trace calls for. The
 * terminal table, the JSON and the HTML all take their words from here.
 */
import type { SimulationResult } from '../replay/simulate.js';
import { FIDELITY_BOUNDS } from '../replay/self-check.js';
import type { RoutingSettings } from '../replay/replayer.js';
import { formatDurationMs } from '../util/duration.js';
import { formatVerdict, rankingWithinUncertainty, rankStrategies, verdict, type Verdict } from './verdict.js';

/** The run's conclusions. */
export interface Assessment {
  readonly verdict: Verdict | null;
  /** Best first; ties share a place as `a=b`. */
  readonly ranking: readonly string[];
  /** Whether the ranking holds on the pessimistic and the optimistic pool; null when not checked. */
  readonly robust: boolean | null;
  /**
   * The ranking with strategies the moved pools reorder sharing a place (`a=b`): the order the
   * model can tell apart. Equal to `ranking` when robust or not checked.
   */
  readonly rankingWithinUncertainty: readonly string[];
  /** The rankings on the moved pools. */
  readonly movedRankings: { readonly pessimistic: readonly string[]; readonly optimistic: readonly string[] } | null;
  /** "best for this trace: …" with its robustness. */
  readonly verdictLine: string;
  /** The self-check in one line, or null when it could not run. */
  readonly fidelityLine: string | null;
  /** The sticky TTL the trace's prompt cache calls for, compared with the configured one. */
  readonly stickyTtl: { readonly configuredMs: number; readonly cacheTtlMs: number; readonly recommendedMs: number; readonly line: string };
}

/** Assess a simulation run with these routing settings. */
export function assess(result: SimulationResult, routing: RoutingSettings): Assessment {
  const reports = result.results.map((r) => r.report);
  const best = verdict(reports);
  const ranking = rankStrategies(reports);
  const robustness = result.robustness;
  const movedRankings =
    robustness === null ? null : { pessimistic: rankStrategies(robustness.pessimistic), optimistic: rankStrategies(robustness.optimistic) };
  const robust = movedRankings === null ? null : sameRanking(ranking, movedRankings.pessimistic) && sameRanking(ranking, movedRankings.optimistic);
  const within = movedRankings === null ? ranking : rankingWithinUncertainty(ranking, [movedRankings.pessimistic, movedRankings.optimistic]);
  const top = (within[0] ?? '').split('=');
  let verdictLine = formatVerdict(best);
  if (best !== null && !best.tie && robust !== null) {
    if (robust) verdictLine += " (the ranking holds with capacities and costs moved by twice their stated error)";
    else if (top.length > 1) {
      // The model cannot tell the leaders apart: say so rather than crown the nominal one.
      verdictLine = `best for this trace: a tie within the model's uncertainty between ${top.join(', ')} (with capacities and costs moved by twice their stated error the order changes); nominally ${best.best} leads${verdictLine.slice(`best for this trace: ${best.best}`.length)}`;
    } else verdictLine += ` (${best.best} stays first with capacities and costs moved by twice their stated error; the rest ranks ${within.slice(1).join(' > ')})`;
  }
  return {
    verdict: best,
    ranking,
    robust,
    rankingWithinUncertainty: within,
    movedRankings,
    verdictLine,
    fidelityLine: fidelityLine(result),
    stickyTtl: stickyAdvice(result, routing),
  };
}

function sameRanking(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

function fidelityLine(result: SimulationResult): string | null {
  const f = result.trace.fidelity;
  if (f === null) return null;
  const minutes = Object.values(f.firstRateLimitErrorMinutes).filter((m): m is number => m !== null);
  const worst = minutes.length === 0 ? null : Math.max(...minutes.map((m) => Math.abs(m)));
  const first =
    worst === null ? '' : Number.isFinite(worst) ? `, first 429 per account within ${worst.toFixed(worst < 10 ? 1 : 0)} min` : ', first 429 missing on an account';
  const head = `Self-check (the recorded routing through the model): ${f.reproduced429s} of ${f.recorded429s} recorded 429s reproduced, ${f.missed429s} missed, ${f.spurious429s} spurious${first}`;
  return f.good
    ? `${head} — faithful (bounds: ≥ ${FIDELITY_BOUNDS.reproduced * 100} % reproduced, ≤ ${FIDELITY_BOUNDS.spurious * 100} % spurious, first 429 within ${FIDELITY_BOUNDS.firstMinutes} min)`
    : `${head} — POOR FIDELITY: ${f.reasons.join('; ')}`;
}

function stickyAdvice(result: SimulationResult, routing: RoutingSettings): Assessment['stickyTtl'] {
  const cacheTtlMs = result.trace.cacheTtlMs;
  const configuredMs = routing.stickyTtlMs;
  const recommendedMs = Math.max(configuredMs, cacheTtlMs);
  const cache = cacheTtlMs >= 3_600_000 ? '1-hour' : '5-minute';
  const line =
    configuredMs >= cacheTtlMs
      ? `Sticky TTL ${formatDurationMs(configuredMs)} covers the ${cache} prompt cache this trace shows: a conversation keeps its cache through any pause the cache survives.`
      : `Sticky TTL ${formatDurationMs(configuredMs)} is shorter than the ${cache} prompt cache this trace shows: a pause between the two moves a conversation off its cache. Recommended: sticky_ttl ${formatDurationMs(recommendedMs)} (the proxy already keeps requests that ask for 1-hour caching stuck that long).`;
  return { configuredMs, cacheTtlMs, recommendedMs, line };
}
