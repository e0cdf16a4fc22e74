/**
 * @module
 * `generateTrace`: a synthetic team's week, routed through a ground-truth pool by the real
 * `pickAccount` (Maximus by default, like a default proxy) and recorded exactly as the proxy's
 * recorder would: one row per upstream attempt, appended when the response finishes, with the
 * `anthropic-ratelimit-unified-*` values the ground-truth model sent (utilization rounded to 4
 * decimals, resets jittered by up to 2 s, as Anthropic's are).
 */
import { writeFile } from 'node:fs/promises';
import { resolveStrategy, type Strategy } from '@shunt/core';
import { DEFAULT_TOKEN_WEIGHTS, modelFamily, tokenCredits, type TokenWeights } from '../model/costs.js';
import { planCapacity, type Capacity, type PlanName } from '../model/plans.js';
import { createReplayer, type AttemptEvent, type ReplayRequest } from '../replay/replayer.js';
import type { TraceRecord } from '../trace/columns.js';
import { createTraceWriter, type TraceWriter } from '../trace/writer.js';
import { createHeap } from '../util/heap.js';
import { createRandom, type Random } from './random.js';
import { teamDemand, type DemandRequest } from './workload.js';

/** Options for {@link generateTrace}. */
export interface GenerateOptions {
  /** Output file (`.csv`). */
  readonly out: string;
  /** Accounts in the pool. @default 3 */
  readonly accounts?: number | undefined;
  /** Days to generate. @default 7 */
  readonly days?: number | undefined;
  /** Seed. @default 1 */
  readonly seed?: number | string | undefined;
  /** Team members. @default accounts + 1 */
  readonly users?: number | undefined;
  /** First instant, epoch ms. @default Monday 2026-01-05T00:00:00Z */
  readonly startMs?: number | undefined;
  /**
   * Ground-truth capacity as a multiple of the plan defaults, per window (what calibration should
   * recover). @default { window5h: 0.55, window7d: 0.75 }
   */
  readonly capacityScale?: { readonly window5h: number; readonly window7d: number } | undefined;
  /** Strategy the recording proxy used. @default "maximus" */
  readonly strategy?: Strategy | string | undefined;
  /** The recording proxy's sticky TTL, ms. @default 600000 */
  readonly stickyTtlMs?: number | undefined;
  /**
   * The pool, account by account, instead of the plan cycle: each account's plan, and optionally
   * its capacity scale, how far ahead its weekly reset is and how much of its week is spent.
   */
  readonly pool?: readonly PoolOverride[] | undefined;
  /** True credits per token (what Anthropic charges in this world). @default DEFAULT_TOKEN_WEIGHTS */
  readonly weights?: TokenWeights | undefined;
  /** Prompt-cache lifetime the team's client asks for. @default "5m" */
  readonly cacheTtl?: '5m' | '1h' | undefined;
  /** Token cells of a 429 row: left empty, or written as 0 as some recorders do. @default "empty" */
  readonly rateLimitedTokens?: 'empty' | 'zero' | undefined;
  /** Rows are written up to this much later than they finished (a slow, out-of-order recorder), ms. @default 0 */
  readonly writeDelayMs?: number | undefined;
  /** Only demand arriving in [fromMs, toMs) is sent (for a short recording inside a working day). */
  readonly recordWindow?: { readonly fromMs: number; readonly toMs: number } | undefined;
  /** Also write the ground truth here (JSON), which the simulator never reads. */
  readonly truthOut?: string | undefined;
}

/** One account of a hand-made ground-truth pool. */
export interface PoolOverride {
  readonly plan: PlanName;
  /** Capacity as a multiple of the plan default. @default the run's capacityScale */
  readonly scale?: { readonly window5h: number; readonly window7d: number } | undefined;
  /** The weekly reset is this long after the trace's start, ms. */
  readonly weeklyResetInMs?: number | undefined;
  /** Weekly utilization already spent at the start. */
  readonly startUtilization7d?: number | undefined;
}

/** One account of the ground-truth pool. */
export interface GeneratedAccount {
  readonly name: string;
  readonly plan: PlanName;
  readonly capacity: Capacity;
  readonly weeklyResetMs: number;
  readonly startUtilization7d: number;
}

/** What was generated. */
export interface GenerateSummary {
  readonly rows: number;
  readonly requests: number;
  readonly rateLimitedRows: number;
  readonly failedRequests: number;
  readonly accounts: readonly GeneratedAccount[];
  readonly startMs: number;
  readonly endMs: number;
  /** The ground truth, as written to `truthOut`. */
  readonly truth: GroundTruth;
}

/** Schema name of the ground-truth sidecar. */
export const TRUTH_SCHEMA = 'shunt-sim-truth/v1';

/**
 * What really happened in a generated trace, beside it: the true pool and token prices, and each
 * request's true cost. A request's cost depends on routing only through the prompt cache:
 * `credits` when its conversation's cache is live on the account, plus `missCredits` when not.
 */
