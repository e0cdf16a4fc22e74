/**
 * @module
 * The whole simulation in one streaming pass: read the trace, reorder and group it, learn the
 * pool and the cost model from a warm-up prefix, then drive every strategy's replayer from the
 * same stream of requests.
 */
import type { Strategy } from '@shunt/core';
import { calibrate, type Calibration } from '../model/calibrate.js';
import { createCostAssigner, detectCostModel, type CostAssigner, type CostModelMode, type RequestCost } from '../model/cost-model.js';
import { DEFAULT_TOKEN_WEIGHTS, type TokenWeights } from '../model/costs.js';
import { WEEK_IN_5H_WINDOWS, nearestPlan, planCapacity, type Capacity, type PlanName } from '../model/plans.js';
import type { AccountStart } from '../model/account.js';
import { createRowColumns, rowAt, type RowColumns } from '../model/row-columns.js';
import { createRequestAssembler, type TokenCounts, type TraceRequest } from '../trace/assemble.js';
import { TraceError } from '../trace/errors.js';
import { readTrace, type TraceHeader } from '../trace/reader.js';
import { TRACE_FORMAT_MARKER } from '../trace/columns.js';
import { createSelfCheck, type Fidelity, type SelfCheck } from './self-check.js';
import type { StrategyReport } from '../report/metrics.js';
import { createReplayer, type AttemptEvent, type PoolAccount, type ReplayRequest, type ReplayResult, type Replayer, type RoutingSettings } from './replayer.js';

/** An account named in `--accounts FILE`. */
export interface AccountSpec {
  readonly name: string;
  readonly plan: PlanName;
  /** A weekly reset of this account, epoch ms (any week). */
  readonly weeklyResetMs?: number | undefined;
}

/** Where the simulated pool comes from. */
export type PoolSource =
  | { readonly kind: 'file'; readonly accounts: readonly AccountSpec[] }
  | { readonly kind: 'count'; readonly count: number; readonly plan: PlanName }
  | { readonly kind: 'trace'; readonly plan: PlanName };

/** Options for {@link simulate}. */
export interface SimulateOptions {
  /** The trace file. */
  readonly file: string;
  /** Strategies to replay, in report order. */
  readonly strategies: readonly Strategy[];
  /** Proxy settings. */
  readonly routing: RoutingSettings;
  /** The pool to simulate. */
  readonly pool: PoolSource;
  /** How far out of order rows may be, ms. @default 900000 */
  readonly reorderWindowMs?: number | undefined;
  /** Skip bad rows instead of failing. @default false */
  readonly skipBadRows?: boolean | undefined;
  /**
   * Rows read before the replay starts, to learn accounts, calibration and starting state from.
   * @default 100000
   */
  readonly warmupRows?: number | undefined;
  /** Cost model; `auto` picks the best the trace supports. @default "auto" */
  readonly costModel?: CostModelMode | 'auto' | undefined;
  /** Timeline bucket for charts, ms, or null for none. @default null */
  readonly timelineStepMs?: number | null | undefined;
  /** Progress callback (bytes read, total bytes, the phase under way). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number, phase: string) => void) | undefined;
  /** Non-fatal problems, one line each. */
  readonly onWarning?: ((message: string) => void) | undefined;
  /**
   * Also replay every strategy on a pessimistic and an optimistic pool (capacities and costs moved
   * by twice the calibration's error), to say whether the ranking holds. @default true
   */
  readonly robustness?: boolean | undefined;
  /** Plans of accounts to add beside the pool, for a what-if comparison (`--add-account`). @default [] */
  readonly addAccounts?: readonly PlanName[] | undefined;
  /** Every replayed attempt, with the strategy that made it (for comparing with the recorded picks). */
  readonly onAttempt?: ((strategy: string, event: AttemptEvent<ReplayRequest>) => void) | undefined;
}

/** An account of the simulated pool, as reported. */
export interface PoolAccountSummary {
  readonly name: string;
  readonly plan: PlanName;
  /** `file` (--accounts), `option` (--plan), or `inferred` from calibrated capacity. */
  readonly planSource: 'file' | 'option' | 'inferred';
  readonly capacity: Capacity;
  /** `calibrated` from the trace, or the plan's `default`. */
  readonly capacitySource: 'calibrated' | 'default';
  readonly weeklyResetMs: number | null;
  readonly startUtilization5h: number;
  readonly startUtilization7d: number;
}

