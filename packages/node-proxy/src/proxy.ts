/**
 * @module
 * `createProxy()`: the request path. Every `/v1/*` request is buffered, fingerprinted, routed by
 * `@shunt/core`, forwarded byte for byte with the account's credential, and failed over or held
 * until an account is back, as long as no byte of the answer has reached the client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  classifyResponse,
  classifyStreamError,
  explainPick,
  fingerprint,
  memoryStore,
  recordResponse,
  resolveStrategy,
  soonestAvailableMs,
  type CompleteStateStore,
  type ExplainValue,
  type FailoverPolicy,
  type FailoverReason,
  type PickDecision,
  type PickReason,
  type ResponseAction,
  type StateStore,
  type Strategy,
  type UpstreamOutcome,
} from '@shunt/core';
import type { AccountConfig, ShuntConfig } from './config.js';
import { ConfigError } from './config.js';
import { hostName, isLoopbackHost, isLoopbackOrigin } from './address.js';
import { asksForOneHourCache } from './bytes.js';
import { createControlHandler, type ProxyStatus, statusReport } from './control.js';
import { apiKeyCredential, NEEDS_LOGIN, type Credential } from './credentials.js';
import { allAccountsSpent, anthropicError, anthropicErrorBody, noAccountUsable, requestTimedOut, type AnthropicErrorType, type ProxyErrorResponse } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { jsonLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { plainBackend, type StateBackend } from './state.js';
import { createTraceRecorder, jsonUsageScanner, requestModel, sseUsageScanner, traceRateLimitFields, type TraceRecorder, type UsageScanner, type UsageTokens } from './recorder.js';
import type { BodyObserver, HeldOpening, UpstreamBody } from './relay.js';
import { isEventStream, sseErrorSniffer, sseOpeningScanner, type SseErrorSniffer, type StreamOpening } from './sse.js';
import { cancellation, type Cancellation } from './cancellation.js';
import { upstreamClient, type UpstreamResponse } from './upstream.js';
import { VERSION } from './version.js';

/** An account as the proxy routes it: its config and its credential. */
export interface ProxyAccount {
  /** Unique name (the store keys everything by it). */
  readonly name: string;
  /** Display only. */
  readonly planType: string;
  /** Base URL requests for this account go to. */
  readonly upstreamUrl: string;
  /** How requests are authenticated, or null when the account has none (it is then disabled). */
  readonly credential: Credential | null;
}

/** Options for {@link createProxy}. Only `config` is required. */
export interface ProxyOptions {
  /** The validated configuration (see `loadConfig` / `parseConfig`). */
  readonly config: ShuntConfig;
  /**
   * What the router remembers.
   * @default `state.store`, else memoryStore({ now })
   */
  readonly store?: StateStore | undefined;
  /**
   * The state backend from `openState(config)`: its store is the router's, its health shows in
   * `/status` and `/metrics`, and `close()` saves or flushes it. Takes precedence over `store`.
   * @default none: `store` (or a fresh memory store) is used as it is, unsaved
   */
  readonly state?: StateBackend | undefined;
  /**
   * The clock, in epoch milliseconds: deadlines, holds and the default store.
   * @default Date.now
   */
  readonly now?: (() => number) | undefined;
  /**
   * How a held request waits: resolve after `ms`, reject when `signal` aborts (the client left).
   * @default a timer from node:timers/promises
   */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /**
   * Where log records go.
   * @default JSON lines on stderr at `server.log_level`
   */
  readonly logger?: Logger | undefined;
  /** Overrides of core's failover cooldowns. */
  readonly policy?: Partial<FailoverPolicy> | undefined;
  /**
   * The credential of each account (`context` lets an OAuth credential mark its account
   * `needs_login` in the store; see `oauthCredentials()`).
   * @default an API-key credential when the account has a key, else null (account disabled)
   */
  readonly credential?: ((account: AccountConfig, context: CredentialContext) => Credential | null) | undefined;
  /** Called once per finished request with what happened, for reports and tests. */
  readonly onRequest?: ((record: RequestRecord) => void) | undefined;
  /**
   * Where trace rows go (one per upstream response, see docs/recording.md); null records nothing.
   * A recorder passed here is the caller's to close.
   * @default a recorder for `server.recordTrace` (closed with the proxy), else none
   */
  readonly recorder?: TraceRecorder | null | undefined;
}

/** What a credential factory may use: the proxy's store, log and clock. */
export interface CredentialContext {
  readonly store: CompleteStateStore;
  readonly logger: Logger;
  readonly now: () => number;
}

/** One upstream attempt of a request. */
export interface RequestAttempt {
  /** The account tried. */
  readonly account: string;
  /** Why it was picked. */
  readonly reason: PickReason;
  /** The upstream status, or null for a transport error. */
  readonly status: number | null;
  /** What core's failover policy made of it. */
  readonly action: ResponseAction['kind'];
  /** For a failover: why (`window_exhausted`, `retry_after`, …). */
  readonly failover?: FailoverReason | 'stream_error';
  /** For a failover: how long the account cools down, in milliseconds. */
  readonly cooldownMs?: number;
}

