/**
 * @module
 * Which cost model a trace supports, and the assigner that prices each request (in credits,
 * independent of the account, so the cost moves with the request when a strategy routes it
 * elsewhere; each account divides it by its own capacity).
 *
 * - `calibrated`: tokens × fitted weights (the trace has tokens and utilization).
 * - `tokens`: tokens × API-price weights (tokens, but no utilization to fit against).
 * - `deltas`: the utilization change the request caused on its recorded account, times that
 *   account's capacity (utilization, but no tokens).
 * - `flat`: a documented typical cost per model family (neither).
 */
import type { TraceRequest } from '../trace/assemble.js';
import { DEFAULT_REQUEST_CREDITS, DEFAULT_TOKEN_WEIGHTS, MODEL_FAMILIES, modelFamily, tokenCredits, type ModelFamily, type TokenWeights } from './costs.js';
import type { Capacity } from './plans.js';

/** A cost model's name. */
export type CostModelMode = 'calibrated' | 'tokens' | 'deltas' | 'flat';

/** Every mode, for `--cost-model`. */
export const COST_MODEL_MODES: readonly CostModelMode[] = ['calibrated', 'tokens', 'deltas', 'flat'];

/** What one request costs, in credits. */
export interface RequestCost {
  readonly credits5h: number;
  readonly credits7d: number;
}

/** Prices requests one by one, in replay order (the `deltas` mode remembers each account's last reading). */
export interface CostAssigner {
  /** The mode in force. */
  readonly mode: CostModelMode;
  /** Price one request. */
  assign(request: TraceRequest): RequestCost;
  /** Requests priced by a fallback (no tokens, or no usable utilization change). */
  readonly fallbacks: number;
}

/** Options for {@link createCostAssigner}. */
export interface CostAssignerOptions {
  readonly mode: CostModelMode;
  /** Token weights for `tokens` and `calibrated`. @default DEFAULT_TOKEN_WEIGHTS */
  readonly weights?: TokenWeights | undefined;
  /** Capacity of a recorded account (for `deltas`), or undefined when unknown. */
  readonly recordedCapacity?: ((account: string) => Capacity | undefined) | undefined;
}

/** A change in reset larger than this means a new window (resets jitter by about a second). */
const SAME_WINDOW_MS = 600_000;
/** A window whose reset is within this of "request time + window length" was opened by that request. */
const OPENED_BY_REQUEST_MS = 120_000;

/** Create an assigner for `mode`. */
export function createCostAssigner(options: CostAssignerOptions): CostAssigner {
  const weights = options.weights ?? DEFAULT_TOKEN_WEIGHTS;
  const { mode } = options;
  let fallbacks = 0;
  // Running mean of priced requests per family: the fallback for a request with nothing to go on.
  const seen = new Map<ModelFamily, { sum5h: number; sum7d: number; n: number }>(MODEL_FAMILIES.map((f) => [f, { sum5h: 0, sum7d: 0, n: 0 }]));
  const readings = new Map<string, Reading>();

  const fallback = (family: ModelFamily, need5h: boolean, need7d: boolean, known: RequestCost | null): RequestCost => {
    fallbacks++;
    const mean = seen.get(family) as { sum5h: number; sum7d: number; n: number };
    const flat = DEFAULT_REQUEST_CREDITS[family];
    const guess5h = mean.n > 0 ? mean.sum5h / mean.n : flat;
    const guess7d = mean.n > 0 ? mean.sum7d / mean.n : flat;
    return {
      credits5h: need5h || known === null ? guess5h : known.credits5h,
      credits7d: need7d || known === null ? guess7d : known.credits7d,
    };
  };

  const learn = (family: ModelFamily, cost: RequestCost): RequestCost => {
    const mean = seen.get(family) as { sum5h: number; sum7d: number; n: number };
    mean.sum5h += cost.credits5h;
    mean.sum7d += cost.credits7d;
    mean.n++;
    return cost;
  };

  return {
    mode,
    get fallbacks() {
      return fallbacks;
    },
    assign(request) {
      const family = modelFamily(request.model);
      switch (mode) {
        case 'flat': {
          const credits = DEFAULT_REQUEST_CREDITS[family];
          return { credits5h: credits, credits7d: credits };
        }
        case 'tokens':
        case 'calibrated': {
          if (request.tokens === null) return fallback(family, true, true, null);
          const credits = tokenCredits(request.tokens, family, weights);
          return learn(family, { credits5h: credits, credits7d: credits });
        }
        case 'deltas': {
          const cost = deltaCost(request, readings, options.recordedCapacity);
          if (cost.credits5h === null || cost.credits7d === null) {
            const known = cost.credits5h === null && cost.credits7d === null ? null : { credits5h: cost.credits5h ?? 0, credits7d: cost.credits7d ?? 0 };
            return fallback(family, cost.credits5h === null, cost.credits7d === null, known);
          }
          return learn(family, { credits5h: cost.credits5h, credits7d: cost.credits7d });
        }
      }
    },
  };
}