/** What was read, and the model built from it. */
export interface TraceSummary {
  readonly file: string;
  readonly format: string;
  readonly bytes: number;
  readonly rows: number;
  readonly skippedRows: number;
  readonly skippedSamples: readonly string[];
  readonly lateAttempts: number;
  readonly requests: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly columns: readonly string[];
  readonly unknownColumns: readonly string[];
  readonly accounts: readonly PoolAccountSummary[];
  readonly costModel: {
    readonly mode: CostModelMode;
    readonly fallbacks: number;
    /** Relative error of all credits priced that comes from estimated requests (see CostAssigner.estimateError). */
    readonly estimateError: number;
    readonly weights: TokenWeights | null;
    readonly calibration: Calibration | null;
  };
  /** What the recording itself shows (upstream 429 rows; requests with no successful attempt). */
  readonly recorded: { readonly rateLimited: number; readonly unserved: number };
  /** The self-check: the recorded routing replayed through the model (null when no account has a reading). */
  readonly fidelity: Fidelity | null;
  /** The prompt-cache lifetime the trace shows: 1 hour when any response wrote 1-hour cache entries, else 5 minutes. */
  readonly cacheTtlMs: number;
}

/** The replays on pools moved by the model's uncertainty. */
export interface Robustness {
  /** How far each account's capacity was moved, relative (both directions), with costs folded in. */
  readonly moved: Readonly<Record<string, number>>;
  /** Every strategy on smaller pools (capacities down, costs up). */
  readonly pessimistic: readonly StrategyReport[];
  /** Every strategy on larger pools. */
  readonly optimistic: readonly StrategyReport[];
}

/** The same comparison on the pool with accounts added. */
export interface WhatIf {
  /** The added accounts (capacity: the plan's, scaled as calibration scaled the recorded ones). */
  readonly added: ReadonlyArray<{ readonly name: string; readonly plan: PlanName; readonly capacity: Capacity }>;
  readonly results: readonly StrategyReport[];
}

/** Everything a simulation produced. */
export interface SimulationResult {
  readonly trace: TraceSummary;
  readonly results: readonly ReplayResult[];
  /** Null without `addAccounts`. */
  readonly whatIf: WhatIf | null;
  /** Null when disabled. */
  readonly robustness: Robustness | null;
}

/** The relative capacity error assumed for an account whose capacity is a plan default. */
export const UNCALIBRATED_CAPACITY_ERROR = 0.25;

/** Default warm-up: enough for a stable calibration, small enough to bound memory. */
export const DEFAULT_WARMUP_ROWS = 100_000;

