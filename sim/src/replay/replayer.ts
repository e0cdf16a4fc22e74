/**
 * @module
 * One strategy's replay: a discrete-event loop on a virtual clock. Requests arrive in time order
 * (`push`); each goes through the real `pickAccount` on a `memoryStore` that reads the virtual
 * clock, the modelled account answers with Anthropic-style headers, and the real
 * `classifyResponse` / `recordResponse` decide and record what happens next, exactly as the proxy
 * does. A request that finds no eligible account waits for the soonest account to return (up to
 * the max wait) in a hold queue that is drained as the clock passes each wake-up time.
 */
import {
  classifyResponse,
  memoryStore,
  pickAccount,
  recordResponse,
  soonestAvailableMs,
  type Account,
  type ResponseAction,
  type Strategy,
} from '@shunt/core';
import { createPromptCacheState } from '../model/prompt-cache.js';
import { createAccountModel, type AccountModel, type AccountStart, type ModelResponse } from '../model/account.js';
import type { Capacity } from '../model/plans.js';
import { createMetrics, type StrategyReport, type TimelinePoint } from '../report/metrics.js';
import { createHeap } from '../util/heap.js';

/** A request as the replay needs it: when, which conversation, and what it costs. */
export interface ReplayRequest {
  /** Replay order (ties in `arrivalMs` are served in `seq` order). */
  readonly seq: number;
  /** Arrival on the virtual clock, epoch ms. */
  readonly arrivalMs: number;
  /** Conversation key used as the sticky fingerprint; null for none. */
  readonly session: string | null;
  /**
   * The trace's `request_id`: a 5xx or transport error cools an account only once several distinct
   * requests failed on it. Absent: the request is known by its `seq`.
   */
  readonly requestId?: string | null | undefined;
  /** Cost against a 5-hour window, in credits. */
  readonly credits5h: number;
  /** Cost against a weekly window, in credits. */
  readonly credits7d: number;
  /**
   * Extra credits, in both windows, when the request lands on an account where its conversation
   * has no live prompt cache (its cached prefix is written there instead of read). @default 0
   */
  readonly cacheMissCredits?: number | undefined;
  /** How long a served request keeps its conversation's cache live on that account, ms. @default 300000 */
  readonly cacheTtlMs?: number | undefined;
}

/** An account of the simulated pool. */
export interface PoolAccount {
  /** Account name. */
  readonly name: string;
  /** Credits per window. */
  readonly capacity: Capacity;
  /** Weekly schedule and state at the start of the replay. */
  readonly start: AccountStart;
}

/** Routing settings, as in the proxy's config. */
export interface RoutingSettings {
  /** Sticky TTL, ms. */
  readonly stickyTtlMs: number;
  /** Reaper's "expiring soon" horizon, seconds. */
  readonly expirySoonSecs: number;
  /** Longest a request is held waiting for an account, ms. */
  readonly maxWaitMs: number;
}

/** One attempt as it happened, for observers (the generator records these as trace rows). */
export interface AttemptEvent<R extends ReplayRequest> {
  readonly request: R;
  readonly account: string;
  /** When the attempt started, epoch ms. */
  readonly atMs: number;
  /** 1 for the request's first attempt. */
  readonly attempt: number;
  readonly response: ModelResponse;
  readonly action: ResponseAction;
  /** False when the conversation's prompt cache was not live on the account (the prefix is written). */
  readonly cacheHit: boolean;
}

/** Options for {@link createReplayer}. */
export interface ReplayerOptions<R extends ReplayRequest> {
  readonly strategy: Strategy;
  readonly pool: readonly PoolAccount[];
  readonly routing: RoutingSettings;
  /** Virtual time the replay starts at (weekly schedules are aligned to it), epoch ms. */
  readonly startMs: number;
  /** Timeline bucket for charts, ms; null for none. @default null */
  readonly timelineStepMs?: number | null | undefined;
  /** Called for every attempt. */
  readonly onAttempt?: ((event: AttemptEvent<R>) => void) | undefined;
  /** Called when a request fails for good. */
  readonly onFailed?: ((request: R, atMs: number) => void) | undefined;
}

/** A strategy's replay, fed one request at a time in arrival order. */
export interface Replayer<R extends ReplayRequest> {
  /** The strategy's name. */
  readonly name: string;
  /** Deliver the next request (arrival times must not decrease). */
  push(request: R): void;
  /** Serve whatever is still held, advance every account to `endMs`, and report. */
  finish(endMs: number): ReplayResult;
}

/** What a replay produced. */
export interface ReplayResult {
  readonly report: StrategyReport;
  readonly timeline: { readonly stepMs: number; readonly points: readonly TimelinePoint[] } | null;
}

/** A wait shorter than this is rounded up, so a request that is woken early never spins. */
const MIN_HOLD_STEP_MS = 1_000;

/**
 * Create a replayer for one strategy.
 *
 * @example
 * ```ts
 * const replayer = createReplayer({ strategy: strategies.maximus, pool, routing, startMs });
 * for (const request of requests) replayer.push(request);
 * const { report } = replayer.finish(endMs);
 * ```
 */