/** An account's last utilization reading per window. */
interface Reading {
  u5?: number;
  r5?: number;
  u7?: number;
  r7?: number;
}

/** The request's cost from utilization changes on its recorded account; null where unknown. */
function deltaCost(
  request: TraceRequest,
  readings: Map<string, Reading>,
  recordedCapacity: ((account: string) => Capacity | undefined) | undefined,
): { credits5h: number | null; credits7d: number | null } {
  let credits5h: number | null = null;
  let credits7d: number | null = null;
  const rows = request.attempts.length === 1 ? request.attempts : [...request.attempts].sort((a, b) => a.tsMs - b.tsMs);
  for (const row of rows) {
    if (row.account === undefined) continue;
    let reading = readings.get(row.account);
    if (reading === undefined) {
      reading = {};
      readings.set(row.account, reading);
    }
    const success = row.status === undefined || (row.status >= 200 && row.status <= 299);
    const capacity = recordedCapacity?.(row.account);
    const d5 = step(reading.u5, reading.r5, row.utilization5h, row.reset5hSecs, row.tsMs, 18_000_000);
    const d7 = step(reading.u7, reading.r7, row.utilization7d, row.reset7dSecs, row.tsMs, 604_800_000);
    if (row.utilization5h !== undefined && row.reset5hSecs !== undefined) {
      reading.u5 = row.utilization5h;
      reading.r5 = row.reset5hSecs;
    }
    if (row.utilization7d !== undefined && row.reset7dSecs !== undefined) {
      reading.u7 = row.utilization7d;
      reading.r7 = row.reset7dSecs;
    }
    if (!success || capacity === undefined) continue;
    if (d5 !== null && Number.isFinite(capacity.window5hCredits)) credits5h = d5 * capacity.window5hCredits;
    if (d7 !== null && Number.isFinite(capacity.window7dCredits)) credits7d = d7 * capacity.window7dCredits;
  }
  return { credits5h, credits7d };
}

/** The utilization a row added to its window, or null when it cannot be told. */
function step(
  lastU: number | undefined,
  lastResetSecs: number | undefined,
  u: number | undefined,
  resetSecs: number | undefined,
  tsMs: number,
  windowMs: number,
): number | null {
  if (u === undefined || resetSecs === undefined) return null;
  if (lastU !== undefined && lastResetSecs !== undefined && Math.abs(resetSecs - lastResetSecs) * 1000 <= SAME_WINDOW_MS) {
    return Math.max(0, u - lastU);
  }
  // A new window: if this request opened it, everything in it is this request's.
  return Math.abs(resetSecs * 1000 - windowMs - tsMs) <= OPENED_BY_REQUEST_MS ? u : null;
}

/** The cost model a trace's columns support. */
export function detectCostModel(columns: ReadonlySet<string>, hasAccounts: boolean): CostModelMode {
  const tokens = columns.has('input_tokens') || columns.has('output_tokens') || columns.has('cache_read_tokens');
  const utilization = hasAccounts && (columns.has('util_5h') || columns.has('util_7d'));
  if (tokens && utilization) return 'calibrated';
  if (tokens) return 'tokens';
  if (utilization) return 'deltas';
  return 'flat';
}
