/**
 * @module
 * The errors the proxy answers itself, in Anthropic's error shape
 * (`{"type":"error","error":{"type":…,"message":…}}`), so every client and SDK reads them as it
 * reads the API's own.
 */
import type { RateLimitInfo } from '@shunt/core';

/** The error types of Anthropic's API that the proxy itself can produce. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** A response the proxy produces on its own: status, headers and a JSON body. */
export interface ProxyErrorResponse {
  /** HTTP status code. */
  readonly status: number;
  /** Response headers (content-type and, where it applies, retry-after). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, already serialised. */
  readonly body: string;
}

/**
 * The body of an Anthropic-shaped error.
 *
 * @example
 * ```ts
 * anthropicErrorBody('not_found_error', 'no such route');
 * // '{"type":"error","error":{"type":"not_found_error","message":"no such route"}}'
 * ```
 */
export function anthropicErrorBody(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

/** A complete error response: `status`, JSON content type, optional `retry-after` in seconds. */
export function anthropicError(
  status: number,
  type: AnthropicErrorType,
  message: string,
  retryAfterSecs?: number,
): ProxyErrorResponse {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSecs !== undefined) headers['retry-after'] = String(retryAfterSecs);
  return { status, headers, body: anthropicErrorBody(type, message) };
}

/**
 * The answer for a request that no account can serve within its wait limit, as Anthropic answers
 * a spent account: 429 `rate_limit_error`, an honest `retry-after` (whole seconds until the first
 * account is back, at least 1) and the unified rate-limit headers (`…-unified-status: rejected`,
 * `…-unified-reset`, and the windows of the account that comes back first, from `soonest`).
 * When the wait is longer than `clientRetryLimitMs`, `x-should-retry: false` tells the SDKs and
 * Claude Code to stop and show the message rather than sleep through it.
 */
export function allAccountsSpent(
  soonestMs: number,
  nowMs: number,
  soonest: RateLimitInfo | null,
  clientRetryLimitMs: number,
): ProxyErrorResponse {
  const waitMs = Math.max(0, soonestMs - nowMs);
  const retryAfterSecs = Math.max(1, Math.ceil(waitMs / 1000));
  const response = anthropicError(
    429,
    'rate_limit_error',
    `shunt: every account is rate-limited or cooling down; the first one is back in ${formatSecs(retryAfterSecs)}`,
    retryAfterSecs,
  );
  const headers: Record<string, string> = { ...response.headers, ...unifiedHeaders(soonest), 'anthropic-ratelimit-unified-status': 'rejected' };
  headers['anthropic-ratelimit-unified-reset'] = String(Math.ceil(soonestMs / 1000));
  headers['x-should-retry'] = waitMs > clientRetryLimitMs ? 'false' : 'true';
  return { ...response, headers };
}

/**
 * The 503 for a pool where nothing will come back on its own: every account is disabled (no
 * credential, needs login) or cooling after a failure waiting does not fix, with no upstream
 * answer at hand to pass on. `x-should-retry: false`: a retry would meet the same.
 */
export function noAccountUsable(reasons: readonly string[]): ProxyErrorResponse {
  const response = anthropicError(
    503,
    'api_error',
    `shunt: no account can serve this request, and none will come back on its own (${reasons.join('; ')})`,
  );
  return { ...response, headers: { ...response.headers, 'x-should-retry': 'false' } };
}

/** The 504 for a request whose `request_deadline_secs` ran out before any account answered. */
export function requestTimedOut(deadlineSecs: number): ProxyErrorResponse {
  return anthropicError(504, 'api_error', `shunt: no account answered within request_deadline_secs (${formatSecs(Math.round(deadlineSecs))})`);
}

/** The `anthropic-ratelimit-unified-5h-*` / `-7d-*` headers of a stored rate-limit record. */
function unifiedHeaders(info: RateLimitInfo | null): Record<string, string> {
  const headers: Record<string, string> = {};
  if (info === null) return headers;
  const put = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) headers[`anthropic-ratelimit-unified-${name}`] = String(value);
  };
  put('5h-utilization', info.utilization5h);
  put('5h-reset', info.reset5hSecs);
  put('5h-status', info.status5h);
  put('7d-utilization', info.utilization7d);
  put('7d-reset', info.reset7dSecs);
  put('7d-status', info.status7d);
  put('representative-claim', info.representativeClaim);
  return headers;
}

/** `90` → `"1 min 30 s"`, `7260` → `"2 h 1 min"`. */
function formatSecs(secs: number): string {
  if (secs < 60) return `${secs} s`;
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  return s > 0 ? `${m} min ${s} s` : `${m} min`;
}
