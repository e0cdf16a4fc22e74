/**
 * @module
 * `createProxy()`: the request path. Every `/v1/*` request is buffered, fingerprinted, routed by
 * `@shunt/core`, forwarded byte for byte with the account's credential, and failed over or held
 * until an account is back, as long as no byte of the answer has reached the client.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
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
import { createControlHandler, type ProxyStatus, statusReport } from './control.js';
import { apiKeyCredential, type Credential } from './credentials.js';
import { allAccountsSpent, anthropicError, type ProxyErrorResponse } from './errors.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import { jsonLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { plainBackend, type StateBackend } from './state.js';
import { createTraceRecorder, jsonUsageScanner, requestModel, sseUsageScanner, traceRateLimitFields, type TraceRecorder, type UsageScanner, type UsageTokens } from './recorder.js';
import { isEventStream, sseErrorSniffer, type SseError, type SseErrorSniffer } from './sse.js';
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
  readonly store: StateStore;
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
  /** For a failover: why (`window_rejected`, `retry_after`, …). */
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
   * - `spent`: nothing came back in time; the proxy answered 503.
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
  /** The routing state (rate limits, cooldowns, stickiness, pin). */
  readonly store: StateStore;
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
    } else if (store.disabledReason(account.name)?.startsWith('no credential: ') === true) {
      // Restored from a run when the account had no key; it has one now.
      store.enable(account.name);
    }
  }
  const metrics = createMetrics({ accounts, store, state });

  const configStrategy = resolveStrategy(server.routingStrategy);
  let strategyOverride: Strategy | null = null;
  const currentStrategy = (): Strategy => strategyOverride ?? configStrategy;
  const stickyTtlMs = server.stickyTtlMinutes * 60_000;
  const expirySoonSecs = server.expirySoonMinutes * 60;
  const timeoutMs = server.requestTimeoutSecs * 1000;
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
      if (!path.startsWith('/v1/') || DOT_SEGMENT.test(path)) {
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
      const tried = new Set<string>();
      const refreshed = new Set<string>();
      let roundFailures: Array<FailoverReason | 'stream_error'> = [];
      let lastFailure: BufferedResponse | null = null;
      // After a successful credential refresh, the same account is retried once.
      let retry: { readonly account: ProxyAccount; readonly reason: PickReason } | null = null;
      const deadlineMs = t0 + timeoutMs;

      for (;;) {
        if (signal.aborted) return;
        if (closing) {
          reply(SHUTTING_DOWN_RESPONSE, 'spent');
          return;
        }
        const strategy = currentStrategy();
        const decision: PickDecision<ProxyAccount> =
          retry === null
            ? explainPick(accounts, store, { fingerprint: conversation, tried, strategy, stickyTtlMs, expirySoonSecs })
            : { account: retry.account, reason: retry.reason, strategy: strategy.name, candidates: [], excluded: [] };
        retry = null;
        const account = decision.account;

        if (account === null) {
          const t = now();
          const soonestMs = soonestAvailableMs(accounts, store);
          // Waiting cannot help: the pool is exhausted for this request with nothing cooling
          // (request-scoped 429s), or every failure this round was one a wait does not fix.
          if (lastFailure !== null && tried.size > 0 && (soonestMs === null || soonestMs <= t || roundFailures.every((r) => !CAPACITY_REASONS.has(r)))) {
            outcome = 'failed_over_out';
            status = lastFailure.status;
            sendBuffered(res, lastFailure);
            return;
          }
          if (soonestMs === null || soonestMs > deadlineMs) {
            reply(allAccountsSpent(soonestMs, t), 'spent');
            logger.warn('no account within the wait limit', {
              id,
              soonest_ms: soonestMs,
              retry_after_secs: soonestMs === null ? null : Math.max(1, Math.ceil((soonestMs - t) / 1000)),
              excluded: decision.excluded.map((e) => `${e.name}:${e.why}`),
            });
            return;
          }
          const waitMs = Math.max(0, soonestMs - t) + WAKE_MARGIN_MS;
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
          tried.clear();
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
            if (store.disabledReason(account.name) === null) recordResponse(store, account.name, failed, { requestKey: id });
            attempts.push({ account: account.name, reason: decision.reason, status: null, action: 'failover', failover: 'unauthorized' });
            logger.warn('failover', { id, account: account.name, why: 'credential_refresh_failed', error: errorCode(error) });
            lastFailure = transportFailure(account.name);
            tried.add(account.name);
            roundFailures.push('unauthorized');
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
          });
        } catch (error) {
          if (signal.aborted) return;
          transportError = error;
        }
        metrics.observeUpstream(account.name, now() - attemptMs);
        const outcomeOf: UpstreamOutcome =
          response === null ? { transportError } : { status: response.statusCode, headers: response.headers };
        let action = classifyResponse(
          outcomeOf,
          { nowMs: now(), canRefresh: credential.canRefresh, alreadyRefreshed: refreshed.has(account.name) },
          policy,
        );

        if (action.kind === 'refresh') {
          recordResponse(store, account.name, action, { requestKey: id });
          attempts.push({ account: account.name, reason: decision.reason, status: response?.statusCode ?? null, action: 'refresh' });
          await discard(response);
          if (response !== null) traceRow(account.name, response.statusCode, response.headers, attemptMs);
          refreshed.add(account.name);
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
        recordResponse(store, account.name, action, { requestKey: id });

        if (action.kind === 'failover') {
          attempts.push({
            account: account.name,
            reason: decision.reason,
            status: response?.statusCode ?? null,
            action: 'failover',
            failover: action.reason,
            cooldownMs: action.cooldownMs,
          });
          logger.warn('failover', {
            id,
            account: account.name,
            status: response?.statusCode ?? null,
            why: action.reason,
            cooldown_ms: action.cooldownMs,
            ...(transportError === null ? {} : { error: errorCode(transportError) }),
          });
          lastFailure =
            response === null
              ? transportFailure(account.name)
              : { account: account.name, status: response.statusCode, headers: response.headers, body: await readLimited(response.body, 65_536) };
          if (response !== null) traceRow(account.name, response.statusCode, response.headers, attemptMs);
          tried.add(account.name);
          roundFailures.push(action.reason);
          continue;
        }

        // success or return: this answer goes to the client, unless a stream opens with an error.
        const answer = response as UpstreamResponse;
        const sse = action.kind === 'success' && isEventStream(answer.headers['content-type']);
        let sniffer: SseErrorSniffer | null = null;
        let prefix: StreamStart | null = null;
        if (sse) {
          // One sniffer sees every byte: errors in the opening are collected for the failover
          // decision below; later ones are recorded against the account as they pass.
          let opening: SseError[] | null = [];
          const streamed = sseErrorSniffer((error) => {
            if (opening !== null) {
              opening.push(error);
              return;
            }
            streamError ??= error.type;
            const streamAction = classifyStreamError(error.type, { nowMs: now() }, policy);
            recordResponse(store, account.name, streamAction, { requestKey: id });
            logger.warn('error inside a stream', {
              id,
              account: account.name,
              error_type: error.type,
              cooldown_ms: streamAction.kind === 'failover' ? streamAction.cooldownMs : 0,
            });
          });
          sniffer = streamed;
          prefix = await readStreamStart(answer.body, STREAM_START_BYTES);
          if (signal.aborted) {
            answer.body.destroy();
            return;
          }
          // Whatever else has arrived already joins the opening: it is judged with it, and written
          // to the client with it in one write.
          if (!prefix.ended && prefix.error === null) {
            for (let more = answer.body.read() as Buffer | null; more !== null; more = answer.body.read() as Buffer | null) {
              prefix.chunks.push(more);
            }
          }
          for (const chunk of prefix.chunks) streamed.push(chunk);
          if (prefix.ended) streamed.end();
          const openingErrors: SseError[] = opening;
          opening = null;
          const blocking = openingErrors.find((e) => e.type === 'rate_limit_error' || e.type === 'overloaded_error');
          if (blocking !== undefined) {
            // Nothing has reached the client yet: this stream can still fail over.
            const streamAction = classifyStreamError(blocking.type, { nowMs: now() }, policy);
            recordResponse(store, account.name, streamAction, { requestKey: id });
            attempts.push({
              account: account.name,
              reason: decision.reason,
              status: answer.statusCode,
              action: 'failover',
              failover: 'stream_error',
              ...(streamAction.kind === 'failover' ? { cooldownMs: streamAction.cooldownMs } : {}),
            });
            logger.warn('failover', { id, account: account.name, status: answer.statusCode, why: `stream opened with ${blocking.type}` });
            if (!prefix.ended) answer.body.destroy();
            lastFailure = { account: account.name, status: answer.statusCode, headers: answer.headers, body: Buffer.concat(prefix.chunks) };
            // Recorded as the status the error stands for: the simulator counts a 2xx as served.
            traceRow(account.name, blocking.type === 'rate_limit_error' ? 429 : 529, answer.headers, attemptMs);
            tried.add(account.name);
            roundFailures.push('stream_error');
            continue;
          }
          if (prefix.error !== null) {
            // Broke off before a whole event arrived: a transport error, and still nothing sent.
            const broken = classifyResponse({ transportError: prefix.error }, { nowMs: now() }, policy);
            recordResponse(store, account.name, broken, { requestKey: id });
            attempts.push({
              account: account.name,
              reason: decision.reason,
              status: answer.statusCode,
              action: 'failover',
              failover: 'transport_error',
              ...(broken.kind === 'failover' ? { cooldownMs: broken.cooldownMs } : {}),
            });
            logger.warn('failover', { id, account: account.name, why: 'transport_error', error: errorCode(prefix.error) });
            lastFailure = transportFailure(account.name);
            tried.add(account.name);
            roundFailures.push('transport_error');
            continue;
          }
          for (const e of openingErrors) streamError ??= e.type;
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
          if (prefix !== null) {
            for (const chunk of prefix.chunks) usage.push(chunk);
            if (prefix.ended) usage.end();
          }
          if (prefix !== null && prefix.ended) {
            res.end(Buffer.concat(prefix.chunks));
          } else {
            if (prefix !== null) for (const chunk of prefix.chunks) res.write(chunk);
            await pipeBody(answer.body, res, sniffer === null ? usage : bothObservers(sniffer, usage));
          }
        } catch (error) {
          if (signal.aborted) return; // the client left; the upstream request is already aborted
          outcome = 'stream_failed';
          // The upstream broke off or stalled mid-answer: too late to fail over, but the next
          // request should not go there.
          recordResponse(store, account.name, classifyResponse({ transportError: error }, { nowMs: now() }, policy), { requestKey: id });
          logger.warn('upstream broke off a response under way', { id, account: account.name, error: errorCode(error) });
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
const CAPACITY_REASONS: ReadonlySet<string> = new Set(['window_rejected', 'retry_after', 'rate_limited', 'overloaded', 'stream_error']);

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
}

interface StreamStart {
  readonly chunks: Buffer[];
  readonly ended: boolean;
  readonly error: unknown;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

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
  if (host !== undefined && !isLoopbackHost(hostName(host))) {
    return anthropicError(403, 'permission_error', `shunt: refusing a request addressed to ${JSON.stringify(host)}; set server.remote_key to serve other hosts`);
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

function safeFingerprint(body: Buffer): string | null {
  try {
    return fingerprint(body);
  } catch {
    return null;
  }
}

/** Show each chunk to two observers (the SSE error sniffer and the trace's usage scanner). */
function bothObservers(a: SseErrorSniffer, b: SseErrorSniffer): SseErrorSniffer {
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
 * Read a stream's opening: until the first blank line (the end of the first event), `maxBytes`,
 * the end of the stream or an error. The stream is left paused with nothing lost.
 */
function readStreamStart(body: Readable, maxBytes: number): Promise<StreamStart> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (ended: boolean, error: unknown): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      if (!ended && error === null) body.pause();
      resolve({ chunks, ended, error });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes || hasEventEnd(chunks)) done(false, null);
    };
    const onEnd = (): void => done(true, null);
    const onError = (error: unknown): void => done(false, error);
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
  });
}

