/**
 * @module
 * A mock Anthropic Messages API for the demo, the tests and the benchmark: accounts known by
 * their API key, each with a 5-hour and a weekly window that fill as it serves requests and are
 * reported in `anthropic-ratelimit-unified-*` headers, and scripted misbehaviour (429s of every
 * kind, 529, 401, 500, errors inside a stream, stalls, dropped connections).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the mock cuts a reply's bytes into writes (each write is flushed before the next one starts,
 * so the client sees roughly one read per write):
 * - `per-event`: one write per server-sent event, as the API does (JSON bodies in one write);
 * - `one-write`: the status line, the headers and the whole body in a single write;
 * - `byte-by-byte`: one byte of the body per write;
 * - `{ cuts }`: the body split at these byte offsets (out-of-range and repeated offsets ignored).
 */
export type MockDelivery = 'per-event' | 'one-write' | 'byte-by-byte' | { readonly cuts: readonly number[] };

/** What the mock answers to one request (`delivery` overrides the mock's for this reply). */
export type MockReply = MockReplyKind & { readonly delivery?: MockDelivery };

/** The behaviours of {@link MockReply}. */
export type MockReplyKind =
  /** JSON, or a stream when the body asks for `"stream": true` (the default reply). */
  | { readonly kind: 'auto'; readonly delayMs?: number }
  /** 429 whose window is `rejected` until `resetInSecs` from now. */
  | { readonly kind: 'window-429'; readonly window?: '5h' | '7d'; readonly resetInSecs?: number; readonly delayMs?: number }
  /** 429 with `retry-after` and the ordinary (allowed) window headers: a burst limit. */
  | { readonly kind: 'burst-429'; readonly retryAfterSecs: number; readonly delayMs?: number }
  /** 429 with `x-should-retry: true` and no rate-limit header: about this request only. */
  | { readonly kind: 'request-scoped-429'; readonly delayMs?: number }
  /** Any other status with an Anthropic error body (529, 401, 403, 500, 400, …). */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSecs?: number; readonly delayMs?: number }
  /**
   * A 200 stream that sends `afterEvents` events, then (after `errorDelayMs`) an `event: error` of
   * `errorType`, then ends.
   */
  | {
      readonly kind: 'stream-error';
      readonly errorType: string;
      readonly afterEvents?: number;
      readonly errorDelayMs?: number;
      readonly delayMs?: number;
    }
  /** A 200 stream that sends `afterEvents` events and then nothing, until the connection closes. */
  | { readonly kind: 'stall'; readonly afterEvents?: number }
  /** No answer at all until the connection closes. */
  | { readonly kind: 'stall-headers' }
  /** Destroy the connection: before the headers, or after `afterEvents` events of a stream. */
  | { readonly kind: 'drop'; readonly afterEvents?: number };

/** One account the mock knows. */
export interface MockAccountOptions {
  /** Name, echoed in the reply text ("served by …") and in the request log. */
  readonly name: string;
  /** The API key that selects this account (`x-api-key`, or an OAuth `authorization: Bearer` token). */
  readonly key: string;
  /**
   * 5-hour utilization at start (0..1).
   * @default 0
   */
  readonly utilization5h?: number;
  /**
   * Weekly utilization at start (0..1).
   * @default 0
   */
  readonly utilization7d?: number;
}

/** Options for {@link createMockUpstream}. */
export interface MockUpstreamOptions {
  /** The accounts, each selected by its key. */
  readonly accounts: readonly MockAccountOptions[];
  /**
   * The clock for window resets, in epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * 5-hour utilization each served request adds (the weekly window gets a tenth of it).
   * @default 0.001
   */
  readonly usagePerRequest?: number;
  /**
   * Text deltas in a streamed reply.
   * @default 3
   */
  readonly streamDeltas?: number;
  /**
   * How replies' bytes are cut into writes (see {@link MockDelivery}).
   * @default 'per-event'
   */
  readonly delivery?: MockDelivery;
  /**
   * How many of the latest requests {@link MockUpstream.requests} keeps, bodies and all; older ones
   * are dropped. A long benchmark sets 0: a log of every request grows without bound (1 MB bodies
   * at a hundred a second took the mock past 14 GB in five minutes, and its collections stalled
   * every target it served).
   * @default Infinity
   */
  readonly requestLog?: number;
}

