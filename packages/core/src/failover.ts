/**
 * @module
 * The failover policy: one pure function that turns an upstream outcome into what to do next.
 * The proxy and the simulator share it, so what the simulator predicts is what the proxy does.
 */
import {
  cappedResetSecs,
  DEFAULT_WINDOW_CAP_MARGIN_MS,
  hasRateLimitHeaders,
  isResetBogus,
  isWindowExhausted,
  parseRateLimitHeaders,
  readHeader,
  WINDOW_5H_SECS,
  WINDOW_7D_SECS,
  type HeaderSource,
  type RateLimitInfo,
} from './rate-limits.js';
import { completeStore } from './store/complete.js';
import type { StateStore } from './store/types.js';
import type { Account } from './strategies/types.js';

/** What came back from one upstream attempt: a response, or a transport error before any byte. */
export type UpstreamOutcome =
  | { readonly status: number; readonly headers: HeaderSource }
  | { readonly transportError: unknown };

/** What the caller knows about the attempt beyond the response itself. */
export interface ClassifyContext {
  /** Now, in epoch milliseconds (cooldowns until a reset are computed from it). */
  readonly nowMs: number;
  /**
   * Whether this account's credentials can be refreshed (OAuth) at all.
   * @default true
   */
  readonly canRefresh?: boolean | undefined;
  /**
   * Whether this account's credentials were already refreshed during this request.
   * @default false
   */
  readonly alreadyRefreshed?: boolean | undefined;
}

/** The cooldowns the policy applies, in milliseconds. */
export interface FailoverPolicy {
  /**
   * Added to a rejected window's reset before the account is tried again (resets jitter by ~1 s).
   * @default 500
   */
  readonly resetMarginMs: number;
  /**
   * A rejected window's cooldown never lasts longer than the window itself plus this margin
   * (5 h + margin, 7 d + margin), whatever reset the headers give: a bogus reset years ahead must
   * not lock an account out for years. The margin absorbs clock skew between us and Anthropic.
   * @default 600000
   */
  readonly windowCapMarginMs: number;
  /**
   * A 429 that says nothing about how long to wait (no rejected window, no retry-after).
   * @default 60000
   */
  readonly rateLimitFallbackMs: number;
  /**
   * Upper bound for a cooldown taken from `retry-after` / `retry-after-ms` (a burst limit), so a
   * bogus multi-day value cannot lock an account out. Rejected windows are capped by
   * `windowCapMarginMs` instead.
   * @default 300000
   */
  readonly maxRetryAfterMs: number;
  /**
   * 529 overloaded (and an `overloaded_error` inside a stream).
   * @default 30000
   */
  readonly overloadedMs: number;
  /**
   * 401 after a refresh (or on an account that cannot refresh).
   * @default 300000
   */
  readonly unauthorizedMs: number;
  /**
   * 403 forbidden.
   * @default 1800000
   */
  readonly forbiddenMs: number;
  /**
   * 500/502/503/504 and transport errors, once they are confirmed as the account's fault (see
   * `accountFaultRequests`).
   * @default 10000
   */
  readonly serverErrorMs: number;
  /**
   * How many distinct requests must fail with a 5xx or a transport error on one account within
   * `accountFaultWindowMs` before the fault counts as the account's and it cools for
   * `serverErrorMs`. One request that fails everywhere is the request's fault: it fails over but
   * cools nothing. An integer from 0 to 64; 0 or 1 cools at the first failure (the old behaviour).
   * @default 2
   */
  readonly accountFaultRequests: number;
  /**
   * The window, in milliseconds, in which `accountFaultRequests` failures must fall.
   * @default 60000
   */
  readonly accountFaultWindowMs: number;
}

/**
 * Whose fault a failover is.
 * - `account`: the account's (a rejected window, 529, 401, 403, …): it cools at once.
 * - `request`: this request's alone (a request-scoped 429): nothing cools.
 * - `unconfirmed`: a 5xx or a transport error, which one poison request causes on every account as
 *   surely as a broken account causes it for every request: the account cools only once
 *   `confirmAfter.requests` distinct requests failed on it within `confirmAfter.windowMs`.
 */
export type FaultScope = 'account' | 'request' | 'unconfirmed';

/** When an `unconfirmed` fault becomes the account's: the policy's `accountFault*` values. */
export interface FaultConfirmation {
  /** Distinct failing requests that confirm the fault (≥ 2). */
  readonly requests: number;
  /** The window they must fall in, in milliseconds. */
  readonly windowMs: number;
}

