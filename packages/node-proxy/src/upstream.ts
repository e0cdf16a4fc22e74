/**
 * @module
 * The HTTP client that talks to the upstream: keep-alive connections, no redirects followed, no
 * `accept-encoding` added, `request_timeout_secs` (or what is left of the request's deadline, if
 * less) as the wait for the response headers, and `request_timeout_secs` as the longest silence
 * allowed inside a body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Cancellation } from './cancellation.js';

/** One upstream request. */
export interface UpstreamRequest {
  /** `https://api.anthropic.com` */
  readonly origin: string;
  /** Path and query string. */
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body bytes, or null for none. */
  readonly body: Buffer | null;
  /** Aborts the request (and its body) when the client goes away. */
  readonly signal: Cancellation;
  /**
   * The longest wait for the response headers, in milliseconds (`request_timeout_secs`, or what
   * is left of `request_deadline_secs` when that is less).
   * @default the client's `timeoutMs`
   */
  readonly headersTimeoutMs?: number;
}

/** The upstream's answer: status, headers, and the body still to be read. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/** A pool of upstream connections. */
export interface UpstreamClient {
  /** Send a request; rejects on a transport error (or abort) before the response headers. */
  request(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Close every connection. */
  close(): Promise<void>;
}

/**
 * The upstream client: undici's Agent (measured faster than node:http's keep-alive agent for
 * this proxy, see docs/benchmarks.md). Redirects are not followed and nothing is decompressed:
 * the bytes the upstream sends are the bytes the client gets.
 */
export function upstreamClient(timeoutMs: number): UpstreamClient {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    request(r) {
      // undici's answer is an UpstreamResponse already (and more): passed on as it is, with no
      // extra promise or copy per request.
      return agent.request({
        origin: r.origin,
        path: r.path,
        method: r.method as Dispatcher.HttpMethod,
        headers: r.headers,
        body: r.body,
        signal: r.signal,
        ...(r.headersTimeoutMs === undefined ? {} : { headersTimeout: Math.max(1, Math.ceil(r.headersTimeoutMs)) }),
      }) as Promise<UpstreamResponse>;
    },
    async close() {
      await agent.close().catch(() => agent.destroy());
    },
  };
}