/** What happened to one request, reported to `onRequest` when it ends. */
export interface RequestRecord {
  /** Short request id (also in the log). */
  readonly id: string;
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** When the request arrived, in epoch milliseconds (the proxy's clock). */
  readonly startedMs: number;
  /** From arrival to the end of the response. */
  readonly durationMs: number;
  /** Status sent to the client (0 when none was). */
  readonly status: number;
  /** The account whose answer the client got, or null when the proxy answered itself. */
  readonly account: string | null;
  /** Why that account was picked. */
  readonly reason: PickReason | null;
  /** The strategy in force. */
  readonly strategy: string;
  /** What the strategy weighed for the chosen account (its score, …), when it was a candidate. */
  readonly explain: Readonly<Record<string, ExplainValue>> | null;
  /** Every candidate of the final pick with what the strategy weighed for it, in config order. */
  readonly candidates: PickDecision<ProxyAccount>['candidates'];
  /** True when the answer was a server-sent-event stream. */
  readonly stream: boolean;
  /** Every upstream attempt, in order. */
  readonly attempts: readonly RequestAttempt[];
  /** Time spent held waiting for an account to come back, in milliseconds. */
  readonly heldMs: number;
  /**
   * - `served`: an account's answer reached the client (any status it should see as-is).
   * - `failed_over_out`: every account failed for a reason waiting would not fix; the last
   *   failure was passed on.
   * - `spent`: the proxy answered itself: 429 (no account back within `request_deadline_secs`), 503 (none usable, or shutting down) or 504 (the deadline ran out).
   * - `rejected`: the proxy refused the request itself (404, 401, 403, 413).
   * - `client_gone`: the client disconnected first.
   * - `stream_failed`: the upstream broke off a response already under way.
   */
  readonly outcome: 'served' | 'failed_over_out' | 'spent' | 'rejected' | 'client_gone' | 'stream_failed';
  /** The `error.type` of an error event inside the streamed answer, if one came. */
  readonly streamError: string | null;
}

/** Where the listeners are. */
export interface ProxyAddresses {
  /** Base URL of the proxy (what `ANTHROPIC_BASE_URL` points at). */
  readonly proxyUrl: string;
  /** Base URL of the control API. */
  readonly controlUrl: string;
}

/** A proxy: two listeners around one store. */
export interface ShuntProxy {
  /** Bind the proxy and control listeners; resolves once both accept connections. */
  listen(): Promise<ProxyAddresses>;
  /**
   * Stop accepting, wait up to `graceMs` for requests under way, then abort the rest and release
   * every connection.
   */
  close(options?: { readonly graceMs?: number }): Promise<void>;
  /** The routing state (rate limits, cooldowns, stickiness, pin), with every optional method (see `completeStore`). */
  readonly store: CompleteStateStore;
  /** The accounts, in config order. */
  readonly accounts: readonly ProxyAccount[];
  /** The configuration it runs with. */
  readonly config: ShuntConfig;
  /** The proxy listener's request handler (mount it in your own server if you like). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  /** The control listener's request handler. */
  handleControl(req: IncomingMessage, res: ServerResponse): void;
  /** The strategy in force and where it comes from. */
  strategy(): { readonly name: string; readonly source: 'config' | 'override' };
  /** Override the strategy (a name or alias), or pass null to return to the configured one. */
  setStrategy(name: string | null): string;
  /** The `/status` report. */
  status(): ProxyStatus;
  /** The state backend (memory, redis or custom) and its health. */
  readonly state: StateBackend;
  /** The `/metrics` exposition, in Prometheus text format. */
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/**
 * Create a proxy from a validated configuration. Nothing listens until {@link ShuntProxy.listen}.
 *
 * Throws a `ConfigError` when `server.host` is not a loopback address and `remote_key` or
 * `control_token` is missing: the proxy would hand anyone who can reach it the pooled accounts.
 *
 * @example
 * ```ts
 * const proxy = createProxy({ config: await loadConfig() });
 * const { proxyUrl } = await proxy.listen();
 * console.log(`ANTHROPIC_BASE_URL=${proxyUrl}`);
 * ```
 */
export function createProxy(options: ProxyOptions): ShuntProxy {
  const { config } = options;
  const server = config.server;
  const openHost = !isLoopbackHost(server.host);
  assertSafeBind(config);

  const now = options.now ?? Date.now;
  const state = options.state ?? (options.store === undefined ? plainBackend(memoryStore({ now }), 'memory') : plainBackend(options.store, 'custom'));
  const store = state.store;
  const sleep = options.sleep ?? defaultSleep;
  const logger = options.logger ?? jsonLogger({ level: server.logLevel, now });
  // The per-pick debug record copies every candidate: built only when it is written.
  const debugLogged = logger.isLevelEnabled?.('debug') ?? true;
  const policy = options.policy;
  const onRequest = options.onRequest;
  // What the strategy weighed for each candidate is wanted by onRequest and the debug log only:
  // otherwise the pick lists nothing, and costs what pickAccount does.
  const weighCandidates = onRequest !== undefined || debugLogged;
  const ownsRecorder = options.recorder === undefined && server.recordTrace !== null;
  const recorder: TraceRecorder | null =
    options.recorder !== undefined
      ? options.recorder
      : server.recordTrace === null
        ? null
        : createTraceRecorder({ path: server.recordTrace, maxBytes: server.recordTraceMaxMb * 1024 * 1024, keep: server.recordTraceKeep, logger });
  const makeCredential =
    options.credential ?? ((account: AccountConfig) => (account.apiKey === null ? null : apiKeyCredential(account.apiKey)));

  const accounts: ProxyAccount[] = config.accounts.map((account) => ({
    name: account.name,
    planType: account.planType,
    upstreamUrl: account.upstreamUrl ?? server.upstreamUrl,
    credential: makeCredential(account, { store, logger, now }),
  }));
  const routes = new Map<string, { readonly origin: string; readonly basePath: string }>();
  for (const account of accounts) {
    const url = new URL(account.upstreamUrl);
    routes.set(account.name, { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') });
    if (account.credential === null) {
      const missing = config.accounts.find((a) => a.name === account.name)?.missingCredential ?? 'no credential';
      store.disable(account.name, `no credential: ${missing}`);
    } else if (staleDisabledReason(store.disabledReason(account.name), account.credential)) {
      store.enable(account.name);
    }
  }
  const metrics = createMetrics({ accounts, store, state, recorder });

  const configStrategy = resolveStrategy(server.routingStrategy);
  let strategyOverride: Strategy | null = null;
  const currentStrategy = (): Strategy => strategyOverride ?? configStrategy;
  const stickyTtlMs = server.stickyTtlMinutes * 60_000;
  const expirySoonSecs = server.expirySoonMinutes * 60;
  const timeoutMs = server.requestTimeoutSecs * 1000;
  const deadlineAfterMs = server.requestDeadlineSecs * 1000;
  const clientRetryLimitMs = server.clientRetryLimitSecs * 1000;
  // Why accounts are cooling, as far as this proxy saw: an upstream error to pass on when no
  // account can serve and none is out of capacity.
  const faults = faultMemory(now);
  const maxBodyBytes = Math.floor(server.maxBodyMb * 1024 * 1024);
  const remoteKey = server.remoteKey === null ? null : Buffer.from(server.remoteKey);
  const startedMs = now();

  const upstream = upstreamClient(timeoutMs);

  // Every request under way, so close() can abort them.
  const active = new Set<Cancellation>();
  let held = 0;
  let closing = false;
  let nextId = 0;
  const idPrefix = (startedMs % 1_000_000).toString(36);

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const t0 = now();
    const id = `${idPrefix}-${(nextId++).toString(36)}`;
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const method = req.method ?? 'GET';
    const signal = cancellation();
    res.once('close', () => {
      if (!res.writableFinished) signal.abort(CLIENT_GONE);
    });
    active.add(signal);

    const attempts: RequestAttempt[] = [];
    let heldMs = 0;
    let stream = false;
    let streamError: string | null = null;
    let chosen: {
      account: string;
      reason: PickReason;
      explain: RequestRecord['explain'];
      candidates: RequestRecord['candidates'];
    } | null = null;
    let outcome: RequestRecord['outcome'] = 'served';
    let status = 0;
    // What the answer cost, read from its usage as it went by (empty when unknown).
    let tokens: UsageTokens = NO_TOKENS;

    let routed: (() => void) | null = null;
    const finish = (): void => {
      active.delete(signal);
      routed?.();
      const durationMs = now() - t0;
      const finalOutcome = signal.aborted && outcome !== 'stream_failed' ? 'client_gone' : outcome;
      const account = chosen?.account ?? null;
      const reason = chosen?.reason ?? null;
      // The access log line: no body, no prompt, no credential, no query string.
      const fields = {
        id,
        method,
        path,
        status,
        outcome: finalOutcome,
        account,
        reason,
        attempts: attempts.length,
        failovers: attempts.length <= 1 && attempts[0]?.action !== 'failover' ? NO_FAILOVERS : failoversOf(attempts),
        held_ms: heldMs,
        duration_ms: durationMs,
        stream,
        input_tokens: tokens.inputTokens ?? null,
        output_tokens: tokens.outputTokens ?? null,
        cache_read_tokens: tokens.cacheReadTokens ?? null,
        cache_creation_tokens: tokens.cacheCreationTokens ?? null,
      };
      if (finalOutcome === 'served' || finalOutcome === 'client_gone') logger.info('request', fields);
      else logger.warn('request', fields);
      metrics.observeRequest({ account, outcome: finalOutcome, attempts, heldMs });
      if (onRequest === undefined) return;
      onRequest({
        id,
        method,
        path,
        startedMs: t0,
        durationMs,
        status,
        account,
        reason,
        strategy: currentStrategy().name,
        explain: chosen?.explain ?? null,
        candidates: chosen?.candidates ?? [],
        stream,
        attempts,
        heldMs,
        outcome: finalOutcome,
        streamError,
      });
    };

    const reply = (response: ProxyErrorResponse, why: RequestRecord['outcome'], extra?: Record<string, string>): void => {
      outcome = why;
      status = response.status;
      if (res.headersSent || res.destroyed) return;
      res.writeHead(response.status, { ...response.headers, ...extra, 'content-length': Buffer.byteLength(response.body) });
      res.end(response.body);
    };

    try {
      // 1. Only the API's own paths are forwarded; the upstream comes from config alone.
      if (!path.startsWith('/v1/') || DOT_SEGMENT.test(path) || DOT_SEGMENT.test(decodeDots(path))) {
        reply(anthropicError(404, 'not_found_error', `shunt forwards /v1/* only; no route for ${method} ${path}`), 'rejected');
        return;
      }
      // 2. Who may use the pool.
      const refusal = checkClient(req.headers, remoteKey);
      if (refusal !== null) {
        reply(refusal, 'rejected');
        return;
      }
      // 3. The body, whole, so it can be sent again on failover.
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBodyBytes) {
        req.resume();
        reply(tooLarge(server.maxBodyMb), 'rejected', { connection: 'close' });
        return;
      }
      const body = await readBody(req, maxBodyBytes);
      if (body === TOO_LARGE) {
        reply(tooLarge(server.maxBodyMb), 'rejected', { connection: 'close' });
        return;
      }
      if (body === ABORTED || signal.aborted) return;

      // 4. The conversation, for stickiness.
      const conversation = body.length === 0 ? null : safeFingerprint(body);
      // A request that caches for an hour sticks at least that long (core's pickAccount).
      const promptCacheTtlMs = conversation !== null && asksForOneHourCache(body) ? ONE_HOUR_MS : 0;
      // Trace rows (record_trace): the model name and the fingerprint, never content.
      const model = recorder === null || body.length === 0 ? undefined : requestModel(body);
      let traced = 0;
      const traceRow = (
        account: string | undefined,
        rowStatus: number,
        headers: Readonly<Record<string, string | string[] | undefined>> | null,
        sinceMs: number,
        usage: UsageScanner | null = null,
      ): void => {
        if (recorder === null) return;
        traced++;
        recorder.record({
          tsMs: t0,
          requestId: id,
          session: conversation ?? undefined,
          account,
          model,
          status: rowStatus,
          ...usage?.tokens(),
          durationMs: Math.max(0, now() - sinceMs),
          ...(headers === null ? {} : traceRateLimitFields(headers)),
        });
      };
      // A request the proxy answered itself, with no upstream response to show for it, is still demand.
      routed = () => {
        if (traced === 0 && (outcome === 'spent' || outcome === 'failed_over_out') && status >= 100) traceRow(undefined, status, null, t0);
      };

      // 5. Pick, forward, fail over, hold.
      // Made on the first failover or refresh: most requests need neither.
      let tried: Set<string> | undefined;
      let refreshed: Set<string> | undefined;
      let roundFailures: Array<FailoverReason | 'stream_error'> = [];
      let lastFailure: BufferedResponse | null = null;
      const lastFailureOf = (): BufferedResponse | null => lastFailure;
      // A failure answer is read whole to pass it on; past the deadline it still gets a second.
      const failureReadMs = (): number => Math.min(timeoutMs, Math.max(1_000, deadlineMs - now()));
      // After a successful credential refresh, the same account is retried once.
      let retry: { readonly account: ProxyAccount; readonly reason: PickReason } | null = null;
      // request_deadline_secs bounds the whole request until its answer starts: holds and every
      // attempt (each of which request_timeout_secs bounds on its own).
      const deadlineMs = t0 + deadlineAfterMs;
      // count_tokens has limits of its own: it neither sticks a conversation nor cools an account
      // on a 429, unless the unified headers say the account's window is spent.
      const countTokens = path === COUNT_TOKENS_PATH;
      const fingerprintForPick = countTokens ? null : conversation;
      // Faults are counted per request, by its body: a client's retry of a poison request is the
      // same request, and must not count as a second one against every account.
      // The key (a digest of the body) is made only for a fault that needs confirming. Not as a
      // lazy getter on an object literal: V8 builds such a literal's accessor in the old
      // generation, and one per request ran old-generation collections under load (about 10 µs
      // per request; docs/benchmarks.md).
      let requestKey: string | null = null;
      /** Apply an action to the store; returns the cooldown it actually started (0 for none). */
      const record = (account: ProxyAccount, action: ResponseAction): number => {
        if (countTokens && action.kind === 'failover' && action.reason !== 'window_exhausted') {
          recordResponse(store, account, { kind: 'ignore', rateLimits: action.rateLimits });
          return 0;
        }
        const unconfirmed = action.kind === 'failover' && action.fault === 'unconfirmed';
        return recordResponse(store, account, action, unconfirmed ? { requestKey: (requestKey ??= requestDigest(body)) } : undefined);
      };
      const failover = (
        account: ProxyAccount,
        pickReason: PickReason,
        why: FailoverReason | 'stream_error',
        cooldownMs: number,
        failure: BufferedResponse,
        logFields: Record<string, unknown>,
      ): void => {
        attempts.push({ account: account.name, reason: pickReason, status: failure.transport ? null : failure.status, action: 'failover', failover: why, cooldownMs });
        logger.warn('failover', { id, account: account.name, why, cooldown_ms: cooldownMs, ...logFields });
        faults.remember(account.name, why, failure, cooldownMs);
        lastFailure = failure;
        (tried ??= new Set()).add(account.name);
        roundFailures.push(why);
      };

      for (;;) {
        if (signal.aborted) return;
        if (closing) {
          reply(SHUTTING_DOWN_RESPONSE, 'spent');
          return;
        }
        // Set by failover() (TypeScript cannot see a closure assign it).
        const lastFailure = lastFailureOf();
        if (now() >= deadlineMs) {
          if (lastFailure !== null && !lastFailure.transport) {
            outcome = 'failed_over_out';
            status = lastFailure.status;
            sendBuffered(res, lastFailure);
          } else {
            reply(requestTimedOut(server.requestDeadlineSecs), 'spent');
          }
          return;
        }
        const strategy = currentStrategy();
        const pickOptions = { fingerprint: fingerprintForPick, tried, strategy, stickyTtlMs, promptCacheTtlMs, expirySoonSecs, candidates: weighCandidates };
        let decision: PickDecision<ProxyAccount> =
          retry === null
            ? explainPick(accounts, store, pickOptions)
            : { account: retry.account, reason: retry.reason, strategy: strategy.name, candidates: [], excluded: [] };
        retry = null;
        const account = decision.account;
        // Why each account was left out, for the log lines below: the same decision asked again with
        // its lists (none was picked, so the first asking wrote nothing).
        if (account === null && !weighCandidates) decision = explainPick(accounts, store, { ...pickOptions, candidates: true });

        if (account === null) {
          const t = now();
          const soonestMs = soonestAvailableMs(accounts, store);
          // Waiting cannot help: the pool is exhausted for this request with nothing cooling
          // (request-scoped 429s), or every failure this round was one a wait does not fix.
          if (lastFailure !== null && tried !== undefined && tried.size > 0 && (soonestMs === null || soonestMs <= t || roundFailures.every((r) => !CAPACITY_REASONS.has(r)))) {
            outcome = 'failed_over_out';
            status = lastFailure.status;
            sendBuffered(res, lastFailure);
            return;
          }
          // Only capacity is waited for: an account cooling after a 401, a 403 or repeated 5xx
          // would answer the same again.
          const capacity = soonestCapacity(accounts, store, faults);
          if (capacity === null) {
            const known = faults.mostRelevant(accounts, t);
            if (known !== null) {
              outcome = 'failed_over_out';
              status = known.status;
              sendBuffered(res, known);
            } else {
              reply(noAccountUsable(unusableReasons(accounts, store)), 'spent');
            }
            logger.warn('no account can serve', { id, excluded: decision.excluded.map((e) => `${e.name}:${e.why}`) });
            return;
          }
          const capacityMs = capacity.backMs;
          if (capacityMs > deadlineMs) {
            reply(allAccountsSpent(capacityMs, t, store.rateLimits(capacity.account.name), clientRetryLimitMs), 'spent');
            logger.warn('no account within the wait limit', {
              id,
              soonest_ms: capacityMs,
              retry_after_secs: Math.max(1, Math.ceil((capacityMs - t) / 1000)),
              excluded: decision.excluded.map((e) => `${e.name}:${e.why}`),
            });
            return;
          }
          // Wake when the first account is back (one cooling after a fault may come back before
          // capacity does, and is tried again then): capacity is what makes the wait worth it.
          const waitMs = Math.max(0, (soonestMs ?? capacityMs) - t) + WAKE_MARGIN_MS;
          logger.info('holding request until an account is back', {
            id,
            wait_ms: waitMs,
            excluded: decision.excluded.map((e) => `${e.name}:${e.why}`),
          });
          held += 1;
          try {
            await sleep(waitMs, signal.toSignal());
          } catch (error) {
            if (signal.aborted) return;
            throw error;
          } finally {
            held -= 1;
            heldMs += now() - t;
          }
          // The accounts tried before the wait may be back.
          tried?.clear();
          roundFailures = [];
          continue;
        }

        const candidate = decision.candidates.find((c) => c.name === account.name);
        const pick = { account: account.name, reason: decision.reason, explain: candidate?.explain ?? null, candidates: decision.candidates };
        if (debugLogged) {
          logger.debug('pick', {
            id,
            account: account.name,
            reason: decision.reason,
            strategy: decision.strategy,
            conversation: conversation?.slice(0, 8) ?? null,
            candidates: decision.candidates.map((c) => ({ name: c.name, ...c.explain })),
            excluded: decision.excluded.map((e) => `${e.name}:${e.why}`),
          });
        }

        const route = routes.get(account.name) as { origin: string; basePath: string };
        const credential = account.credential as Credential;
        // An OAuth token about to expire is renewed first (every request waits for the same renewal).
        const renewing = credential.ensureFresh?.(signal.toSignal());
        if (renewing !== undefined) {
          try {
            await renewing;
          } catch (error) {
            if (signal.aborted) return;
            // Refused (the account is now needs_login and out of routing) or unreachable: fail over.
            const failed = classifyResponse({ transportError: error }, { nowMs: now() }, policy);
            // A credential that cannot be renewed is the account's fault, whichever request met it.
            const accountFault: ResponseAction =
              failed.kind === 'failover' ? { kind: 'failover', reason: failed.reason, cooldownMs: failed.cooldownMs, rateLimits: null, fault: 'account' } : failed;
            const cooled = store.disabledReason(account.name) === null ? record(account, accountFault) : 0;
            failover(account, decision.reason, 'unauthorized', cooled, transportFailure(account.name), {
              reason_detail: 'credential_refresh_failed',
              error: errorCode(error),
            });
            continue;
          }
        }
        const sentHeaders = credential.headers();
        const attemptMs = now();
        let response: UpstreamResponse | null = null;
        let transportError: unknown = null;
        try {
          response = await upstream.request({
            origin: route.origin,
            path: route.basePath + url,
            method,
            headers: upstreamRequestHeaders(req.headers, sentHeaders),
            body: body.length === 0 && (method === 'GET' || method === 'HEAD') ? null : body,
            signal,
            headersTimeoutMs: Math.min(timeoutMs, deadlineMs - attemptMs),
          });
        } catch (error) {
          if (signal.aborted) return;
          transportError = error;
        }
        // The body has had its one owner since the response started (upstream.ts), whatever happens next.
        const answerBody = response === null ? null : response.body;
        metrics.observeUpstream(account.name, now() - attemptMs);
        const outcomeOf: UpstreamOutcome =
          response === null ? { transportError } : { status: response.statusCode, headers: response.headers };
        let refusal: Buffer | null = null;
        let action = classifyResponse(
          outcomeOf,
          { nowMs: now(), canRefresh: credential.canRefresh, alreadyRefreshed: refreshed?.has(account.name) === true },
          policy,
        );

        if (action.kind === 'refresh') {
          record(account, action);
          attempts.push({ account: account.name, reason: decision.reason, status: response?.statusCode ?? null, action: 'refresh' });
          // Kept in case the refresh fails: this 401 is then the answer to pass on.
          if (answerBody !== null) refusal = await readFailureBody(answerBody, failureReadMs());
          if (response !== null) traceRow(account.name, response.statusCode, response.headers, attemptMs);
          (refreshed ??= new Set()).add(account.name);
          try {
            if (credential.refresh === undefined) throw new Error('the credential cannot refresh');
            await credential.refresh(signal.toSignal(), sentHeaders);
            retry = { account, reason: decision.reason };
            continue;
          } catch (error) {
            if (signal.aborted) return;
            logger.warn('credential refresh failed', { id, account: account.name, error: errorCode(error) });
            action = classifyResponse(outcomeOf, { nowMs: now(), canRefresh: true, alreadyRefreshed: true }, policy);
          }
        }
        const cooled = record(account, action);

        if (action.kind === 'failover') {
          const failure =
            response === null || answerBody === null
              ? transportFailure(account.name)
              : {
                  account: account.name,
                  status: response.statusCode,
                  headers: response.headers,
                  body: refusal ?? (await readFailureBody(answerBody, failureReadMs())),
                  transport: false,
                };
          if (signal.aborted) return;
          failover(account, decision.reason, action.reason, cooled, failure, {
            status: response?.statusCode ?? null,
            ...(transportError === null ? {} : { error: errorCode(transportError) }),
          });
          if (response !== null) traceRow(account.name, response.statusCode, response.headers, attemptMs);
          continue;
        }

        // success or return: this answer goes to the client, unless a stream opens with an error.
        const answer = response as UpstreamResponse;
        const owned = answerBody as UpstreamBody;
        const sse = action.kind === 'success' && isEventStream(answer.headers['content-type']);
        let sniffer: SseErrorSniffer | null = null;
        if (sse) {
          // The opening (every event before the first content) is held back: an error in it can
          // still fail over, since nothing has reached the client.
          const scanner = sseOpeningScanner();
          let opening: StreamOpening | null = null;
          let openingBytes = 0;
          const held = await owned.hold((chunk) => {
            opening = scanner.push(chunk);
            openingBytes += chunk.length;
            return opening !== null || openingBytes >= STREAM_START_BYTES;
          }, Math.min(timeoutMs, deadlineMs - now()));
          if (signal.aborted) {
            owned.discard();
            return;
          }
          const verdict: StreamOpening | null = held.stop === 'ended' ? scanner.end() : (opening as StreamOpening | null);
          const openingFailure = streamOpeningFailure(held, verdict);
          if (openingFailure !== null) {
            // Nothing has reached the client yet: this stream can still fail over. A break, an end
            // or a stall counts as a transport error, an api_error event as a 5xx (both confirmed
            // as the account's only across requests), an overload or rate limit as itself.
            const nowMs = now();
            const streamAction =
              openingFailure.kind === 'capacity'
                ? classifyStreamError(openingFailure.errorType, { nowMs }, policy)
                : openingFailure.kind === 'server'
                  ? classifyResponse({ status: 500, headers: answer.headers }, { nowMs }, policy)
                  : classifyResponse({ transportError: held.error ?? openingFailure.why }, { nowMs }, policy);
            const streamCooled = record(account, streamAction);
            const failure =
              openingFailure.kind === 'transport'
                ? transportFailure(account.name)
                : streamErrorFailure(account.name, openingFailure, answer.headers);
            owned.discard();
            const why = openingFailure.kind === 'transport' ? 'transport_error' : openingFailure.kind === 'server' ? 'server_error' : 'stream_error';
            failover(account, decision.reason, why, streamCooled, failure, { status: answer.statusCode, detail: openingFailure.why });
            // Recorded as the status the error stands for: the simulator counts a 2xx as served.
            traceRow(account.name, openingFailure.traceStatus, answer.headers, attemptMs);
            continue;
          }
          // Errors after the opening (or ones that say nothing about the account) pass through to
          // the client; rate-limit and overload errors still cool the account for the next request.
          sniffer = sseErrorSniffer((error) => {
            streamError ??= error.type;
            const cooldownMs = record(account, classifyStreamError(error.type, { nowMs: now() }, policy));
            logger.warn('error inside a stream', { id, account: account.name, error_type: error.type, cooldown_ms: cooldownMs });
          });
        }

        attempts.push({ account: account.name, reason: decision.reason, status: answer.statusCode, action: action.kind });
        chosen = pick;
        stream = sse;
        status = answer.statusCode;
        outcome = 'served';
        res.writeHead(answer.statusCode, clientResponseHeaders(answer.headers, account.name));
        // Usage is read for the request log line and the trace row, from the bytes as they go by.
        const usage = sse ? sseUsageScanner() : jsonUsageScanner();
        try {
          await owned.relay(res, sniffer === null ? usage : bothObservers(sniffer, usage), CLIENT_GONE);
        } catch (error) {
          owned.discard();
          if (signal.aborted || error === CLIENT_GONE) return; // the client left; the upstream request is aborted
          outcome = 'stream_failed';
          // The upstream broke off or stalled mid-answer: too late to fail over, but the next
          // request should not go there.
          const cooldownMs = record(account, classifyResponse({ transportError: error }, { nowMs: now() }, policy));
          logger.warn('upstream broke off a response under way', { id, account: account.name, error: errorCode(error), cooldown_ms: cooldownMs });
          res.destroy();
        } finally {
          // Once the answer has ended (or broken off): what it cost, as far as it got.
          tokens = usage.tokens();
          traceRow(account.name, answer.statusCode, answer.headers, attemptMs, usage);
        }
        return;
      }
    } finally {
      if (signal.reason === SHUTTING_DOWN && !res.headersSent && !res.destroyed) reply(SHUTTING_DOWN_RESPONSE, 'spent');
      finish();
    }
  };

  const handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch((error: unknown) => {
      logger.error('request failed inside the proxy', { error: errorCode(error), stack: error instanceof Error ? error.stack : undefined });
      if (!res.headersSent && !res.destroyed) {
        const response = anthropicError(500, 'api_error', 'shunt: internal error');
        res.writeHead(response.status, response.headers);
        res.end(response.body);
      } else {
        res.destroy();
      }
    });
  };

