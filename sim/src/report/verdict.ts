/**
 * @module
 * The verdict: strategies ranked by what a team feels (requests served, then requests held, then
 * prompt-cache credits routing wasted, then 429s), and one line that names the best with its margin.
 */
import type { StrategyReport } from './metrics.js';

/** Order two reports: negative when `a` is better. */
export function compareReports(a: StrategyReport, b: StrategyReport): number {
  return (
    b.served - a.served ||
    a.held - b.held ||
    Math.round((a.cacheMisses.credits - b.cacheMisses.credits) * 100) ||
    a.rateLimited - b.rateLimited
  );
}

/**
 * Strategy names best first; strategies that tie on every criterion share a place, written
 * `a=b` in name order, so two rankings compare as plain arrays.
 */
export function rankStrategies(reports: readonly StrategyReport[]): string[] {
  const sorted = [...reports].sort((a, b) => compareReports(a, b) || a.strategy.localeCompare(b.strategy));
  const out: string[] = [];
  let previous: StrategyReport | undefined;
  for (const report of sorted) {
    if (previous !== undefined && compareReports(previous, report) === 0) out[out.length - 1] += `=${report.strategy}`;
    else out.push(report.strategy);
    previous = report;
  }
  return out;
}

/** The best strategy and its margin over the runner-up; null with fewer than two strategies. */
export interface Verdict {
  readonly best: string;
  readonly runnerUp: string;
  /** Requests the best serves beyond the runner-up. */
  readonly moreServed: number;
  /** Requests the best holds fewer than the runner-up (negative: more). */
  readonly fewerHeld: number;
  /** Credits of prompt cache the best writes again less than the runner-up. */
  readonly lessCacheMissCredits: number;
  /** True when every strategy ties. */
  readonly tie: boolean;
}

/** The verdict over `reports`. */
export function verdict(reports: readonly StrategyReport[]): Verdict | null {
  if (reports.length < 2) return null;
  const sorted = [...reports].sort((a, b) => compareReports(a, b) || a.strategy.localeCompare(b.strategy));
  const best = sorted[0] as StrategyReport;
  const runnerUp = sorted[1] as StrategyReport;
  return {
    best: best.strategy,
    runnerUp: runnerUp.strategy,
    moreServed: best.served - runnerUp.served,
    fewerHeld: runnerUp.held - best.held,
    lessCacheMissCredits: runnerUp.cacheMisses.credits - best.cacheMisses.credits,
    tie: compareReports(best, sorted[sorted.length - 1] as StrategyReport) === 0,
  };
}

/** "best for this trace: X, serving N more than Y and holding M fewer". */
export function formatVerdict(v: Verdict | null): string {
  if (v === null) return 'best for this trace: only one strategy was replayed';
  if (v.tie) return `best for this trace: no difference — every strategy served, held and missed the cache alike`;
  const served = v.moreServed > 0 ? `serving ${v.moreServed} more than ${v.runnerUp}` : `serving as many as ${v.runnerUp}`;
  const held = v.fewerHeld > 0 ? `holding ${v.fewerHeld} fewer` : v.fewerHeld < 0 ? `holding ${-v.fewerHeld} more` : 'holding as many';
  const cache = v.moreServed === 0 && v.fewerHeld === 0 ? `, with $${v.lessCacheMissCredits.toFixed(2)} less of prompt cache written again` : '';
  return `best for this trace: ${v.best}, ${served} and ${held}${cache}`;
}

/**
 * The ranking the model can stand behind: `nominal` (as from {@link rankStrategies}) with every
 * strategy whose order against another changes in any of the `moved` rankings (the same replay
 * with capacities and costs moved by their stated error) sharing a place with it, and with
 * everything ranked between them. Places stay contiguous, written `a=b` in name order.
 */
export function rankingWithinUncertainty(nominal: readonly string[], moved: ReadonlyArray<readonly string[]>): string[] {
  const places = nominal.map((place) => place.split('='));
  const placeOf = (ranking: readonly string[]): Map<string, number> =>
    new Map(ranking.flatMap((place, i) => place.split('=').map((name) => [name, i] as const)));
  // joinedTo[i]: the last nominal place that place i must share a place with.
  const joinedTo = places.map((_, i) => i);
  for (const ranking of moved) {
    const at = placeOf(ranking);
    for (let i = 0; i < places.length; i++) {
      for (let j = i + 1; j < places.length; j++) {
        // Reordered (or tied) on a moved pool: the two cannot be told apart.
        const reordered = (places[i] as string[]).some((a) => (places[j] as string[]).some((b) => (at.get(b) ?? Infinity) <= (at.get(a) ?? Infinity)));
        if (reordered) joinedTo[i] = Math.max(joinedTo[i] as number, j);
      }
    }
  }
  const out: string[] = [];
  let i = 0;
  while (i < places.length) {
    let end = joinedTo[i] as number;
    for (let k = i; k <= end; k++) end = Math.max(end, joinedTo[k] as number);
    out.push(places.slice(i, end + 1).flat().sort((a, b) => a.localeCompare(b)).join('='));
    i = end + 1;
  }
  return out;
}