/** Options for {@link recordResponse}. */
export interface RecordOptions {
  /**
   * Identifies the request the response answered (the proxy's request id, the trace's
   * `request_id`), so that an `unconfirmed` fault is counted once per distinct request. Without it
   * an unconfirmed fault never cools the account.
   */
  readonly requestKey?: string | undefined;
}

/** Why a request fails over to another account. */
export type FailoverReason =
  | 'window_exhausted'
  | 'retry_after'
  | 'request_scoped'
  | 'rate_limited'
  | 'overloaded'
  | 'unauthorized'
  | 'forbidden'
  | 'server_error'
  | 'transport_error';

/**
 * What to do with an upstream outcome.
 * - `success`: hand the response to the client.
 * - `failover`: add the account to `tried` and pick again. Cool the account for `cooldownMs`
 *   (0 = do not cool): at once when `fault` is `account`, only once confirmed when it is
 *   `unconfirmed` ({@link recordResponse} decides both).
 * - `refresh`: refresh the account's credentials, then retry the same account once.
 * - `return`: hand the response to the client as-is (a client error no other account would fix).
 * - `ignore`: nothing to act on (an error inside a stream that says nothing about the account):
 *   pass the answer on, store its rate limits if it has any.
 *
 * `rateLimits` carries the response's parsed headers (or null); store them whatever the kind.
 */
export type ResponseAction =
  | { readonly kind: 'success'; readonly rateLimits: RateLimitInfo | null }
  | ({
      readonly kind: 'failover';
      readonly reason: FailoverReason;
      readonly cooldownMs: number;
      /** For `window_exhausted`: which window was rejected (the later reset when both were). */
      readonly window?: '5h' | '7d';
      readonly rateLimits: RateLimitInfo | null;
    } & (
      | {
          /** Whose fault the failure is (see {@link FaultScope}). */
          readonly fault: Exclude<FaultScope, 'unconfirmed'>;
        }
      | {
          /** Whose fault the failure is (see {@link FaultScope}). */
          readonly fault: 'unconfirmed';
          /** How many distinct failing requests, within what window, make it the account's. */
          readonly confirmAfter: FaultConfirmation;
        }
    ))
  | { readonly kind: 'refresh'; readonly reason: 'unauthorized'; readonly rateLimits: RateLimitInfo | null }
  | { readonly kind: 'return'; readonly status: number; readonly rateLimits: RateLimitInfo | null }
  | { readonly kind: 'ignore'; readonly rateLimits: RateLimitInfo | null };

/** The policy {@link classifyResponse} applies when no override is given (see each field's `@default`). */
export const defaultFailoverPolicy: FailoverPolicy = Object.freeze({
  resetMarginMs: 500,
  windowCapMarginMs: DEFAULT_WINDOW_CAP_MARGIN_MS,
  rateLimitFallbackMs: 60_000,
  maxRetryAfterMs: 300_000,
  overloadedMs: 30_000,
  unauthorizedMs: 300_000,
  forbiddenMs: 1_800_000,
  serverErrorMs: 10_000,
  accountFaultRequests: 2,
  accountFaultWindowMs: 60_000,
});

/**
 * Decide what to do with one upstream outcome. Pure: the same outcome, context and policy always
 * give the same action, so the simulator predicts exactly what the proxy does.
 *
 * A 429 is read most specific first:
 * 1. a window whose status is `rejected`/`exhausted` with a future reset ⇒ cool until that reset
 *    plus `resetMarginMs` (the later reset when both windows are blocked), but never longer than
 *    the window's length plus `windowCapMarginMs`;
 * 2. `retry-after-ms` or `retry-after` (seconds or an HTTP-date) ⇒ cool that long, at most
 *    `maxRetryAfterMs`: a burst limit, not the end of the quota window;
 * 3. `x-should-retry: true` with no rate-limit header at all ⇒ request-scoped: fail over, no cooldown;
 * 4. a window at utilization ≥ 1 with a future reset but no status ⇒ as in 1;
 * 5. otherwise `rateLimitFallbackMs`.
 *
 * Never throws for any status or headers; throws a `RangeError` for a policy value that is not a
 * finite number ≥ 0, or a `context.nowMs` that is not finite.
 *
 * A 500/502/503/504 or a transport error is an `unconfirmed` fault (see {@link FaultScope}).
 *
 * @example
 * ```ts
 * const action = classifyResponse({ status: res.status, headers: res.headers }, { nowMs: store.now() });
 * recordResponse(store, account, action, { requestKey: requestId });
 * if (action.kind === 'failover') tried.add(account.name);
 * ```
 */