  const proxy: ShuntProxy = {
    store,
    accounts,
    config,
    handleRequest,
    handleControl: (req, res) => control(req, res),
    strategy: () => ({ name: currentStrategy().name, source: strategyOverride === null ? 'config' : 'override' }),
    setStrategy(name) {
      strategyOverride = name === null ? null : resolveStrategy(name);
      logger.info('strategy', { strategy: currentStrategy().name, source: strategyOverride === null ? 'config' : 'override' });
      return currentStrategy().name;
    },
    status: () =>
      statusReport({
        version: VERSION,
        startedMs,
        store,
        accounts,
        strategy: proxy.strategy(),
        inFlight: active.size,
        held,
        state: state.status(),
        recorder,
      }),
    state,
    metrics: () => metrics.render(),
    async listen() {
      proxyServer = createServer({ keepAliveTimeout: 65_000 }, handleRequest);
      controlServer = createServer({ keepAliveTimeout: 5_000 }, proxy.handleControl);
      const proxyPort = await bind(proxyServer, server.port, server.host);
      const controlPort = await bind(controlServer, server.controlPort, server.host).catch(async (error: unknown) => {
        await closeServer(proxyServer);
        throw error;
      });
      const proxyUrl = `http://${urlHost(server.host)}:${proxyPort}`;
      const controlUrl = `http://${urlHost(server.host)}:${controlPort}`;
      logger.info('listening', {
        proxy: proxyUrl,
        control: controlUrl,
        accounts: accounts.map((a) => a.name),
        strategy: currentStrategy().name,
        remote_key: remoteKey !== null,
        control_token: server.controlToken !== null,
      });
      return { proxyUrl, controlUrl };
    },
    async close(closeOptions = {}) {
      const graceMs = closeOptions.graceMs ?? 0;
      const stopping = Promise.all([closeServer(proxyServer), closeServer(controlServer)]);
      proxyServer?.closeIdleConnections();
      controlServer?.closeIdleConnections();
      const until = Date.now() + graceMs;
      while (active.size > 0 && Date.now() < until) await delay(20);
      closing = true;
      for (const request of active) request.abort(SHUTTING_DOWN);
      // Let the aborted requests write their 503 before the connections go.
      if (active.size > 0) await delay(20);
      proxyServer?.closeAllConnections();
      controlServer?.closeAllConnections();
      await stopping;
      await upstream.close();
      proxyServer = null;
      controlServer = null;
      if (ownsRecorder) await recorder?.close();
      // Save the state file, or flush to Redis and disconnect.
      await state.close().catch((error: unknown) => logger.warn('closing the state store failed', { error: errorCode(error) }));
      logger.info('stopped', {});
    },
  };

