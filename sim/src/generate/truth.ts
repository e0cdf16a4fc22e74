/**
 * @module
 * The true-cost replay: a generated trace's demand replayed under any strategy with what each
 * request really costs and what each account really holds (the ground truth `pnpm sim:gen
 * --truth-out` writes). The simulator never reads it; tests compare the simulator's answers
 * against it.
 */
import { readFile } from 'node:fs/promises';
import type { Strategy } from '@shunt/core';
import { createReplayer, type RoutingSettings } from '../replay/replayer.js';
import type { StrategyReport } from '../report/metrics.js';
import { TRUTH_SCHEMA, type GroundTruth } from './record.js';

/** Read a ground-truth sidecar. */
export async function readGroundTruth(file: string): Promise<GroundTruth> {
  const truth = JSON.parse(await readFile(file, 'utf8')) as GroundTruth;
  if (truth.schema !== TRUTH_SCHEMA) throw new Error(`${file}: expected a ${TRUTH_SCHEMA} document, got ${String(truth.schema)}`);
  return truth;
}

/** Replay the true demand and costs under each strategy; one report per strategy, in order. */
export function replayTruth(truth: GroundTruth, strategies: readonly Strategy[], routing: RoutingSettings, endMs?: number): StrategyReport[] {
  const pool = truth.accounts.map((a) => ({
    name: a.name,
    capacity: a.capacity,
    start: { weeklyAnchorMs: a.weeklyResetMs, utilization7d: a.startUtilization7d },
  }));
  const replayers = strategies.map((strategy) => createReplayer({ strategy, pool, routing, startMs: truth.startMs }));
  truth.requests.forEach(([requestId, arrivalMs, session, , credits, missCredits, cacheTtlMs], seq) => {
    const request = { seq, arrivalMs, session, requestId, credits5h: credits, credits7d: credits, cacheMissCredits: missCredits, cacheTtlMs };
    for (const replayer of replayers) replayer.push(request);
  });
  return replayers.map((replayer) => replayer.finish(endMs ?? truth.endMs).report);
}
