/**
 * @module
 * The HTTP client that talks to the upstream: keep-alive connections, no redirects followed, no
 * `accept-encoding` added, `request_timeout_secs` (or what is left of the request's deadline, if
 * less) as the wait for the response headers, and `request_timeout_secs` as the longest silence
 * allowed inside a body.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, errors, type Dispatcher } from 'undici';
import type { Cancellation } from './cancellation.js';
import { ownBody, type BodySource, type OwnedBody, type UpstreamBody } from './relay.js';

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

/** The upstream's answer: status, headers, and the body still to be read, already owned. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: UpstreamBody;
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
 *
 * Requests go through `dispatch` with a handler of our own rather than undici's `request()`, whose
 * body is a Readable stream per response: with the handler feeding the body's one owner (relay.ts)
 * directly, undici's pause and resume as its flow control, the proxy's CPU per request fell by up
 * to 13 % under load (docs/benchmarks.md, fourth round).
 */
export function upstreamClient(timeoutMs: number): UpstreamClient {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return {
    request(r) {
      return new Promise((resolve, reject) => {
        if (r.signal.aborted) {
          reject(r.signal.reason ?? new errors.RequestAbortedError());
          return;
        }
        const exchange = new Exchange(r.signal, resolve, reject);
        agent.dispatch(
          {
            origin: r.origin,
            path: r.path,
            method: r.method as Dispatcher.HttpMethod,
            headers: r.headers,
            body: r.body,
            ...(r.headersTimeoutMs === undefined ? {} : { headersTimeout: Math.max(1, Math.ceil(r.headersTimeoutMs)) }),
          },
          exchange,
        );
      });
    },
    async close() {
      await agent.close().catch(() => agent.destroy());
    },
  };
}

/**
 * One request's undici handler: settles the request's promise when the response starts (or fails
 * first), then feeds the response's owned body. It is also the body's source (pause, resume, abort).
 * undici turns anything a handler throws into an abort of that request; none of these throw.
 */
class Exchange implements Dispatcher.DispatchHandler, BodySource {
  private controller: Dispatcher.DispatchController | null = null;
  // Set when the response starts: the request's promise is then resolved.
  private body: OwnedBody | null = null;
  // Aborts the request when the client goes away (or the proxy shuts down).
  private readonly onAbort = (): void => {
    this.controller?.abort(abortError(this.signal));
  };

  constructor(
    private readonly signal: Cancellation,
    private readonly resolve: (response: UpstreamResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal.once('abort', this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted while the request waited for a connection.
    if (this.signal.aborted) controller.abort(abortError(this.signal));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // An informational answer (103 Early Hints) is not the response; the real one follows.
    if (statusCode < 200 || this.body !== null) return;
    this.body = ownBody(this);
    this.resolve({ statusCode, headers, body: this.body });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.data(chunk);
  }

  onResponseEnd(): void {
    this.signal.off('abort', this.onAbort);
    this.body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.signal.off('abort', this.onAbort);
    // undici reports at most one error per request: before the response starts it is the request's.
    if (this.body !== null) this.body.error(error);
    else this.reject(error);
  }

  pause(): void {
    this.controller?.pause();
  }

  resume(): void {
    this.controller?.resume();
  }

  abort(): void {
    this.controller?.abort(new errors.RequestAbortedError());
  }
}

function abortError(signal: Cancellation): Error {
  return signal.reason instanceof Error ? signal.reason : new errors.RequestAbortedError();
}