/** One request as the mock received it. */
export interface MockRequest {
  /** Sequence number, from 1. */
  readonly seq: number;
  /** The account its key selected, or null for an unknown key. */
  readonly account: string | null;
  readonly method: string;
  /** Path and query string, as received. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body bytes, as received. */
  readonly body: Buffer;
  /** What the mock answered. */
  readonly reply: MockReply['kind'] | 'unauthorized' | 'bad-request' | 'not-found';
  /** Settles when the exchange ends: `finished`, or `aborted` when the client went away first. */
  readonly closed: Promise<'finished' | 'aborted'>;
  /** What the mock sent back: the status (null before the headers) and every body byte written so far. */
  readonly sent: { status: number | null; readonly body: Buffer[] };
}

/** A running (or ready to run) mock upstream. */
export interface MockUpstream {
  /** Start listening on 127.0.0.1; resolves to the base URL. */
  listen(port?: number): Promise<string>;
  /** Stop listening and drop every open connection. */
  close(): Promise<void>;
  /** The base URL (after {@link MockUpstream.listen}). */
  readonly url: string;
  /** Queue replies for an account's next requests (then it answers `auto` again). */
  script(account: string, ...replies: MockReply[]): void;
  /** Every request received, in order. */
  readonly requests: MockRequest[];
  /** An account's current windows (mutable: tests set utilization directly). */
  window(account: string): MockWindow;
  /** Forget the request log and every queued reply. */
  reset(): void;
  /** Make `key` the only key that selects `account` (an OAuth token rotated: the old one now gets a 401). */
  setKey(account: string, key: string): void;
  /** How later replies are cut into writes (a reply's own `delivery` still wins). */
  setDelivery(delivery: MockDelivery): void;
}

/** One account's windows in the mock. */
export interface MockWindow {
  utilization5h: number;
  utilization7d: number;
  /** Epoch seconds. */
  reset5hSecs: number;
  /** Epoch seconds. */
  reset7dSecs: number;
}

/**
 * Create a mock Anthropic upstream.
 *
 * @example
 * ```ts
 * const mock = createMockUpstream({ accounts: [{ name: 'work', key: 'k-work' }] });
 * const url = await mock.listen();
 * mock.script('work', { kind: 'burst-429', retryAfterSecs: 30 });
 * ```
 */