  let proxyServer: Server | null = null;
  let controlServer: Server | null = null;
  const control = createControlHandler({ proxy, logger, controlToken: server.controlToken, checkHost: !openHost });
  return proxy;
}

/**
 * Throw a `ConfigError` when `server.host` is not a loopback address and `remote_key` or
 * `control_token` is missing (`createProxy` calls it; `shunt start` calls it first, so the refusal
 * is the only line it prints).
 */
export function assertSafeBind(config: ShuntConfig): void {
  const server = config.server;
  if (!isLoopbackHost(server.host) && (server.remoteKey === null || server.controlToken === null)) {
    const missing = [server.remoteKey === null ? 'server.remote_key' : null, server.controlToken === null ? 'server.control_token' : null]
      .filter((key) => key !== null)
      .join(' and ');
    throw new ConfigError(
      config.file,
      'server.host',
      `binding ${server.host} would open the pooled accounts to anyone who can reach this machine; set ${missing}, or bind 127.0.0.1`,
    );
  }
}

/** Reasons a wait can fix: the account is out of capacity for a while, not broken. */
const CAPACITY_REASONS: ReadonlySet<string> = new Set(['window_exhausted', 'retry_after', 'rate_limited', 'overloaded', 'stream_error']);

const NO_TOKENS: UsageTokens = Object.freeze({});
const NO_FAILOVERS: readonly string[] = Object.freeze([]);

function failoversOf(attempts: readonly RequestAttempt[]): string[] {
  const out: string[] = [];
  for (const a of attempts) if (a.action === 'failover') out.push(`${a.account}:${a.failover ?? ''}`);
  return out;
}

/** Added to every hold, so the account is surely back when the request wakes. */
const WAKE_MARGIN_MS = 25;

/** How much of a stream's opening is read (and held back) looking for an error event. */
const STREAM_START_BYTES = 65_536;

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)|\\/;