/**
 * Replay `options.file` through every strategy. Throws a TraceError for bad input (the CLI exits
 * with code 2) — before anything is printed, since results exist only at the end.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const { file, routing } = options;
  const warn = options.onWarning ?? (() => {});
  const warmupRows = options.warmupRows ?? DEFAULT_WARMUP_ROWS;
  let header: TraceHeader | undefined;
  let warming = true;
  // The warm-up keeps requests without their rows, and the rows in typed-array columns.
  let warm: WarmRequest[] = [];
  let warmRows = createRowColumns();
  let warmRowCount = 0;
  let replayers: Replayer<ReplayRequest>[] = [];
  let selfCheck: SelfCheck | undefined;
  let whatIf: { added: WhatIf['added']; replayers: Replayer<ReplayRequest>[] } | undefined;
  let perturbed: Array<{ moved: Record<string, number>; pessimistic: Replayer<ReplayRequest>[]; optimistic: Replayer<ReplayRequest>[] }> = [];
  let assigner: CostAssigner | undefined;
  let built: Built | undefined;
  let requests = 0;
  let startMs = Number.NaN;
  let endMs = Number.NEGATIVE_INFINITY;
  let recordedRateLimited = 0;
  let recordedUnserved = 0;
  let oneHourCache = false;
  let lateRows = 0;
  const unknownAccounts = new Set<string>();

  const feed = (request: WarmRequest | TraceRequest, cost: RequestCost): void => {
    const replayRequest: ReplayRequest = {
      seq: request.seq,
      arrivalMs: request.arrivalMs,
      session: request.session,
      requestId: 'requestId' in request ? request.requestId : (request.attempts[0]?.requestId ?? null),
      credits5h: cost.credits5h,
      credits7d: cost.credits7d,
      cacheMissCredits: cost.cacheMissCredits,
      cacheTtlMs: cost.cacheTtlMs,
    };
    for (const replayer of replayers) replayer.push(replayRequest);
    if (whatIf !== undefined) for (const replayer of whatIf.replayers) replayer.push(replayRequest);
    for (const set of perturbed) {
      for (const replayer of set.pessimistic) replayer.push(replayRequest);
      for (const replayer of set.optimistic) replayer.push(replayRequest);
    }
  };

  // The phase for the progress bar: the calibration and warm-up replay move no byte for seconds.
  let phase = 'warm-up: reading';
  let bytes: [number, number] = [0, 0];
  const start = (): void => {
    options.onProgress?.(bytes[0], bytes[1], 'warm-up: calibrating and replaying');
    phase = 'replaying';
    warming = false;
    if (header === undefined) return;
    built = build(options, header, warm, warmRows.columns(), warn);
    assigner = built.assigner;
    replayers = options.strategies.map((strategy) =>
      createReplayer({
        strategy,
        pool: built!.pool,
        routing,
        startMs: Number.isNaN(startMs) ? 0 : startMs,
        timelineStepMs: options.timelineStepMs ?? null,
        onAttempt: options.onAttempt === undefined ? undefined : (event) => options.onAttempt?.(strategy.name, event),
      }),
    );
    selfCheck = createSelfCheck(built.pool, Number.isNaN(startMs) ? 0 : startMs);
    if (options.addAccounts !== undefined && options.addAccounts.length > 0) {
      const added = addedAccounts(built, options.addAccounts);
      const pool = [...built.pool, ...added.map((a) => ({ name: a.name, capacity: a.capacity, start: { weeklyAnchorMs: null } }))];
      whatIf = {
        added,
        replayers: options.strategies.map((strategy) => createReplayer({ strategy, pool, routing, startMs: Number.isNaN(startMs) ? 0 : startMs })),
      };
    }
    if (options.robustness !== false) {
      const moved = uncertainty(built);
      const replayOn = (sign: 1 | -1): Replayer<ReplayRequest>[] => {
        const pool = built!.pool.map((a) => {
          const factor = Math.max(0.1, 1 + sign * 2 * (moved[a.name] ?? 0));
          return { ...a, capacity: { window5hCredits: a.capacity.window5hCredits * factor, window7dCredits: a.capacity.window7dCredits * factor } };
        });
        return options.strategies.map((strategy) => createReplayer({ strategy, pool, routing, startMs: Number.isNaN(startMs) ? 0 : startMs }));
      };
      perturbed = [{ moved, pessimistic: replayOn(-1), optimistic: replayOn(1) }];
    }
    const columns = warmRows.columns();
    for (let i = 0; i < warm.length; i++) {
      const request = warm[i] as WarmRequest;
      const cost = built.warmCosts[i] as RequestCost;
      feed(request, cost);
      selfCheck.push(request.arrivalMs, request.session, rowsOf(columns, request), cost);
    }
    warm = [];
    warmRows = createRowColumns(1);
  };

  const assembler = createRequestAssembler({
    file,
    reorderWindowMs: options.reorderWindowMs,
    onLateRow:
      options.skipBadRows === true
        ? () => {
            lateRows++;
          }
        : undefined,
    onRequest(request) {
      requests++;
      if (Number.isNaN(startMs)) startMs = request.arrivalMs;
      let served = false;
      for (const row of request.attempts) {
        // Rows without an account are the proxy answering the client itself, not an upstream 429.
        if (row.status === 429 && row.account !== undefined) recordedRateLimited++;
        if (row.status === undefined || (row.status >= 200 && row.status <= 299)) served = true;
        if ((row.cacheCreation1hTokens ?? 0) > 0) oneHourCache = true;
        if (row.account !== undefined && built !== undefined && !built.known.has(row.account) && !unknownAccounts.has(row.account)) {
          unknownAccounts.add(row.account);
          if (built.pool.length > 0 && options.pool.kind === 'trace') {
            warn(`account "${row.account}" first appears after the warm-up (${warmupRows} rows): it is not part of the simulated pool`);
          }
        }
      }
      if (!served) recordedUnserved++;
      if (warming) {
        const index = warm.length;
        const rowStart = warmRowCount;
        for (const row of request.attempts) warmRows.push(row, index);
        warmRowCount += request.attempts.length;
        warm.push({
          seq: request.seq,
          arrivalMs: request.arrivalMs,
          session: request.session,
          requestId: request.attempts[0]?.requestId ?? null,
          model: request.model,
          tokens: request.tokens,
          startedWith: request.startedWith,
          rowStart,
          rowEnd: warmRowCount,
        });
        if (warmRowCount >= warmupRows) start();
        return;
      }
      const cost = (assigner as CostAssigner).assign(request);
      feed(request, cost);
      selfCheck?.push(request.arrivalMs, request.session, request.attempts, cost);
    },
  });

  const read = await readTrace(
    file,
    (row) => {
      if (row.tsMs > endMs) endMs = row.tsMs;
      assembler.add(row);
    },
    {
      skipBadRows: options.skipBadRows,
      onProgress:
        options.onProgress === undefined
          ? undefined
          : (done, total) => {
              bytes = [done, total];
              options.onProgress?.(done, total, phase);
            },
      onHeader: (h) => {
        header = h;
      },
    },
  );
  assembler.finish();
  if (requests === 0) throw new TraceError(file, { line: read.hasMarker ? 3 : 2 }, 'the trace has a header but no rows to replay');
  if (warming) start();

  const results = replayers.map((replayer) => replayer.finish(endMs));
  const set = perturbed[0];
  const robustness: Robustness | null =
    set === undefined
      ? null
      : {
          moved: set.moved,
          pessimistic: set.pessimistic.map((replayer) => replayer.finish(endMs).report),
          optimistic: set.optimistic.map((replayer) => replayer.finish(endMs).report),
        };
  const model = built as Built;
  const skippedSamples = read.skippedSamples.map((e) => e.message);
  return {
    trace: {
      file,
      format: read.hasMarker ? TRACE_FORMAT_MARKER.slice(2) : 'shunt-trace v1 (no marker line)',
      bytes: read.bytes,
      rows: read.rows,
      skippedRows: read.skippedRows + lateRows,
      skippedSamples,
      lateAttempts: assembler.lateAttempts,
      requests,
      startMs,
      endMs,
      columns: read.columns,
      unknownColumns: read.unknownColumns,
      accounts: model.summaries,
      costModel: {
        mode: model.assigner.mode,
        fallbacks: model.assigner.fallbacks,
        estimateError: model.assigner.estimateError,
        weights: model.weights,
        calibration: model.calibration,
      },
      recorded: { rateLimited: recordedRateLimited, unserved: recordedUnserved },
      fidelity:
        selfCheck?.finish({
          estimatedShare: requests > 0 ? model.assigner.fallbacks / requests : 0,
          uncalibrated: model.summaries.filter((a) => a.capacitySource === 'default').map((a) => a.name),
          r2: model.calibration?.r2 ?? Number.NaN,
        }) ?? null,
      cacheTtlMs: oneHourCache ? 3_600_000 : 300_000,
    },
    results,
    whatIf: whatIf === undefined ? null : { added: whatIf.added, results: whatIf.replayers.map((replayer) => replayer.finish(endMs).report) },
    robustness,
  };
}

/**
 * Accounts to add for the what-if: each plan's default capacity, scaled by how calibration found
 * the recorded accounts against their nearest plan (the median ratio), so "one more Max 20×"
 * means one like the ones this trace shows. Their weekly window opens with their first request.
 */