export function createMockUpstream(options: MockUpstreamOptions): MockUpstream {
  const now = options.now ?? Date.now;
  const usage = options.usagePerRequest ?? 0.001;
  const deltas = options.streamDeltas ?? 3;
  let defaultDelivery: MockDelivery = options.delivery ?? 'per-event';
  const byKey = new Map<string, AccountState>();
  const byName = new Map<string, AccountState>();
  for (const account of options.accounts) {
    const t = Math.floor(now() / 1000);
    const state: AccountState = {
      name: account.name,
      queue: [],
      window: {
        utilization5h: account.utilization5h ?? 0,
        utilization7d: account.utilization7d ?? 0,
        reset5hSecs: t + 5 * 3600,
        reset7dSecs: t + 7 * 86_400,
      },
    };
    byKey.set(account.key, state);
    byName.set(account.name, state);
  }
  const requests: MockRequest[] = [];
  const requestLog = options.requestLog ?? Number.POSITIVE_INFINITY;
  if (!(requestLog >= 0)) throw new RangeError(`createMockUpstream: requestLog must be a number ≥ 0, got ${String(options.requestLog)}`);
  let seq = 0;
  let url = '';
  let server: Server | null = null;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bearer = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
      const key = req.headers['x-api-key'] ?? bearer;
      const state = typeof key === 'string' ? byKey.get(key) : undefined;
      let reply: MockRequest['reply'];
      let parsed: { stream?: unknown; model?: unknown } | null = null;
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (state === undefined) {
        reply = 'unauthorized';
      } else if (!path.startsWith('/v1/')) {
        reply = 'not-found';
      } else {
        if (req.method === 'POST') parsed = parseBody(body);
        reply = req.method === 'POST' && parsed === null ? 'bad-request' : 'auto';
      }
      const scripted = state !== undefined && reply === 'auto' ? state.queue.shift() : undefined;
      const chosen: MockReply = scripted ?? { kind: 'auto' };
      if (reply === 'auto') reply = chosen.kind;
      seq += 1;
      const sent: MockRequest['sent'] = { status: null, body: [] };
      if (requestLog > 0) {
        const closed = new Promise<'finished' | 'aborted'>((resolve) => {
          res.on('close', () => resolve(res.writableFinished ? 'finished' : 'aborted'));
        });
        if (requests.length >= requestLog) requests.splice(0, requests.length - requestLog + 1);
        requests.push({
          seq,
          account: state?.name ?? null,
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: { ...req.headers },
          body,
          reply,
          closed,
          sent,
        });
      }
      const out = writer(res, sent, chosen.delivery ?? defaultDelivery);
      const id = `req_mock_${seq}`;
      if (state === undefined) {
        sendError(out, 401, 'authentication_error', 'invalid x-api-key', {}, id);
        return;
      }
      if (reply === 'not-found') {
        sendError(out, 404, 'not_found_error', `no route ${req.method} ${path}`, {}, id);
        return;
      }
      if (reply === 'bad-request') {
        sendError(out, 400, 'invalid_request_error', 'the body is not valid JSON', windowHeaders(state), id);
        return;
      }
      const delayMs = 'delayMs' in chosen ? (chosen.delayMs ?? 0) : 0;
      const respond = (): void => answer(state, chosen, req, out, path, parsed, id);
      if (delayMs > 0) setTimeout(respond, delayMs);
      else respond();
    });
  };

  const rollWindows = (state: AccountState): void => {
    const t = Math.floor(now() / 1000);
    if (state.window.reset5hSecs <= t) {
      state.window.utilization5h = 0;
      state.window.reset5hSecs = t + 5 * 3600;
    }
    if (state.window.reset7dSecs <= t) {
      state.window.utilization7d = 0;
      state.window.reset7dSecs = t + 7 * 86_400;
    }
  };

  const windowHeaders = (state: AccountState, override?: { window: '5h' | '7d'; resetSecs: number }): Record<string, string> => {
    rollWindows(state);
    const w = state.window;
    const status = (u: number): string => (u >= 1 ? 'rejected' : u >= 0.8 ? 'allowed_warning' : 'allowed');
    const headers: Record<string, string> = {
      'anthropic-ratelimit-unified-5h-utilization': round(w.utilization5h),
      'anthropic-ratelimit-unified-5h-reset': String(w.reset5hSecs),
      'anthropic-ratelimit-unified-5h-status': status(w.utilization5h),
      'anthropic-ratelimit-unified-7d-utilization': round(w.utilization7d),
      'anthropic-ratelimit-unified-7d-reset': String(w.reset7dSecs),
      'anthropic-ratelimit-unified-7d-status': status(w.utilization7d),
      'anthropic-ratelimit-unified-representative-claim': w.utilization7d > w.utilization5h ? 'seven_day' : 'five_hour',
    };
    if (override !== undefined) {
      headers[`anthropic-ratelimit-unified-${override.window}-utilization`] = '1';
      headers[`anthropic-ratelimit-unified-${override.window}-status`] = 'rejected';
      headers[`anthropic-ratelimit-unified-${override.window}-reset`] = String(override.resetSecs);
    }
    const rejected = Object.entries(headers).some(([name, value]) => name.endsWith('-status') && value === 'rejected');
    headers['anthropic-ratelimit-unified-status'] = rejected ? 'rejected' : 'allowed';
    return headers;
  };

  const answer = (
    state: AccountState,
    reply: MockReply,
    req: IncomingMessage,
    out: ReplyWriter,
    path: string,
    parsed: { stream?: unknown; model?: unknown } | null,
    id: string,
  ): void => {
    if (out.res.destroyed) return;
    const model = typeof parsed?.model === 'string' ? parsed.model : 'claude-mock';
    switch (reply.kind) {
      case 'auto': {
        // The window model: a full window answers 429 on its own.
        rollWindows(state);
        if (state.window.utilization5h >= 1 || state.window.utilization7d >= 1) {
          sendError(out, 429, 'rate_limit_error', 'rate limit exceeded', windowHeaders(state), id);
          return;
        }
        state.window.utilization5h += usage;
        state.window.utilization7d += usage / 10;
        const headers = windowHeaders(state);
        if (req.method === 'GET' && path === '/v1/models') {
          sendJson(out, 200, { data: [{ type: 'model', id: 'claude-mock', display_name: 'Claude Mock' }], has_more: false }, headers, id);
        } else if (path === '/v1/messages/count_tokens') {
          sendJson(out, 200, { input_tokens: 42 }, headers, id);
        } else if (parsed?.stream === true) {
          sendStream(out, streamEvents(state.name, model, deltas, id), headers, id, 'end');
        } else {
          sendJson(out, 200, message(state.name, model, id), headers, id);
        }
        return;
      }
      case 'window-429': {
        const window = reply.window ?? '5h';
        const resetSecs = Math.floor(now() / 1000) + (reply.resetInSecs ?? 3600);
        sendError(out, 429, 'rate_limit_error', `the ${window} window is exhausted`, windowHeaders(state, { window, resetSecs }), id);
        return;
      }
      case 'burst-429':
        sendError(out, 429, 'rate_limit_error', 'too many requests', { ...windowHeaders(state), 'retry-after': String(reply.retryAfterSecs) }, id);
        return;
      case 'request-scoped-429':
        sendError(out, 429, 'rate_limit_error', 'this request was rate limited', { 'x-should-retry': 'true' }, id);
        return;
      case 'status': {
        const headers: Record<string, string> = reply.status === 401 ? {} : windowHeaders(state);
        if (reply.retryAfterSecs !== undefined) headers['retry-after'] = String(reply.retryAfterSecs);
        sendError(out, reply.status, ERROR_TYPES[reply.status] ?? 'api_error', `mock status ${reply.status}`, headers, id);
        return;
      }
      case 'stream-error': {
        const events = streamEvents(state.name, model, deltas, id).slice(0, reply.afterEvents ?? 2);
        const error = sseFrame('error', { type: 'error', error: { type: reply.errorType, message: `mock ${reply.errorType}` } });
        if ((reply.errorDelayMs ?? 0) === 0) {
          sendStream(out, [...events, error], windowHeaders(state), id, 'end');
          return;
        }
        sendStream(out, events, windowHeaders(state), id, 'open');
        setTimeout(() => out.body([error], 'end'), reply.errorDelayMs);
        return;
      }
      case 'stall':
        sendStream(out, streamEvents(state.name, model, deltas, id).slice(0, reply.afterEvents ?? 1), windowHeaders(state), id, 'open');
        return;
      case 'stall-headers':
        return;
      case 'drop':
        if (reply.afterEvents === undefined) {
          req.socket.destroy();
          return;
        }
        sendStream(out, streamEvents(state.name, model, deltas, id).slice(0, reply.afterEvents), windowHeaders(state), id, 'destroy');
        return;
    }
  };

  return {
    async listen(port = 0) {
      const srv = createServer({ keepAliveTimeout: 30_000 }, handle);
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', () => resolve());
      });
      url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      return url;
    },
    async close() {
      const srv = server;
      if (srv === null) return;
      server = null;
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      });
    },
    get url() {
      return url;
    },
    script(account, ...replies) {
      const state = byName.get(account);
      if (state === undefined) throw new Error(`mock upstream: no account named ${JSON.stringify(account)}`);
      state.queue.push(...replies);
    },
    requests,
    window(account) {
      const state = byName.get(account);
      if (state === undefined) throw new Error(`mock upstream: no account named ${JSON.stringify(account)}`);
      return state.window;
    },
    reset() {
      requests.length = 0;
      for (const state of byName.values()) state.queue.length = 0;
    },
    setDelivery(delivery) {
      defaultDelivery = delivery;
    },
    setKey(account, key) {
      const state = byName.get(account);
      if (state === undefined) throw new Error(`mock upstream: no account named ${JSON.stringify(account)}`);
      for (const [k, s] of byKey) if (s === state) byKey.delete(k);
      byKey.set(key, state);
    },
  };
}