const CLIENT_GONE = new Error('the client disconnected');
const SHUTTING_DOWN = new Error('the proxy is shutting down');
const SHUTTING_DOWN_RESPONSE = anthropicError(503, 'api_error', 'shunt: the proxy is shutting down');
const TOO_LARGE = Symbol('too large');
const ABORTED = Symbol('aborted');

interface BufferedResponse {
  readonly account: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** True for the proxy's own 502 standing for a transport error (no upstream answer). */
  readonly transport: boolean;
}

const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

/** Reasons an account cools that waiting does not fix: its error is what a request meets. */
const FAULT_RANK: Readonly<Record<string, number>> = { unauthorized: 0, forbidden: 1, server_error: 2, transport_error: 3 };

/** The last fault-caused cooldown of each account, with the upstream answer that caused it. */
interface FaultMemory {
  /** Note a failover: a fault with a cooldown is remembered, anything else forgets the account's. */
  remember(account: string, why: string, failure: BufferedResponse, cooldownMs: number): void;
  /** True when the account's current cooldown is one a fault caused (it ends no sooner). */
  explains(account: string, cooldownUntilMs: number | null): boolean;
  /** The most relevant remembered answer among these accounts (auth errors first), if any is current. */
  mostRelevant(accounts: readonly ProxyAccount[], nowMs: number): BufferedResponse | null;
}