function addedAccounts(built: Built, plans: readonly PlanName[]): WhatIf['added'] {
  const ratios = built.summaries
    .filter((a) => a.capacitySource === 'calibrated')
    .map((a) => ({ r5: a.capacity.window5hCredits / planCapacity(a.plan).window5hCredits, r7: a.capacity.window7dCredits / planCapacity(a.plan).window7dCredits }));
  const median = (values: number[]): number => {
    const sorted = values.filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
    return sorted.length === 0 ? 1 : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
  };
  const scale5h = median(ratios.map((r) => r.r5));
  const scale7d = median(ratios.map((r) => r.r7));
  const taken = new Set(built.summaries.map((a) => a.name));
  let n = 0;
  return plans.map((plan) => {
    let name: string;
    do name = `added-${++n}`;
    while (taken.has(name));
    const base = planCapacity(plan);
    return { name, plan, capacity: { window5hCredits: base.window5hCredits * scale5h, window7dCredits: base.window7dCredits * scale7d } };
  });
}

/**
 * How far each account's capacity is uncertain, relative, with the cost uncertainty folded in
 * (costs up by e is capacities down by about e): the calibration's standard errors, or
 * {@link UNCALIBRATED_CAPACITY_ERROR} for a plan default.
 */
function uncertainty(built: Built): Record<string, number> {
  const out: Record<string, number> = {};
  const costError = built.calibration?.costError;
  for (const account of built.summaries) {
    const group = built.calibration?.groups.get(account.name) ?? built.calibration?.groups.get(`account:${account.name}`) ?? built.calibration?.groups.get(`plan:${account.plan}`);
    const capacityError =
      account.capacitySource === 'calibrated' && group !== undefined
        ? Math.max(finiteOr0(group.capacityError.window5h), finiteOr0(group.capacityError.window7d))
        : UNCALIBRATED_CAPACITY_ERROR;
    // Estimated requests (never served) are as uncertain as the estimator proved on served ones.
    out[account.name] = capacityError + finiteOr0(costError ?? Number.NaN) + finiteOr0(built.assigner.estimateError);
  }
  return out;
}

