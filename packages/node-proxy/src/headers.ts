/**
 * @module
 * Which headers cross the proxy. Requests: an allow-list (nothing else reaches the upstream, so
 * a client credential never does), then the account's credential. Responses: everything but
 * hop-by-hop headers, cookies and CORS grants, plus `x-shunt-account`.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Request headers copied from the client to the upstream, besides every `anthropic-*` header. */
export const FORWARDED_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'content-type',
  // The body is forwarded byte for byte, so its encoding must travel with it.
  'content-encoding',
  'user-agent',
  'x-request-id',
  // Claude Code's own headers.
  'x-app',
  'x-claude-code-session-id',
]);

/** Response headers never passed back to the client. */
export const DROPPED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  // Hop-by-hop (RFC 9110 §7.6.1): they describe the upstream connection, not the response.
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  // Cookies and CORS grants belong to api.anthropic.com, not to a local proxy.
  'set-cookie',
  'set-cookie2',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
]);

/** The response header naming the account that served the request. */
export const ACCOUNT_HEADER = 'x-shunt-account';

/** True when a client request header (lower-case) may be forwarded to the upstream. */
export function isForwardedRequestHeader(name: string): boolean {
  return FORWARDED_REQUEST_HEADERS.has(name) || name.startsWith('anthropic-');
}

/**
 * The headers of the upstream request: the allow-listed client headers, then the account's
 * credential headers. A credential's `anthropic-beta` is merged into the client's (an OAuth
 * account needs its beta flag without losing the client's); any other credential header replaces
 * the client's.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  credential: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in incoming) {
    if (!isForwardedRequestHeader(name)) continue;
    const value = incoming[name];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.join(', ');
  }
  for (const name in credential) {
    const value = credential[name] as string;
    const lower = name.toLowerCase();
    const existing = out[lower];
    out[lower] = lower === 'anthropic-beta' && existing !== undefined ? mergeList(existing, value) : value;
  }
  return out;
}

/**
 * The headers of the client response: the upstream's, minus {@link DROPPED_RESPONSE_HEADERS} and
 * any header the upstream's `connection` header names, plus `x-shunt-account`.
 * `content-length` is kept: the body is passed through byte for byte.
 */
export function clientResponseHeaders(
  upstream: Readonly<Record<string, string | readonly string[] | undefined>>,
  account: string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const connection = upstream['connection'];
  const named = connection === undefined ? null : connectionTokens(connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    if (named !== null && named.has(name)) continue;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  out[ACCOUNT_HEADER] = account;
  return out;
}

function connectionTokens(value: string | readonly string[]): Set<string> {
  // The usual value is one token (`keep-alive`, `close`): no list to split.
  if (typeof value === 'string' && !value.includes(',')) {
    const token = value.trim().toLowerCase();
    return token === '' ? new Set() : new Set([token]);
  }
  const joined = typeof value === 'string' ? value : value.join(',');
  return new Set(joined.split(',').map((token) => token.trim().toLowerCase()).filter((token) => token !== ''));
}

function mergeList(existing: string, added: string): string {
  const items = existing.split(',').map((item) => item.trim()).filter((item) => item !== '');
  for (const item of added.split(',')) {
    const trimmed = item.trim();
    if (trimmed !== '' && !items.includes(trimmed)) items.push(trimmed);
  }
  return items.join(',');
}
