/**
 * @module
 * The control API (default 127.0.0.1:19081), in the Rust shunt's shape: `GET /health`,
 * `GET /status`, `POST /use`, `GET|POST|DELETE /strategy`; plus `GET /metrics` (Prometheus).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompleteStateStore, RateLimitInfo } from '@shunt/core';
import { hostName, isLoopbackHost, isLoopbackOrigin } from './address.js';
import type { Logger } from './logger.js';
import type { ProxyAccount, ShuntProxy } from './proxy.js';
import type { TraceRecorder } from './recorder.js';
import type { StateStatus } from './state.js';

/** One account in the `/status` report. */
export interface AccountStatus {
  readonly name: string;
  readonly plan_type: string;
  /** The credential's kind (`api_key`, …), or null when the account has none. */
  readonly credential: string | null;
  /**
   * `available`, `cooling`, `exhausted` (a rejected window), `disabled`, or `needs_login` (a
   * subscription account whose token refresh was refused: run `shunt login`).
   */
  readonly status: 'available' | 'cooling' | 'exhausted' | 'disabled' | 'needs_login';
  /** True when a request could be routed here now. */
  readonly available: boolean;
  readonly disabled: boolean;
  readonly disabled_reason: string | null;
  /** End of the running cooldown in epoch milliseconds, 0 when none (as in the Rust shunt). */
  readonly cooldown_until_ms: number;
  /** 5-hour utilization (0 when unknown or reset). */
  readonly utilization_5h: number;
  /** 5-hour reset in epoch seconds, or null. */
  readonly reset_5h: number | null;
  readonly status_5h: string | null;
  readonly utilization_7d: number;
  readonly reset_7d: number | null;
  readonly status_7d: string | null;
  /** The stored rate-limit record as last merged, or null when none was seen yet. */
  readonly rate_limit: {
    readonly utilization_5h: number | null;
    readonly reset_5h: number | null;
    readonly status_5h: string | null;
    readonly utilization_7d: number | null;
    readonly reset_7d: number | null;
    readonly status_7d: string | null;
    readonly representative_claim: string | null;
    readonly updated_ms: number;
  } | null;
}

/** The `/status` report. */
export interface ProxyStatus {
  readonly version: string;
  readonly started_ms: number;
  readonly strategy: { readonly name: string; readonly source: 'config' | 'override' };
  readonly pinned_account: string | null;
  readonly last_used_account: string | null;
  /** Requests under way (held ones included). */
  readonly in_flight: number;
  /** Requests held, waiting for an account to come back. */
  readonly held: number;
  /**
   * Where the routing state lives and its health: `{backend: "memory", path, last_saved_ms,
   * last_error}` or `{backend: "redis", key_prefix, connected, degraded_since_ms, last_sync_ms,
   * pending_writes, last_heartbeat_ms}` (`{backend: "custom"}` for a store passed in by an embedder).
   */
  readonly state: StateStatus;
  /** The trace recording, or null when the proxy records none. */
  readonly recording: RecordingStatus | null;
  /** The proxy's process id (`shunt stop` signals it). */
  readonly pid: number;
  readonly accounts: readonly AccountStatus[];
}

/** The `recording` section of `/status`: where rows go and whether they get there. */
export interface RecordingStatus {
  readonly path: string;
  /** Rows accepted since the start. */
  readonly rows: number;
  /** Rows lost since the start (a failing disk, or a disk that cannot keep up). */
  readonly dropped: number;
  readonly rotations: number;
  /** Why writes are failing now, or null while they succeed. */
  readonly last_error: string | null;
  /** Since when writes have been failing, epoch ms, or null. */
  readonly failing_since_ms: number | null;
}

/** Everything {@link statusReport} reads. */
export interface StatusInput {
  readonly version: string;
  readonly startedMs: number;
  readonly store: CompleteStateStore;
  readonly accounts: readonly ProxyAccount[];
  readonly strategy: { readonly name: string; readonly source: 'config' | 'override' };
  readonly inFlight: number;
  readonly held: number;
  /** The state backend's health. @default { backend: 'custom' } */
  readonly state?: StateStatus | undefined;
  /** The trace recorder. @default none */
  readonly recorder?: Pick<TraceRecorder, 'path' | 'stats'> | null | undefined;
}