export interface GroundTruth {
  readonly schema: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly recordedWith: { readonly strategy: string; readonly stickyTtlMs: number; readonly expirySoonSecs: number; readonly maxWaitMs: number };
  /** True credits per token. */
  readonly weights: TokenWeights;
  readonly accounts: readonly GeneratedAccount[];
  /** Arrival order: request id, arrival (epoch ms), session, model, credits on a cache hit, extra credits on a miss, cache TTL ms. */
  readonly requests: ReadonlyArray<readonly [string, number, string, string, number, number, number]>;
}

/** Default first instant: a Monday, UTC midnight. */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 5);

const ACCOUNT_NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const PLAN_CYCLE: readonly PlanName[] = ['max20', 'max5', 'pro', 'max5', 'max20', 'team'];
const REJECTED_LATENCY_MS = 300;
const DAY = 86_400_000;

/** The ground-truth pool for `count` accounts. */
export function groundTruthPool(
  count: number,
  startMs: number,
  random: Random,
  scale: { window5h: number; window7d: number },
  overrides?: readonly PoolOverride[],
): GeneratedAccount[] {
  return Array.from({ length: overrides?.length ?? count }, (_, i) => {
    const override = overrides?.[i];
    const plan = override?.plan ?? (PLAN_CYCLE[i % PLAN_CYCLE.length] as PlanName);
    const base = planCapacity(plan);
    const own = override?.scale ?? scale;
    const name = i < ACCOUNT_NAMES.length ? (ACCOUNT_NAMES[i] as string) : `acct-${i + 1}`;
    // Weekly resets spread over the week, on whole minutes like Anthropic's.
    const drawnOffsetMs = Math.round(((1.3 + i * 2.35) % 7) * DAY + random.between(0, 6) * 3_600_000);
    const resetOffsetMs = override?.weeklyResetInMs ?? drawnOffsetMs;
    // Usage carried over from before the trace grows with how much of the week has passed.
    const elapsedFraction = 1 - resetOffsetMs / (7 * DAY);
    const drawnStart = Math.round(elapsedFraction * random.between(0.4, 0.8) * 100) / 100;
    return {
      name,
      plan,
      capacity: { window5hCredits: base.window5hCredits * own.window5h, window7dCredits: base.window7dCredits * own.window7d },
      weeklyResetMs: Math.floor((startMs + resetOffsetMs) / 60_000) * 60_000,
      startUtilization7d: override?.startUtilization7d ?? drawnStart,
    };
  });
}