function faultMemory(now: () => number): FaultMemory {
  const entries = new Map<string, { readonly rank: number; readonly failure: BufferedResponse; readonly untilMs: number }>();
  return {
    remember(account, why, failure, cooldownMs) {
      const rank = FAULT_RANK[why];
      if (rank === undefined || cooldownMs <= 0) {
        if (rank === undefined) entries.delete(account);
        return;
      }
      entries.set(account, { rank, failure, untilMs: now() + cooldownMs });
    },
    explains(account, cooldownUntilMs) {
      const entry = entries.get(account);
      return entry !== undefined && cooldownUntilMs !== null && entry.untilMs >= cooldownUntilMs - 1;
    },
    mostRelevant(accounts, nowMs) {
      let best: { readonly rank: number; readonly failure: BufferedResponse } | null = null;
      for (const { name } of accounts) {
        const entry = entries.get(name);
        if (entry === undefined || entry.untilMs <= nowMs) continue;
        if (best === null || entry.rank < best.rank) best = entry;
      }
      return best?.failure ?? null;
    },
  };
}

/**
 * The account out of *capacity* (a rejected window, a 429, an overload, or a cooldown this proxy
 * cannot explain, such as another instance's) that is back first, and when; null when none is:
 * every account is disabled or cooling after a fault.
 */