function finiteOr0(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

interface Built {
  readonly pool: PoolAccount[];
  readonly summaries: PoolAccountSummary[];
  readonly known: ReadonlySet<string>;
  readonly assigner: CostAssigner;
  readonly warmCosts: RequestCost[];
  readonly weights: TokenWeights | null;
  readonly calibration: Calibration | null;
}

/** Build the pool, the cost model and each account's starting state from the warm-up requests. */
function build(
  options: SimulateOptions,
  header: TraceHeader,
  warm: readonly WarmRequest[],
  rows: RowColumns,
  warn: (message: string) => void,
): Built {
  const columns = new Set<string>(header.columns);
  const recordedNames = new Set<string>(rows.accountNames);
  const hasAccounts = recordedNames.size > 0;

  // 1. Who is in the pool, on which plan.
  const source = options.pool;
  let specs: Array<{ name: string; plan: PlanName; planSource: PoolAccountSummary['planSource']; weeklyResetMs: number | null }>;
  if (source.kind === 'file') {
    specs = source.accounts.map((a) => ({ name: a.name, plan: a.plan, planSource: 'file', weeklyResetMs: a.weeklyResetMs ?? null }));
  } else if (source.kind === 'count') {
    specs = Array.from({ length: source.count }, (_, i) => ({
      name: `acct-${i + 1}`,
      plan: source.plan,
      planSource: 'option' as const,
      weeklyResetMs: null,
    }));
  } else {
    if (!hasAccounts) {
      throw new TraceError(
        options.file,
        {},
        columns.has('account')
          ? 'the account column is empty in every row: pass --accounts FILE or --accounts-count N'
          : 'the trace has no account column: pass --accounts FILE or --accounts-count N (with --plan)',
      );
    }
    specs = [...recordedNames].sort().map((name) => ({ name, plan: source.plan, planSource: 'option' as const, weeklyResetMs: null }));
  }
  const planOf = new Map(specs.map((s) => [s.name, s.plan]));
  const groupOf = (account: string): string => {
    const plan = source.kind === 'file' ? planOf.get(account) : undefined;
    return plan === undefined ? `account:${account}` : `plan:${plan}`;
  };

  // 2. The cost model.
  const requested = options.costModel ?? 'auto';
  const supported = detectCostModel(columns, hasAccounts);
  let mode: CostModelMode = requested === 'auto' ? supported : requested;
  if (requested !== 'auto' && !supports(supported, requested)) {
    throw new TraceError(options.file, {}, `--cost-model ${requested} needs ${needs(requested)}; this trace supports ${supported}`);
  }
  let calibration: Calibration | null = null;
  if (mode === 'calibrated') {
    calibration = calibrate(rows, { groupOf });
    if (calibration === null) {
      // The trace's own utilization changes, scaled by the plan capacities they are replayed on,
      // reproduce what each request did to its window whatever those capacities are: better than
      // list prices against assumed capacities.
      warn('calibration: too few utilization readings to fit; pricing requests by their own utilization changes (deltas) on plan capacities');
      mode = 'deltas';
    }
  }
  const weights = mode === 'calibrated' ? (calibration as Calibration).weights : mode === 'tokens' ? DEFAULT_TOKEN_WEIGHTS : null;

  // 3. Capacities: calibrated where the fit had enough data, the plan's defaults elsewhere.
  const capacityOf = (name: string, plan: PlanName): { capacity: Capacity; calibrated: boolean } => {
    const fitted = calibration?.groups.get(groupOf(name));
    if (fitted !== undefined && Number.isFinite(fitted.capacity.window5hCredits) && fitted.capacity.window5hCredits > 0) {
      const c7 = fitted.capacity.window7dCredits;
      return {
        capacity: {
          window5hCredits: fitted.capacity.window5hCredits,
          window7dCredits: Number.isFinite(c7) && c7 > 0 ? c7 : fitted.capacity.window5hCredits * WEEK_IN_5H_WINDOWS,
        },
        calibrated: true,
      };
    }
    return { capacity: planCapacity(plan), calibrated: false };
  };
  const fallbackPlan = source.kind === 'file' ? undefined : source.plan;
  const recordedCapacity = (account: string): Capacity | undefined => {
    const plan = planOf.get(account) ?? fallbackPlan;
    return plan === undefined ? undefined : capacityOf(account, plan).capacity;
  };
  const assigner = createCostAssigner({ mode, weights: weights ?? undefined, recordedCapacity });
  // Only the deltas model reads rows; the others price from the request alone.
  const warmCosts = warm.map((request) =>
    assigner.assign({
      seq: request.seq,
      arrivalMs: request.arrivalMs,
      session: request.session,
      model: request.model,
      tokens: request.tokens,
      startedWith: request.startedWith,
      attempts: mode === 'deltas' ? rowsOf(rows, request) : NO_ROWS,
    }),
  );

  // 4. Starting state from each recorded account's first reading.
  const startMs = warm[0]?.arrivalMs ?? 0;
  const first = firstReadings(rows, warmCosts);
  const pool: PoolAccount[] = [];
  const summaries: PoolAccountSummary[] = [];
  for (const spec of specs) {
    const { capacity, calibrated } = capacityOf(spec.name, spec.plan);
    const reading = first.get(spec.name);
    const weeklyResetMs = spec.weeklyResetMs ?? (reading?.reset7dSecs !== undefined ? reading.reset7dSecs * 1000 : null);
    const start = startingState(reading, capacity, startMs, weeklyResetMs);
    const plan = source.kind === 'trace' && calibrated ? nearestPlan(capacity.window5hCredits) : spec.plan;
    pool.push({ name: spec.name, capacity, start });
    summaries.push({
      name: spec.name,
      plan,
      planSource: source.kind === 'trace' && calibrated ? 'inferred' : spec.planSource,
      capacity,
      capacitySource: calibrated ? 'calibrated' : 'default',
      weeklyResetMs,
      startUtilization5h: start.window5h?.utilization ?? 0,
      startUtilization7d: start.utilization7d ?? 0,
    });
  }
  if (source.kind !== 'trace' && hasAccounts) {
    const missing = [...recordedNames].filter((name) => !planOf.has(name));
    if (missing.length > 0 && source.kind === 'file') {
      warn(`recorded accounts not in --accounts (their traffic is replayed, their state is not): ${missing.join(', ')}`);
    }
  }
  return { pool, summaries, known: new Set(specs.map((s) => s.name)), assigner, warmCosts, weights, calibration };
}

interface FirstReading {
  readonly tsMs: number;
  readonly utilization5h?: number | undefined;
  readonly reset5hSecs?: number | undefined;
  readonly utilization7d?: number | undefined;
  readonly reset7dSecs?: number | undefined;
  /** Credits the reading's own request added (0 for a 429). */
  readonly ownCredits5h: number;
  readonly ownCredits7d: number;
}

/** Each recorded account's first row that reports utilization, with its own request's cost. */
function firstReadings(rows: RowColumns, costs: readonly RequestCost[]): Map<string, FirstReading> {
  const out = new Map<string, FirstReading>();
  for (let i = 0; i < rows.length; i++) {
    const accountId = rows.account[i] as number;
    if (accountId === -1) continue;
    const row = rowAt(rows, i);
    if (row.utilization5h === undefined && row.utilization7d === undefined) continue;
    const account = rows.accountNames[accountId] as string;
    const existing = out.get(account);
    if (existing !== undefined && existing.tsMs <= row.tsMs) continue;
    const cost = costs[rows.request[i] as number] as RequestCost;
    const success = rows.success[i] === 1;
    out.set(account, {
      tsMs: row.tsMs,
      utilization5h: row.utilization5h,
      reset5hSecs: row.reset5hSecs,
      utilization7d: row.utilization7d,
      reset7dSecs: row.reset7dSecs,
      ownCredits5h: success ? cost.credits5h : 0,
      ownCredits7d: success ? cost.credits7d : 0,
    });
  }
  return out;
}

const NO_ROWS: readonly never[] = [];

/** A warm-up request's rows, back from the columns. */
function rowsOf(rows: RowColumns, request: WarmRequest): ReturnType<typeof rowAt>[] {
  const out: ReturnType<typeof rowAt>[] = [];
  for (let i = request.rowStart; i < request.rowEnd; i++) out.push(rowAt(rows, i));
  return out;
}

/** A request held during the warm-up: everything but its rows, which live in the columns. */
interface WarmRequest {
  readonly seq: number;
  readonly arrivalMs: number;
  readonly session: string | null;
  /** The trace's `request_id`, or null. */
  readonly requestId: string | null;
  readonly model: string | null;
  readonly tokens: TokenCounts | null;
  readonly startedWith: number | undefined;
  readonly rowStart: number;
  readonly rowEnd: number;
}

/**
 * What the account held when the trace started: a window already open then (its reset minus its
 * length is before the start) carries its utilization, less the first request's own cost.
 */
function startingState(reading: FirstReading | undefined, capacity: Capacity, startMs: number, weeklyResetMs: number | null): AccountStart {
  if (reading === undefined) return { weeklyAnchorMs: weeklyResetMs };
  let window5h: AccountStart['window5h'];
  if (reading.utilization5h !== undefined && reading.reset5hSecs !== undefined) {
    const resetMs = reading.reset5hSecs * 1000;
    if (resetMs - 18_000_000 <= startMs && resetMs > startMs) {
      window5h = { resetMs, utilization: Math.max(0, reading.utilization5h - reading.ownCredits5h / capacity.window5hCredits) };
    }
  }
  let utilization7d: number | undefined;
  if (weeklyResetMs !== null && reading.utilization7d !== undefined && reading.reset7dSecs !== undefined) {
    const resetMs = reading.reset7dSecs * 1000;
    if (resetMs - 604_800_000 <= startMs && resetMs > startMs) {
      utilization7d = Math.max(0, reading.utilization7d - reading.ownCredits7d / capacity.window7dCredits);
    }
  }
  return { weeklyAnchorMs: weeklyResetMs, window5h, utilization7d };
}

function supports(supported: CostModelMode, requested: CostModelMode): boolean {
  if (requested === 'flat') return true;
  if (requested === 'tokens') return supported === 'tokens' || supported === 'calibrated';
  if (requested === 'deltas') return supported === 'deltas' || supported === 'calibrated';
  return supported === 'calibrated';
}

function needs(mode: CostModelMode): string {
  switch (mode) {
    case 'calibrated':
      return 'token columns, utilization columns and an account column';
    case 'tokens':
      return 'token columns';
    case 'deltas':
      return 'utilization columns and an account column';
    case 'flat':
      return 'nothing';
  }
}