/** Build the `/status` report from the store. */
export function statusReport(input: StatusInput): ProxyStatus {
  const { store } = input;
  return {
    version: input.version,
    started_ms: input.startedMs,
    strategy: input.strategy,
    pinned_account: store.getPinned(),
    last_used_account: store.getLastUsed(),
    in_flight: input.inFlight,
    held: input.held,
    state: input.state ?? { backend: 'custom' },
    recording: input.recorder == null ? null : recordingStatus(input.recorder),
    pid: process.pid,
    accounts: input.accounts.map((account) => accountStatus(store, account)),
  };
}

/** Options for {@link createControlHandler}. */
export interface ControlOptions {
  /** The proxy it controls. */
  readonly proxy: ShuntProxy;
  readonly logger: Logger;
  /** When set, every call must send `authorization: Bearer <token>`. */
  readonly controlToken: string | null;
  /** Refuse requests whose Host header is not a loopback name (DNS rebinding). */
  readonly checkHost: boolean;
}

/** The control listener's request handler. */
export function createControlHandler(options: ControlOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { proxy, logger } = options;
  const token = options.controlToken === null ? null : Buffer.from(options.controlToken);
  const names = new Set(proxy.accounts.map((a) => a.name));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (options.checkHost && req.headers.host !== undefined && !isLoopbackHost(hostName(req.headers.host))) {
      send(res, 403, { error: `refusing a request addressed to ${JSON.stringify(req.headers.host)}` });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isLoopbackOrigin(origin)) {
      send(res, 403, { error: 'refusing a cross-site request from a web page' });
      return;
    }
    if (token !== null) {
      const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
      const given = presented === undefined ? null : Buffer.from(presented);
      if (given === null || given.length !== token.length || !timingSafeEqual(given, token)) {
        send(res, 401, { error: 'missing or wrong control token (authorization: Bearer <control_token>)' });
        return;
      }
    }

    if (path === '/health' && method === 'GET') {
      send(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/status' && method === 'GET') {
      send(res, 200, proxy.status());
      return;
    }
    if (path === '/metrics' && method === 'GET') {
      const { contentType, body } = await proxy.metrics();
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === '/use' && method === 'POST') {
      // Anything but a name or "auto" is refused: a typo must not silently unpin.
      const body = await readFields(req, ['account'], USE_EXAMPLE);
      const account = body.ok ? stringField(body.value, 'account', 'an account name or "auto"', USE_EXAMPLE) : body;
      if (!account.ok) {
        send(res, 400, { error: account.error });
        return;
      }
      if (account.value === 'auto') {
        proxy.store.setPinned(null);
        logger.info('pin', { pinned: null });
        send(res, 200, { pinned: 'auto' });
        return;
      }
      if (!names.has(account.value)) {
        send(res, 400, { error: `unknown account '${account.value}'`, accounts: [...names] });
        return;
      }
      proxy.store.setPinned(account.value);
      logger.info('pin', { pinned: account.value });
      send(res, 200, { pinned: account.value });
      return;
    }
    if (path === '/strategy') {
      if (method === 'GET') {
        send(res, 200, { strategy: proxy.strategy().name, source: proxy.strategy().source });
        return;
      }
      if (method === 'DELETE') {
        proxy.setStrategy(null);
        send(res, 200, { strategy: proxy.strategy().name, source: 'config' });
        return;
      }
      if (method === 'POST') {
        const body = await readFields(req, ['strategy'], STRATEGY_EXAMPLE);
        const name = body.ok ? stringField(body.value, 'strategy', 'a strategy name', STRATEGY_EXAMPLE) : body;
        if (!name.ok) {
          send(res, 400, { error: name.error, strategies: STRATEGIES });
          return;
        }
        try {
          proxy.setStrategy(name.value);
        } catch {
          send(res, 400, { error: `unknown strategy '${name.value}'`, strategies: STRATEGIES });
          return;
        }
        send(res, 200, { strategy: proxy.strategy().name, source: 'override' });
        return;
      }
    }
    send(res, 404, { error: `no route for ${method} ${path}`, routes: ['GET /health', 'GET /status', 'GET /metrics', 'POST /use', 'GET|POST|DELETE /strategy'] });
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error('control request failed', { error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
}

function recordingStatus(recorder: Pick<TraceRecorder, 'path' | 'stats'>): RecordingStatus {
  const s = recorder.stats();
  return { path: recorder.path, rows: s.rows, dropped: s.dropped, rotations: s.rotations, last_error: s.lastError, failing_since_ms: s.failingSinceMs };
}

function accountStatus(store: CompleteStateStore, account: ProxyAccount): AccountStatus {
  const { name } = account;
  const disabledReason = store.disabledReason(name);
  const cooling = disabledReason === null && !store.isAvailable(name);
  const exhausted = store.isExhausted(name);
  const info = store.rateLimits(name);
  const reset5hSecs = store.reset5hSecs(name);
  const reset7dSecs = store.reset7dSecs(name);
  return {
    name,
    plan_type: account.planType,
    credential: account.credential?.kind ?? null,
    // A rejected window also cools the account until its reset: it is exhausted, not cooling.
    status: disabledReason === 'needs_login' ? 'needs_login' : disabledReason !== null ? 'disabled' : exhausted ? 'exhausted' : cooling ? 'cooling' : 'available',
    available: disabledReason === null && !cooling && !exhausted,
    disabled: disabledReason !== null,
    disabled_reason: disabledReason,
    cooldown_until_ms: store.cooldownUntilMs(name) ?? 0,
    utilization_5h: store.utilization5h(name),
    reset_5h: reset5hSecs,
    status_5h: reset5hSecs === null ? null : (info?.status5h ?? null),
    utilization_7d: store.utilization7d(name),
    reset_7d: reset7dSecs,
    status_7d: reset7dSecs === null ? null : (info?.status7d ?? null),
    rate_limit: info === null ? null : rateLimitView(info),
  };
}

function rateLimitView(info: RateLimitInfo): NonNullable<AccountStatus['rate_limit']> {
  return {
    utilization_5h: info.utilization5h ?? null,
    reset_5h: info.reset5hSecs ?? null,
    status_5h: info.status5h ?? null,
    utilization_7d: info.utilization7d ?? null,
    reset_7d: info.reset7dSecs ?? null,
    status_7d: info.status7d ?? null,
    representative_claim: info.representativeClaim ?? null,
    updated_ms: info.updatedMs,
  };
}

const USE_EXAMPLE = '{"account": "<name>"} or {"account": "auto"}';
const STRATEGY_EXAMPLE = '{"strategy": "<name>"}';
const STRATEGIES = ['maximus', 'cushion', 'reaper', 'carousel'];
const MAX_BODY_BYTES = 65_536;

/** What a control body held, or what is wrong with it (said so the caller can fix it). */
type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Read a body that must be a JSON object with no fields but `allowed`. */
async function readFields(req: IncomingMessage, allowed: readonly string[], example: string): Promise<Checked<Readonly<Record<string, unknown>>>> {
  const refuse = (what: string): Checked<never> => ({ ok: false, error: `${what}; send ${example}` });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Read to the end all the same, so the answer is not cut off by an unread request.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) return refuse(`the body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return refuse('the body is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the body: not repeated.
    return refuse('the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refuse(`the body must be a JSON object, not ${jsonKind(parsed)}`);
  const unknown = Object.keys(parsed).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) return refuse(`unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((key) => JSON.stringify(key)).join(', ')}`);
  return { ok: true, value: parsed as Record<string, unknown> };
}

/** The string field `name` of a body, or what is wrong with it. */
function stringField(fields: Readonly<Record<string, unknown>>, name: string, meaning: string, example: string): Checked<string> {
  const value = fields[name];
  if (value === undefined) return { ok: false, error: `missing field "${name}"; send ${example}` };
  if (typeof value !== 'string') return { ok: false, error: `"${name}" must be a string (${meaning}), not ${jsonKind(value)}; send ${example}` };
  return { ok: true, value };
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