interface AccountState {
  readonly name: string;
  readonly queue: MockReply[];
  readonly window: MockWindow;
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'api_error',
  504: 'api_error',
  529: 'overloaded_error',
};

/**
 * The request's `stream` and `model`. A body over 64 KiB is not parsed in full (the benchmark
 * sends 1 MB ones, and parsing them would make the mock the bottleneck): it counts as JSON when it
 * is braced, and streams when it says `"stream":true` anywhere.
 */
function parseBody(body: Buffer): { stream?: unknown; model?: unknown } | null {
  if (body.length > 65_536) {
    const text = body.toString('latin1', 0, 256) + body.toString('latin1', body.length - 256);
    if (!/^\s*\{/.test(text) || !/\}\s*$/.test(text)) return null;
    const model = /"model"\s*:\s*"([^"]*)"/.exec(text)?.[1];
    const stream = body.includes('"stream":true') || body.includes('"stream": true');
    return { stream, ...(model === undefined ? {} : { model }) };
  }
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as { stream?: unknown; model?: unknown }) : null;
  } catch {
    return null;
  }
}

function round(value: number): string {
  return String(Math.round(value * 10_000) / 10_000);
}

/** Writes one reply with a delivery: the headers, then body parts cut as the delivery says. */
interface ReplyWriter {
  readonly res: ServerResponse;
  /** Send the status and headers with the first body bytes (or alone, for an open stream with no body yet). */
  head(status: number, headers: Record<string, string | number>): void;
  /**
   * Write `parts` (events, or one JSON body), then `end` the response, leave it `open`, or
   * `destroy` the connection. Parts queue behind any earlier ones.
   */
  body(parts: readonly string[], then: 'end' | 'open' | 'destroy'): void;
}