export function classifyResponse(
  outcome: UpstreamOutcome,
  context: ClassifyContext,
  policy?: Partial<FailoverPolicy>,
): ResponseAction {
  const p = resolvePolicy(policy);
  const nowMs = context.nowMs;
  if (!Number.isFinite(nowMs)) throw new RangeError(`classifyResponse: context.nowMs must be finite, got ${String(nowMs)}`);

  if ('transportError' in outcome) return serverFault('transport_error', p, null);
  const { status, headers } = outcome;
  const rateLimits = parseRateLimitHeaders(headers, nowMs);

  if (Number.isInteger(status) && status >= 200 && status <= 299) return { kind: 'success', rateLimits };
  switch (status) {
    case 429:
      return classify429(headers, rateLimits, nowMs, p);
    case 529:
      // Overloaded says so about the account (its capacity), whatever the request.
      return { kind: 'failover', reason: 'overloaded', cooldownMs: p.overloadedMs, fault: 'account', rateLimits };
    case 401:
      if ((context.canRefresh ?? true) && !(context.alreadyRefreshed ?? false)) {
        return { kind: 'refresh', reason: 'unauthorized', rateLimits };
      }
      return { kind: 'failover', reason: 'unauthorized', cooldownMs: p.unauthorizedMs, fault: 'account', rateLimits };
    case 403:
      return { kind: 'failover', reason: 'forbidden', cooldownMs: p.forbiddenMs, fault: 'account', rateLimits };
    case 500:
    case 502:
    case 503:
    case 504:
      return serverFault('server_error', p, rateLimits);
    default:
      // 1xx, 3xx and every other 4xx/5xx (400, 404, 413, 501, …): another account would answer
      // the same, so the client gets the response as it is.
      return { kind: 'return', status, rateLimits };
  }
}

/**
 * Decide what to do with an SSE `event: error` that arrives inside a stream already sent to the
 * client with status 200. The request itself cannot fail over any more; the point is to cool the
 * account so that the next request goes elsewhere.
 *
 * - `rate_limit_error` ⇒ `failover` / `rate_limited`, cooling `rateLimitFallbackMs` (an in-stream
 *   error carries no headers to say how long).
 * - `overloaded_error` ⇒ `failover` / `overloaded`, cooling `overloadedMs`.
 * - anything else (`api_error`, …) ⇒ `{ kind: 'ignore' }`: pass the stream through
 *   as it is and record nothing, since the error says nothing about the account.
 *
 * `rateLimits` is always null. `context` is accepted (and validated) so both classifiers take the
 * same arguments. Throws a `RangeError` for an invalid policy value.
 */
export function classifyStreamError(
  errorType: string,
  context: ClassifyContext,
  policy?: Partial<FailoverPolicy>,
): ResponseAction {
  const p = resolvePolicy(policy);
  if (!Number.isFinite(context.nowMs)) {
    throw new RangeError(`classifyStreamError: context.nowMs must be finite, got ${String(context.nowMs)}`);
  }
  if (errorType === 'rate_limit_error') {
    return { kind: 'failover', reason: 'rate_limited', cooldownMs: p.rateLimitFallbackMs, fault: 'account', rateLimits: null };
  }
  if (errorType === 'overloaded_error') {
    return { kind: 'failover', reason: 'overloaded', cooldownMs: p.overloadedMs, fault: 'account', rateLimits: null };
  }
  return { kind: 'ignore', rateLimits: null };
}

/**
 * Apply an action to a store: merge its rate limits (whatever the kind), remember the account as
 * last used (`success`), and cool the account (a `failover` with `cooldownMs > 0`). An
 * `unconfirmed` fault cools it only when the store counts (`StateStore.recordFault`) at least
 * `confirmAfter.requests` distinct requests that failed on it within `confirmAfter.windowMs`, this
 * one included (a store without `recordFault` counts them in this process); without
 * `options.requestKey` it never does, so one poison request cannot take the pool out. The proxy
 * and the simulator both go through here, so they change state identically.
 *
 * Returns the cooldown it started, in milliseconds (0 when it cooled nothing), for logs.
 */
