/**
 * @module
 * `generateTrace`: a synthetic team's week, routed through a ground-truth pool by the real
 * `pickAccount` (Maximus by default, like a default proxy) and recorded exactly as the proxy's
 * recorder would: one row per upstream attempt, appended when the response finishes, with the
 * `anthropic-ratelimit-unified-*` values the ground-truth model sent (utilization rounded to 4
 * decimals, resets jittered by up to 2 s, as Anthropic's are).
 */
import { resolveStrategy, type Strategy } from '@shunt/core';
import { modelFamily, tokenCredits } from '../model/costs.js';
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
}

/** Default first instant: a Monday, UTC midnight. */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 5);

const ACCOUNT_NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const PLAN_CYCLE: readonly PlanName[] = ['max20', 'max5', 'pro', 'max5', 'max20', 'team'];
const REJECTED_LATENCY_MS = 300;
const DAY = 86_400_000;

/** The ground-truth pool for `count` accounts. */
export function groundTruthPool(count: number, startMs: number, random: Random, scale: { window5h: number; window7d: number }): GeneratedAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const plan = PLAN_CYCLE[i % PLAN_CYCLE.length] as PlanName;
    const base = planCapacity(plan);
    const name = i < ACCOUNT_NAMES.length ? (ACCOUNT_NAMES[i] as string) : `acct-${i + 1}`;
    // Weekly resets spread over the week, on whole minutes like Anthropic's.
    const resetOffsetMs = Math.round(((1.3 + i * 2.35) % 7) * DAY + random.between(0, 6) * 3_600_000);
    // Usage carried over from before the trace grows with how much of the week has passed.
    const elapsedFraction = 1 - resetOffsetMs / (7 * DAY);
    return {
      name,
      plan,
      capacity: { window5hCredits: base.window5hCredits * scale.window5h, window7dCredits: base.window7dCredits * scale.window7d },
      weeklyResetMs: Math.floor((startMs + resetOffsetMs) / 60_000) * 60_000,
      startUtilization7d: Math.round(elapsedFraction * random.between(0.4, 0.8) * 100) / 100,
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
  const pool = groundTruthPool(accountCount, startMs, random.fork('pool'), scale);
  const jitter = random.fork('jitter');
  const strategy = resolveStrategy(options.strategy ?? 'maximus');
  const writer = createTraceWriter(options.out);

  // Rows are appended when their response finishes, as a recorder does.
  const rows = createHeap<Finished>((a, b) => a.finishMs < b.finishMs || (a.finishMs === b.finishMs && a.order < b.order));
  let order = 0;
  let rateLimitedRows = 0;
  let failedRequests = 0;
  let requests = 0;
  const onAttempt = (event: AttemptEvent<Recorded>): void => {
    const served = event.response.status === 200;
    if (!served) rateLimitedRows++;
    // The replay has no network latency: a retry starts the instant the 429 is classified.
    const tsMs = event.atMs;
    const durationMs = served ? event.request.demand.durationMs : REJECTED_LATENCY_MS;
    const h = event.response.headers.toRecord();
    const record: TraceRecord = {
      tsMs,
      requestId: event.request.requestId,
      session: event.request.demand.session,
      account: event.account,
      model: event.request.demand.model,
      status: event.response.status,
      ...(served
        ? {
            inputTokens: event.request.demand.tokens.input,
            outputTokens: event.request.demand.tokens.output,
            cacheReadTokens: event.request.demand.tokens.cacheRead,
            cacheCreationTokens: event.request.demand.tokens.cacheCreation,
          }
        : {}),
      durationMs,
      utilization5h: readUtilization(h['anthropic-ratelimit-unified-5h-utilization']),
      reset5hSecs: headerReset(h['anthropic-ratelimit-unified-5h-reset'], jitter),
      status5h: h['anthropic-ratelimit-unified-5h-status'],
      utilization7d: readUtilization(h['anthropic-ratelimit-unified-7d-utilization']),
      reset7dSecs: headerReset(h['anthropic-ratelimit-unified-7d-reset'], jitter),
      status7d: h['anthropic-ratelimit-unified-7d-status'],
    };
    rows.push({ finishMs: tsMs + durationMs, order: order++, record });
  };
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
    rows.push({ finishMs: Math.max(atMs, request.arrivalMs + 1), order: order++, record });
  };

  const replayer = createReplayer<Recorded>({
    strategy,
    pool: pool.map((a) => ({
      name: a.name,
      capacity: a.capacity,
      start: { weeklyAnchorMs: a.weeklyResetMs, utilization7d: a.startUtilization7d },
    })),
    routing: { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 },
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
  for (const demand of teamDemand({ startMs, days, users: options.users ?? accountCount + 1, random: random.fork('team') })) {
    const credits = tokenCredits(demand.tokens, modelFamily(demand.model));
    replayer.push({
      seq: requests,
      arrivalMs: demand.arrivalMs,
      session: demand.session,
      credits5h: credits,
      credits7d: credits,
      requestId: `r${requests.toString(36)}`,
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
  return { rows: writer.rows, requests, rateLimitedRows, failedRequests, accounts: pool, startMs, endMs };
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