/** Generate a trace file. */
export async function generateTrace(options: GenerateOptions): Promise<GenerateSummary> {
  const accountCount = options.accounts ?? 3;
  const days = options.days ?? 7;
  const startMs = options.startMs ?? DEFAULT_START_MS;
  const random = createRandom(options.seed ?? 1);
  const scale = options.capacityScale ?? { window5h: 0.55, window7d: 0.75 };
  const pool = groundTruthPool(accountCount, startMs, random.fork('pool'), scale, options.pool);
  const jitter = random.fork('jitter');
  const delays = random.fork('write-delay');
  const strategy = resolveStrategy(options.strategy ?? 'maximus');
  const writer = createTraceWriter(options.out);
  const weights = options.weights ?? DEFAULT_TOKEN_WEIGHTS;
  const oneHour = options.cacheTtl === '1h';
  const cacheTtlMs = oneHour ? 3_600_000 : 300_000;
  const writeDelayMs = options.writeDelayMs ?? 0;
  const routing = { stickyTtlMs: options.stickyTtlMs ?? 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 };
  const truthRequests: Array<[string, number, string, string, number, number, number]> = [];

  // Rows are appended when their response finishes, as a recorder does.
  const rows = createHeap<Finished>((a, b) => a.finishMs < b.finishMs || (a.finishMs === b.finishMs && a.order < b.order));
  let order = 0;
  let rateLimitedRows = 0;
  let failedRequests = 0;
  let requests = 0;
  const onAttempt = (event: AttemptEvent<Recorded>): void => {
    const served = event.response.status === 200;
    if (!served) rateLimitedRows++;
    // As the proxy's recorder does, every row of a request carries the request's arrival; the
    // attempt itself may come later (after a hold). The row is written when the attempt finishes.
    const tsMs = event.request.arrivalMs;
    const attemptMs = event.atMs;
    const durationMs = served ? event.request.demand.durationMs : REJECTED_LATENCY_MS;
    const h = event.response.headers.toRecord();
    const tokens = event.request.demand.tokens;
    // Anthropic reports what was charged: a miss reads nothing and writes the whole prompt.
    const read = event.cacheHit ? tokens.cacheRead : 0;
    const written = event.cacheHit ? tokens.cacheCreation : tokens.cacheRead + tokens.cacheCreation;
    const record: TraceRecord = {
      tsMs,
      requestId: event.request.requestId,
      session: event.request.demand.session,
      account: event.account,
      model: event.request.demand.model,
      status: event.response.status,
      ...(served
        ? {
            inputTokens: tokens.input,
            outputTokens: tokens.output,
            cacheReadTokens: read,
            cacheCreationTokens: written,
            cacheCreation5mTokens: oneHour ? 0 : written,
            cacheCreation1hTokens: oneHour ? written : 0,
          }
        : options.rateLimitedTokens === 'zero'
          ? { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }
          : {}),
      durationMs,
      utilization5h: readUtilization(h['anthropic-ratelimit-unified-5h-utilization']),
      reset5hSecs: headerReset(h['anthropic-ratelimit-unified-5h-reset'], jitter),
      status5h: h['anthropic-ratelimit-unified-5h-status'],
      utilization7d: readUtilization(h['anthropic-ratelimit-unified-7d-utilization']),
      reset7dSecs: headerReset(h['anthropic-ratelimit-unified-7d-reset'], jitter),
      status7d: h['anthropic-ratelimit-unified-7d-status'],
    };
    rows.push({ finishMs: attemptMs + durationMs + writeDelay(), order: order++, record });
  };
  const writeDelay = (): number => (writeDelayMs > 0 ? Math.round(delays.between(0, writeDelayMs)) : 0);
  const onFailed = (request: Recorded, atMs: number): void => {
    failedRequests++;
    // The proxy answered the client itself: a row without an account.
    const record: TraceRecord = {
      tsMs: request.arrivalMs,
      requestId: request.requestId,
      session: request.demand.session,
      model: request.demand.model,
      status: 429,
      durationMs: Math.max(1, atMs - request.arrivalMs),
    };
    rows.push({ finishMs: Math.max(atMs, request.arrivalMs + 1) + writeDelay(), order: order++, record });
  };

  const replayer = createReplayer<Recorded>({
    strategy,
    pool: pool.map((a) => ({
      name: a.name,
      capacity: a.capacity,
      start: { weeklyAnchorMs: a.weeklyResetMs, utilization7d: a.startUtilization7d },
    })),
    routing,
    startMs,
    onAttempt,
    onFailed,
  });

  const flush = async (untilMs: number): Promise<void> => {
    for (;;) {
      const next = rows.peek();
      if (next === undefined || next.finishMs > untilMs) return;
      rows.pop();
      await writer.write(next.record);
    }
  };

  let lastMs = startMs;
  const window = options.recordWindow;
  for (const demand of teamDemand({ startMs, days, users: options.users ?? pool.length + 1, random: random.fork('team') })) {
    if (window !== undefined && (demand.arrivalMs < window.fromMs || demand.arrivalMs >= window.toMs)) continue;
    const family = modelFamily(demand.model);
    const w = weights[family];
    const t = demand.tokens;
    const writeWeight = oneHour ? w.cacheCreation1h : w.cacheCreation;
    const credits = tokenCredits({ ...t, cacheCreation1h: oneHour ? t.cacheCreation : 0 }, family, weights);
    const missCredits = t.cacheRead * (writeWeight - w.cacheRead);
    const requestId = `r${requests.toString(36)}`;
    // Only a request that caches asks for the 1-hour lifetime (its cache_control carries the ttl).
    const ttlMs = t.cacheRead + t.cacheCreation > 0 ? cacheTtlMs : 300_000;
    truthRequests.push([requestId, demand.arrivalMs, demand.session, demand.model, credits, missCredits, ttlMs]);
    replayer.push({
      seq: requests,
      arrivalMs: demand.arrivalMs,
      session: demand.session,
      credits5h: credits,
      credits7d: credits,
      cacheMissCredits: missCredits,
      cacheTtlMs: ttlMs,
      requestId,
      demand,
    });
    requests++;
    lastMs = demand.arrivalMs;
    // Every later attempt starts at or after this arrival, so rows that finished by now are final.
    if (rows.size > 256) await flush(demand.arrivalMs);
  }
  const endMs = startMs + days * DAY;
  replayer.finish(Math.max(endMs, lastMs));
  await flush(Number.POSITIVE_INFINITY);
  await writer.close();
  const truth: GroundTruth = {
    schema: TRUTH_SCHEMA,
    startMs,
    endMs,
    recordedWith: { strategy: strategy.name, ...routing },
    weights,
    accounts: pool,
    requests: truthRequests,
  };
  if (options.truthOut !== undefined) await writeFile(options.truthOut, `${JSON.stringify(truth)}\n`);
  return { rows: writer.rows, requests, rateLimitedRows, failedRequests, accounts: pool, startMs, endMs, truth };
}

/** The recorded request: the replay's view plus what the recorder writes. */
interface Recorded extends ReplayRequest {
  readonly requestId: string;
  readonly demand: DemandRequest;
}

interface Finished {
  readonly finishMs: number;
  readonly order: number;
  readonly record: TraceRecord;
}

function readUtilization(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return Math.round(Number(value) * 10_000) / 10_000;
}

function headerReset(value: string | undefined, random: Random): number | undefined {
  if (value === undefined) return undefined;
  return Number(value) + random.int(0, 2);
}