export function recordResponse(store: StateStore, account: Account, action: ResponseAction, options?: RecordOptions): number {
  const complete = completeStore(store);
  const name = account.name;
  if (action.rateLimits !== null) {
    // "The later deadline wins" must not keep a cooldown made from a bogus reset: when the stored
    // record has one for a window this response reports sanely, the running cooldown may stand on
    // it, so it ends here and this response's own cooldown (if any) replaces it.
    // Only a cooling account can hold such a cooldown: the usual response costs no record copy.
    if (complete.cooldownUntilMs(name) !== null && replacesBogusReset(complete.rateLimits(name), action.rateLimits)) {
      complete.clearCooldown(name);
    }
    complete.updateRateLimits(name, action.rateLimits);
  }
  if (action.kind === 'success') complete.setLastUsed(name);
  if (action.kind !== 'failover' || action.cooldownMs <= 0) return 0;
  if (action.fault === 'unconfirmed') {
    const requestKey = options?.requestKey;
    if (requestKey === undefined) return 0;
    const { requests, windowMs } = action.confirmAfter;
    if (complete.recordFault(name, requestKey, windowMs) < requests) return 0;
  }
  complete.setCooldown(name, action.cooldownMs);
  return action.cooldownMs;
}

/** Whether `next` carries a sane reset for a window whose reset in `previous` is bogus (beyond its cap). */
function replacesBogusReset(previous: RateLimitInfo | null, next: RateLimitInfo): boolean {
  if (previous === null) return false;
  return (
    (next.reset5hSecs !== undefined && isResetBogus(previous, '5h') && !isResetBogus(next, '5h')) ||
    (next.reset7dSecs !== undefined && isResetBogus(previous, '7d') && !isResetBogus(next, '7d'))
  );
}

const POLICY_KEYS = Object.keys(defaultFailoverPolicy) as ReadonlyArray<keyof FailoverPolicy>;