function hasEventEnd(chunks: Buffer[]): boolean {
  const last = chunks[chunks.length - 1] as Buffer;
  if (last.includes('\n\n') || last.includes('\r\n\r\n') || last.includes('\r\r')) return true;
  if (chunks.length === 1) return false;
  // A blank line split across chunks.
  const previous = chunks[chunks.length - 2] as Buffer;
  const seam = Buffer.concat([previous.subarray(-3), last.subarray(0, 3)]);
  return seam.includes('\n\n') || seam.includes('\r\n\r\n') || seam.includes('\r\r');
}

/**
 * Pipe an upstream body to the client with backpressure, showing every chunk to the sniffer on
 * the way (unchanged). Resolves once the response is finished; rejects with the upstream's error
 * (the caller cuts the client off), or with CLIENT_GONE after destroying the upstream body.
 * (`stream.pipeline` does the same but builds an AbortController per call, which costs more
 * than all of the routing; `Readable.pipe` adds half a dozen listeners of its own on top of these.)
 */
function pipeBody(source: Readable, res: ServerResponse, sniffer: SseErrorSniffer | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      sniffer?.push(chunk);
      // A client slower than the upstream holds the upstream body until its socket drains.
      if (!res.write(chunk)) {
        source.pause();
        res.once('drain', onDrain);
      }
    };
    const onDrain = (): void => {
      source.resume();
    };
    const onEnd = (): void => {
      sniffer?.end();
      res.end();
    };
    const cleanup = (): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      res.off('drain', onDrain);
      res.off('finish', onFinish);
      res.off('close', onClose);
    };
    const onError = (error: unknown): void => {
      cleanup();
      reject(error);
    };
    const onFinish = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      source.destroy();
      reject(CLIENT_GONE);
    };
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    res.on('finish', onFinish);
    res.on('close', onClose);
    // A stream whose opening was read is paused (adding a data listener does not restart it), and
    // the opening written to the client may already fill its socket.
    if (res.writableNeedDrain) res.once('drain', onDrain);
    else source.resume();
  });
}

async function readLimited(body: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      chunks.push(buf.subarray(0, maxBytes - size));
      size += Math.min(buf.length, maxBytes - size);
      if (size >= maxBytes) break;
    }
  } catch {
    // A failure answer that breaks off is still a failure answer: keep what arrived.
  }
  body.destroy();
  return Buffer.concat(chunks);
}

async function discard(response: UpstreamResponse | null): Promise<void> {
  if (response === null) return;
  await readLimited(response.body, 65_536);
}

function transportFailure(account: string): BufferedResponse {
  const error = anthropicError(502, 'api_error', 'shunt: upstream request failed');
  return { account, status: error.status, headers: error.headers, body: Buffer.from(error.body) };
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