function writer(res: ServerResponse, sent: MockRequest['sent'], delivery: MockDelivery): ReplyWriter {
  let pending: { status: number; headers: Record<string, string | number> } | null = null;
  // Writes go out one per turn of the event loop, each flushed on its own (no Nagle, no corking).
  let queue: Promise<void> = Promise.resolve();
  res.socket?.setNoDelay(true);
  const flushHead = (): void => {
    if (pending === null) return;
    res.writeHead(pending.status, pending.headers);
    pending = null;
  };
  const writeOne = (bytes: Buffer, last: boolean, then: 'end' | 'open' | 'destroy'): Promise<void> =>
    new Promise((resolve) => {
      if (res.destroyed) {
        resolve();
        return;
      }
      flushHead();
      sent.body.push(bytes);
      if (last && then === 'end') {
        res.end(bytes, () => resolve());
        return;
      }
      if (bytes.length === 0) {
        // Headers only: flush them now so the client sees the response start.
        res.flushHeaders();
        setImmediate(resolve);
        return;
      }
      res.write(bytes, () => setImmediate(resolve));
    });
  return {
    res,
    head(status, headers) {
      sent.status = status;
      pending = { status, headers };
    },
    body(parts, then) {
      const pieces = cut(parts, delivery);
      queue = queue.then(async () => {
        if (pieces.length === 0) pieces.push(Buffer.alloc(0));
        for (let i = 0; i < pieces.length; i++) {
          await writeOne(pieces[i] as Buffer, i === pieces.length - 1, then);
        }
        if (then === 'destroy' && !res.destroyed) res.socket?.destroy();
      });
    },
  };
}

/** The writes a delivery makes of some body parts. */
function cut(parts: readonly string[], delivery: MockDelivery): Buffer[] {
  if (delivery === 'per-event') return parts.map((part) => Buffer.from(part));
  const whole = Buffer.from(parts.join(''));
  if (delivery === 'one-write') return [whole];
  const offsets =
    delivery === 'byte-by-byte'
      ? Array.from({ length: Math.max(0, whole.length - 1) }, (_, i) => i + 1)
      : [...new Set(delivery.cuts)].filter((at) => at > 0 && at < whole.length).sort((x, y) => x - y);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    pieces.push(whole.subarray(from, at));
    from = at;
  }
  pieces.push(whole.subarray(from));
  return pieces;
}

function sendJson(out: ReplyWriter, status: number, body: unknown, headers: Record<string, string>, id: string): void {
  const text = JSON.stringify(body);
  out.head(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': id });
  out.body([text], 'end');
}

function sendError(out: ReplyWriter, status: number, type: string, message: string, headers: Record<string, string>, id: string): void {
  sendJson(out, status, { type: 'error', error: { type, message } }, headers, id);
}

function sendStream(out: ReplyWriter, events: string[], headers: Record<string, string>, id: string, then: 'end' | 'open' | 'destroy'): void {
  out.head(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': id });
  // `per-event` writes one event per write, as the API does: the proxy sees events split across chunks.
  out.body(events, then);
}

function message(account: string, model: string, id: string): unknown {
  return {
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: `served by ${account}` }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 4 },
  };
}

function streamEvents(account: string, model: string, deltas: number, id: string): string[] {
  const events = [
    sseFrame('message_start', {
      type: 'message_start',
      message: {
        id: `msg_${id}`,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1 },
      },
    }),
    sseFrame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    sseFrame('ping', { type: 'ping' }),
  ];
  // The text is always exactly "served by <account>", spread over `deltas` events.
  const words = `served by ${account}`.split(' ').map((word, i) => (i === 0 ? word : ` ${word}`));
  const n = Math.max(1, deltas);
  for (let i = 0; i < n; i++) {
    const text = words.slice(Math.floor((i * words.length) / n), Math.floor(((i + 1) * words.length) / n)).join('');
    events.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }));
  }
  events.push(
    sseFrame('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sseFrame('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } }),
    sseFrame('message_stop', { type: 'message_stop' }),
  );
  return events;
}

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
