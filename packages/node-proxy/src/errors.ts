/**
 * @module
 * The errors the proxy answers itself, in Anthropic's error shape
 * (`{"type":"error","error":{"type":…,"message":…}}`), so every client and SDK reads them as it
 * reads the API's own.
 */

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
 * The 503 for a request that cannot be served within its wait limit. `soonestMs` is when the
 * first account comes back (null when every account is disabled: waiting brings nothing back, so
 * no `retry-after` is sent); the `retry-after` is the honest number of seconds until then,
 * rounded up, and at least 1.
 */
export function allAccountsSpent(soonestMs: number | null, nowMs: number): ProxyErrorResponse {
  if (soonestMs === null) {
    return anthropicError(503, 'api_error', 'shunt: every account is disabled; no account will come back on its own');
  }
  const retryAfterSecs = Math.max(1, Math.ceil((soonestMs - nowMs) / 1000));
  return anthropicError(
    503,
    'api_error',
    `shunt: every account is rate-limited or cooling down; the first one is back in ${formatSecs(retryAfterSecs)}`,
    retryAfterSecs,
  );
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