function soonestCapacity(
  accounts: readonly ProxyAccount[],
  store: CompleteStateStore,
  faults: FaultMemory,
): { readonly account: ProxyAccount; readonly backMs: number } | null {
  let soonest: { account: ProxyAccount; backMs: number } | null = null;
  for (const account of accounts) {
    if (store.disabledReason(account.name) !== null) continue;
    if (!store.isExhausted(account.name) && faults.explains(account.name, store.cooldownUntilMs(account.name))) continue;
    const backMs = soonestAvailableMs([account], store);
    if (backMs !== null && (soonest === null || backMs < soonest.backMs)) soonest = { account, backMs };
  }
  return soonest;
}

/** Why each account is out, for the 503 of a pool where nothing comes back on its own. */
function unusableReasons(accounts: readonly ProxyAccount[], store: CompleteStateStore): string[] {
  return accounts.map((account) => {
    const disabled = store.disabledReason(account.name);
    return `${account.name}: ${disabled ?? 'cooling after upstream errors'}`;
  });
}

/**
 * Whether a stream's held opening makes the attempt a failure that can still fail over: an error
 * event before any content (rate limit, overload, or the API's own `api_error`), a body that
 * broke off or ended before any content, or a deadline that passed first.
 */
function streamOpeningFailure(
  held: HeldOpening,
  verdict: StreamOpening | null,
):
  | { readonly kind: 'transport'; readonly why: string; readonly traceStatus: number }
  | {
      readonly kind: 'capacity' | 'server';
      readonly errorType: 'rate_limit_error' | 'overloaded_error' | 'api_error';
      /** The event's own message, if it had one. */
      readonly message: string | undefined;
      readonly why: string;
      readonly traceStatus: number;
    }
  | null {
  if (held.stop === 'failed') return { kind: 'transport', why: 'the stream broke off before any content', traceStatus: 502 };
  if (held.stop === 'timeout') return { kind: 'transport', why: 'no content within the time allowed', traceStatus: 504 };
  if (verdict === null || verdict.kind === 'content') return null;
  if (verdict.kind === 'ended') return { kind: 'transport', why: 'the stream ended before any content', traceStatus: 502 };
  const type = verdict.error.type;
  const why = `stream opened with ${type}`;
  const message = verdict.error.message;
  if (type === 'rate_limit_error') return { kind: 'capacity', errorType: type, message, why, traceStatus: 429 };
  if (type === 'overloaded_error') return { kind: 'capacity', errorType: type, message, why, traceStatus: 529 };
  if (type === 'api_error') return { kind: 'server', errorType: type, message, why, traceStatus: 500 };
  // Any other error (invalid_request_error, …) is about the request: every account would say it.
  return null;
}