function resolvePolicy(policy: Partial<FailoverPolicy> | undefined): FailoverPolicy {
  if (policy === undefined) return defaultFailoverPolicy;
  const resolved: { -readonly [K in keyof FailoverPolicy]: number } = { ...defaultFailoverPolicy };
  for (const key of POLICY_KEYS) {
    const value: unknown = policy[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`failover policy: ${key} must be a finite number >= 0, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  const requests = resolved.accountFaultRequests;
  if (!Number.isInteger(requests) || requests > MAX_FAULT_REQUESTS) {
    throw new RangeError(`failover policy: accountFaultRequests must be an integer from 0 to ${String(MAX_FAULT_REQUESTS)}, got ${String(requests)}`);
  }
  return resolved;
}

/** The most distinct failing requests a store must remember per account (see `StateStore.recordFault`). */
const MAX_FAULT_REQUESTS = 64;

/** A 5xx or a transport error: the account's only once several requests confirm it. */
function serverFault(reason: 'server_error' | 'transport_error', p: FailoverPolicy, rateLimits: RateLimitInfo | null): ResponseAction {
  if (p.accountFaultRequests <= 1) return { kind: 'failover', reason, cooldownMs: p.serverErrorMs, fault: 'account', rateLimits };
  return {
    kind: 'failover',
    reason,
    cooldownMs: p.serverErrorMs,
    fault: 'unconfirmed',
    confirmAfter: { requests: p.accountFaultRequests, windowMs: p.accountFaultWindowMs },
    rateLimits,
  };
}

function classify429(
  headers: HeaderSource,
  rateLimits: RateLimitInfo | null,
  nowMs: number,
  p: FailoverPolicy,
): ResponseAction {
  // 1. A window Anthropic says is rejected: nothing gets through until its reset.
  const rejected = rateLimits === null ? null : blockedWindow(rateLimits, nowMs, true, p);
  if (rejected !== null) return windowRejected(rejected, nowMs, p, rateLimits);

  // 2. Retry-after: a burst limit. Capped, and never stretched to the 5-hour reset (the seed's
  //    fault: a per-minute 429 on an account with ordinary headers locked it out for hours).
  const retryAfterMs = readRetryAfterMs(headers, nowMs);
  if (retryAfterMs !== undefined) {
    const cooldownMs = Math.min(Math.max(0, retryAfterMs), p.maxRetryAfterMs);
    return { kind: 'failover', reason: 'retry_after', cooldownMs, fault: 'account', rateLimits };
  }

  // 3. Request-scoped: the 429 concerns this request, not the account's quota.
  if (readHeader(headers, 'x-should-retry')?.trim().toLowerCase() === 'true' && !hasRateLimitHeaders(headers)) {
    return { kind: 'failover', reason: 'request_scoped', cooldownMs: 0, fault: 'request', rateLimits };
  }

  // 4. No status, but a full window with a reset ahead says the same as `rejected`.
  const full = rateLimits === null ? null : blockedWindow(rateLimits, nowMs, false, p);
  if (full !== null) return windowRejected(full, nowMs, p, rateLimits);

  return { kind: 'failover', reason: 'rate_limited', cooldownMs: p.rateLimitFallbackMs, fault: 'account', rateLimits };
}

function windowRejected(
  blocked: { readonly window: '5h' | '7d'; readonly resetSecs: number },
  nowMs: number,
  p: FailoverPolicy,
  rateLimits: RateLimitInfo | null,
): ResponseAction {
  // Not capped by maxRetryAfterMs (the reset is the truth), but by the window's own length: no
  // reset lies further ahead than that, so a later one is a bogus header.
  const cooldownMs = Math.max(0, Math.min(blocked.resetSecs * 1000 - nowMs + p.resetMarginMs, windowCapMs(blocked.window, p)));
  return { kind: 'failover', reason: 'window_exhausted', cooldownMs, window: blocked.window, fault: 'account', rateLimits };
}

/** The longest cooldown a rejected `window` can justify: its length plus `windowCapMarginMs`. */
function windowCapMs(window: '5h' | '7d', p: FailoverPolicy): number {
  return (window === '5h' ? WINDOW_5H_SECS : WINDOW_7D_SECS) * 1000 + p.windowCapMarginMs;
}

/**
 * The blocked window with the later reset, or null. With `byStatus`, some window must be rejected
 * by its status; a full window without a status then counts as blocked too, since the account can
 * serve nothing until every blocked window clears. Without it, only full windows count.
 */
function blockedWindow(
  info: RateLimitInfo,
  nowMs: number,
  byStatus: boolean,
  p: FailoverPolicy,
): { readonly window: '5h' | '7d'; readonly resetSecs: number } | null {
  if (byStatus && !isWindowExhausted(info, '5h', nowMs) && !isWindowExhausted(info, '7d', nowMs)) return null;
  let blocked: { readonly window: '5h' | '7d'; readonly resetSecs: number } | null = null;
  for (const window of WINDOWS) {
    // Capped, so that a bogus reset on the 5-hour window cannot outrank the weekly one.
    const reset = cappedResetSecs(info, window, p.windowCapMarginMs);
    if (reset === undefined || !(isWindowExhausted(info, window, nowMs) || isFullWithoutStatus(info, window, nowMs))) continue;
    // `>=` lets the weekly window win a tie: it says the most about the account.
    if (blocked === null || reset >= blocked.resetSecs) blocked = { window, resetSecs: reset };
  }
  return blocked;
}

const WINDOWS = ['5h', '7d'] as const;

/** Utilization ≥ 1 and a future reset, from headers that carry no status for the window. */
function isFullWithoutStatus(info: RateLimitInfo, window: '5h' | '7d', nowMs: number): boolean {
  const [utilization, reset, status] =
    window === '5h' ? [info.utilization5h, info.reset5hSecs, info.status5h] : [info.utilization7d, info.reset7dSecs, info.status7d];
  return status === undefined && utilization !== undefined && utilization >= 1 && reset !== undefined && reset * 1000 > nowMs;
}

/** `retry-after-ms` (fractional milliseconds) first, then `retry-after` (seconds or an HTTP-date). */
function readRetryAfterMs(headers: HeaderSource, nowMs: number): number | undefined {
  const ms = parseNonNegative(readHeader(headers, 'retry-after-ms'));
  if (ms !== undefined) return ms;
  const raw = readHeader(headers, 'retry-after');
  if (raw === undefined) return undefined;
  const secs = parseNonNegative(raw);
  if (secs !== undefined) return secs * 1000;
  const dateMs = parseHttpDate(raw);
  return dateMs === undefined ? undefined : dateMs - nowMs;
}

function parseNonNegative(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  // Plain decimal only: Number('') is 0 and Number('0x10') is 16.
  if (!/^\+?(?:\d+\.?\d*|\.\d+)$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form servers send today.
 * Parsed by hand because `Date.parse` of anything but ISO strings differs between runtimes.
 */
function parseHttpDate(raw: string): number | undefined {
  const match = /^\s*[a-z]{3}, (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\s*$/i.exec(raw);
  if (match === null) return undefined;
  const [, day, monthName, year, hour, minute, second] = match as unknown as [string, string, string, string, string, string, string];
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const d = Number(day);
  const h = Number(hour);
  const m = Number(minute);
  const s = Number(second);
  if (month < 0 || d < 1 || d > 31 || h > 23 || m > 59 || s > 60) return undefined;
  return Date.UTC(Number(year), month, d, h, m, s);
}

const MONTHS: readonly string[] = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