export function createReplayer<R extends ReplayRequest>(options: ReplayerOptions<R>): Replayer<R> {
  const { strategy, routing, onAttempt, onFailed } = options;
  let clockMs = options.startMs;
  const store = memoryStore({ now: () => clockMs });
  const models: AccountModel[] = options.pool.map((a) => createAccountModel(a.name, a.capacity, options.startMs, a.start));
  // pickAccount hands back the very objects it is given, so each carries its model.
  const accounts: RoutedAccount[] = models.map((model) => ({ name: model.name, model }));
  const metrics = createMetrics({ accounts: models, maxWaitMs: routing.maxWaitMs, timelineStepMs: options.timelineStepMs ?? null });
  const holds = createHeap<Held<R>>((a, b) => a.wakeMs < b.wakeMs || (a.wakeMs === b.wakeMs && a.request.seq < b.request.seq));
  const tried = new Set<string>();
  const cache = createPromptCacheState(models.length);
  const indexOf = new Map(models.map((model, i) => [model.name, i]));
  const pickOptions = {
    fingerprint: null as string | null,
    tried,
    strategy,
    stickyTtlMs: routing.stickyTtlMs,
    promptCacheTtlMs: 0,
    expirySoonSecs: routing.expirySoonSecs,
  };
  // One context and one set of record options, updated per call: core reads them and keeps nothing.
  const classifyContext = { nowMs: clockMs };
  const recordOptions = { requestKey: '' };
  let requests = 0;
  let lastArrivalMs = Number.NEGATIVE_INFINITY;

  /** Route one request at `clockMs`, trying accounts until one serves it or none is left; `wasHeld` when it is a retry after a hold. */
  const route = (request: R, wasHeld: boolean): void => {
    // Set#clear allocates a fresh table even when empty, and most requests never fail over.
    if (tried.size > 0) tried.clear();
    const session = request.session;
    pickOptions.fingerprint = session;
    // As the proxy does: a request that caches for an hour sticks at least that long.
    pickOptions.promptCacheTtlMs = (request.cacheTtlMs ?? 0) >= ONE_HOUR_MS ? ONE_HOUR_MS : 0;
    recordOptions.requestKey = request.requestId ?? `#${String(request.seq)}`;
    let attempt = 0;
    for (;;) {
      const stuck = session === null ? null : store.getSticky(session);
      const account = pickAccount(accounts, store, pickOptions);
      if (account === null) {
        block(request, wasHeld);
        return;
      }
      if (session !== null) metrics.picked(stuck === account.name);
      const index = indexOf.get(account.name) as number;
      const expiries = session === null ? undefined : cache.get(session, clockMs);
      const cacheHit = expiries === undefined || (expiries[index] as number) > clockMs;
      const missCredits = cacheHit ? 0 : (request.cacheMissCredits ?? 0);
      const response = account.model.respond(clockMs, request.credits5h + missCredits, request.credits7d + missCredits);
      // The modelled response is already the { status, headers } classifyResponse reads.
      classifyContext.nowMs = clockMs;
      const action = classifyResponse(response, classifyContext);
      recordResponse(store, account, action, recordOptions);
      attempt++;
      onAttempt?.({ request, account: account.name, atMs: clockMs, attempt, response, action, cacheHit });
      if (action.kind === 'success') {
        metrics.served(session, account.name, clockMs, clockMs - request.arrivalMs);
        if (expiries !== undefined) {
          // Routing caused the miss when another account still held this conversation's cache.
          if (!cacheHit && missCredits > 0) metrics.cacheMissed(liveElsewhere(expiries, index, clockMs), missCredits);
          expiries[index] = clockMs + (request.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS);
        }
        return;
      }
      if (action.kind !== 'failover') {
        // The model only answers 200 or 429, which classify as success or failover.
        throw new Error(`replay: unexpected ${action.kind} for a modelled ${response.status}`);
      }
      metrics.rateLimited();
      tried.add(account.name);
    }
  };

  const block = (request: R, wasHeld: boolean): void => {
    const deadlineMs = request.arrivalMs + routing.maxWaitMs;
    const soonest = soonestAvailableMs(accounts, store);
    const backMs = soonest === null ? Number.POSITIVE_INFINITY : Math.max(soonest, clockMs + MIN_HOLD_STEP_MS);
    const willWait = backMs <= deadlineMs;
    metrics.blocked(clockMs, Math.min(backMs, Math.max(deadlineMs, clockMs)), willWait && !wasHeld);
    if (!willWait) {
      metrics.failed(clockMs - request.arrivalMs);
      onFailed?.(request, clockMs);
      return;
    }
    holds.push({ request, wakeMs: backMs });
  };

  const runHoldsUntil = (untilMs: number): void => {
    for (;;) {
      const next = holds.peek();
      if (next === undefined || next.wakeMs > untilMs) return;
      holds.pop();
      setClock(next.wakeMs);
      route(next.request, true);
    }
  };

  const setClock = (atMs: number): void => {
    if (atMs > clockMs) clockMs = atMs;
    metrics.tick(clockMs);
  };

  return {
    name: strategy.name,
    push(request) {
      if (request.arrivalMs < lastArrivalMs) {
        throw new RangeError(`replay: request ${request.seq} arrives at ${request.arrivalMs}, before the previous arrival`);
      }
      lastArrivalMs = request.arrivalMs;
      runHoldsUntil(request.arrivalMs);
      setClock(request.arrivalMs);
      requests++;
      route(request, false);
    },
    finish(endMs) {
      runHoldsUntil(Number.POSITIVE_INFINITY);
      const end = Math.max(endMs, clockMs);
      setClock(end);
      for (const model of models) model.close(end);
      return { report: metrics.report(strategy.name, requests), timeline: metrics.timeline() };
    },
  };
}

const ONE_HOUR_MS = 3_600_000;
/** Anthropic's default prompt-cache lifetime. */
const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
/** Whether another account than `index` holds a live cache at `nowMs`. */
function liveElsewhere(expiries: Float64Array, index: number, nowMs: number): boolean {
  for (let i = 0; i < expiries.length; i++) if (i !== index && (expiries[i] as number) > nowMs) return true;
  return false;
}

interface RoutedAccount extends Account {
  readonly model: AccountModel;
}

interface Held<R> {
  readonly request: R;
  readonly wakeMs: number;
}