/** Read a failure answer's body (at most 64 KiB, for passing on), then let the body go. */
async function readFailureBody(body: UpstreamBody, timeoutMs: number): Promise<Buffer> {
  let size = 0;
  await body.hold((chunk) => (size += chunk.length) >= FAILURE_BODY_BYTES, timeoutMs);
  const bytes = Buffer.concat(body.held);
  body.discard();
  return bytes.length > FAILURE_BODY_BYTES ? bytes.subarray(0, FAILURE_BODY_BYTES) : bytes;
}

const FAILURE_BODY_BYTES = 65_536;

/** A short digest of a request body: the key faults are counted by (computed only on a failure). */
function requestDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 22);
}

/** `%2e`, `%2f` and `%5c` decoded, so an encoded dot segment is refused like a plain one. */
function decodeDots(path: string): string {
  return path.includes('%') ? path.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\') : path;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/** The last Host header found to name this machine: a client sends the same one every time, so it is checked once. */
let loopbackHostSeen: string | null = null;

/** Refuse what must not reach the pool: a missing remote key, or a web page (DNS rebinding, CSRF). */
function checkClient(headers: IncomingHttpHeaders, remoteKey: Buffer | null): ProxyErrorResponse | null {
  if (remoteKey !== null) {
    const presented = headers['x-api-key'] ?? bearer(headers['authorization']);
    if (typeof presented !== 'string' || !safeEqual(Buffer.from(presented), remoteKey)) {
      return anthropicError(401, 'authentication_error', 'shunt: invalid or missing key (this proxy requires its remote_key as x-api-key)');
    }
    return null;
  }
  // Without a key, only this machine's own programs may use the pool: a page in a browser that
  // reaches 127.0.0.1 through a rebound DNS name, or posts to it cross-site, is refused.
  const host = headers.host;
  if (host !== undefined && host !== loopbackHostSeen) {
    if (!isLoopbackHost(hostName(host))) {
      return anthropicError(403, 'permission_error', `shunt: refusing a request addressed to ${JSON.stringify(host)}; set server.remote_key to serve other hosts`);
    }
    loopbackHostSeen = host;
  }
  const origin = headers.origin;
  if (origin !== undefined && !isLoopbackOrigin(origin)) {
    return anthropicError(403, 'permission_error', 'shunt: refusing a cross-site request from a web page');
  }
  return null;
}

function bearer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(value);
  return match === null ? undefined : (match[1] as string).trim();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function tooLarge(maxBodyMb: number): ProxyErrorResponse {
  return anthropicError(413, 'request_too_large', `shunt: the request body is larger than max_body_mb (${maxBodyMb} MiB)`);
}

// The body's JSON is the API's to check (an invalid body gets its 400 from upstream, as it would
// directly), so the fingerprint checks only what it reads and skims the rest of the conversation:
// about 3 µs instead of 8 on a 10 KB body, the largest single piece of the proxy's own work.
function safeFingerprint(body: Buffer): string | null {
  try {
    return fingerprint(body, { validate: false });
  } catch {
    return null;
  }
}

/** Show each chunk to two observers (the SSE error sniffer and the trace's usage scanner). */
function bothObservers(a: BodyObserver, b: BodyObserver): BodyObserver {
  return {
    push(chunk) {
      a.push(chunk);
      b.push(chunk);
    },
    end() {
      a.end();
      b.end();
    },
  };
}

const ONE_HOUR_MS = 3_600_000;

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | typeof TOO_LARGE | typeof ABORTED> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (value: Buffer | typeof TOO_LARGE | typeof ABORTED): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        done(TOO_LARGE);
        req.resume(); // drain the rest so the 413 can be read
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    const onError = (): void => done(ABORTED);
    const onClose = (): void => {
      if (!req.complete) done(ABORTED);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * A stream that opened with an error event, kept as the answer it stands for: the JSON error the
 * API gives before a stream starts (429, 529 or 500, with the upstream's headers). It is what the
 * client gets when every account failed this way, and what later requests get while the accounts
 * cool (the most relevant error), streamed or not: a plain request must not be handed an event
 * stream that the SDK then returns as if it were a message.
 */
function streamErrorFailure(
  account: string,
  error: { readonly errorType: AnthropicErrorType; readonly message: string | undefined; readonly traceStatus: number },
  headers: BufferedResponse['headers'],
): BufferedResponse {
  return {
    account,
    status: error.traceStatus,
    headers: { ...headers, 'content-type': 'application/json' },
    body: Buffer.from(anthropicErrorBody(error.errorType, error.message ?? `the upstream stream opened with ${error.errorType}`)),
    transport: false,
  };
}

function transportFailure(account: string): BufferedResponse {
  const error = anthropicError(502, 'api_error', 'shunt: upstream request failed');
  return { account, status: error.status, headers: error.headers, body: Buffer.from(error.body), transport: true };
}

function sendBuffered(res: ServerResponse, response: BufferedResponse): void {
  if (res.headersSent || res.destroyed) return;
  const headers = clientResponseHeaders(response.headers, response.account);
  headers['content-length'] = response.body.length;
  res.writeHead(response.status, headers);
  res.end(response.body);
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function bind(srv: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    srv.once('error', onError);
    srv.listen(port, host, () => {
      srv.off('error', onError);
      resolve((srv.address() as AddressInfo).port);
    });
  });
}

function closeServer(srv: Server | null): Promise<void> {
  if (srv === null || !srv.listening) return Promise.resolve();
  return new Promise((resolve) => srv.close(() => resolve()));
}

function urlHost(host: string): string {
  const display = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return display.includes(':') ? `[${display}]` : display;
}

/**
 * A disabled reason restored from an earlier run that no longer holds: the account had no
 * credential and has one now, or it needed a login and its credential now is one that never
 * refreshes (an API key in the config or the credentials file), so no login can be missing.
 */
function staleDisabledReason(reason: string | null, credential: Credential): boolean {
  return reason?.startsWith('no credential: ') === true || (reason === NEEDS_LOGIN && !credential.canRefresh);
}
