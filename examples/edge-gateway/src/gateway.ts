/**
 * @module
 * The routing loop that the Worker, the Bun server and the Deno server share: a web-standard
 * `Request` in, a `Response` out, with `@shunt/core` deciding which account serves it. Nothing here
 * is specific to a runtime; each entry point only says where the state lives.
 */
import { classifyResponse, completeStore, fingerprint, pickAccount, recordResponse, soonestAvailableMs, type StateStore } from '@shunt/core';

/** One pooled account and its Anthropic API key. */
export interface PooledAccount {
  readonly name: string;
  readonly apiKey: string;
}

/** What {@link createGateway} needs. */
export interface GatewayOptions {
  readonly accounts: readonly PooledAccount[];
  /** Where the routing state lives: a `memoryStore()`, one restored from a Durable Object, … */
  readonly store: StateStore;
  /** @default 'https://api.anthropic.com' */
  readonly upstreamUrl?: string | undefined;
  /** Called after each upstream answer was recorded, e.g. to persist the store. */
  readonly onRecorded?: (() => Promise<void> | void) | undefined;
}

/** Answers `POST /v1/*` through the pool and `GET /status` with each account's state. */
export interface Gateway {
  handle(request: Request): Promise<Response>;
}

/** Build the gateway. */
export function createGateway(options: GatewayOptions): Gateway {
  const { accounts, store, onRecorded } = options;
  const upstreamUrl = options.upstreamUrl ?? 'https://api.anthropic.com';
  let requests = 0;

  async function forward(request: Request, path: string): Promise<Response> {
    // Read once: a failover sends the same body to the next account.
    const body = await request.text();
    const conversation = fingerprint(body);
    // A 5xx cools an account only once several distinct requests failed on it.
    const requestKey = String(requests++);
    const tried = new Set<string>();
    for (;;) {
      const account = pickAccount(accounts, store, { fingerprint: conversation, tried });
      if (account === null) return overloaded(soonestAvailableMs(accounts, store));
      const headers = new Headers(request.headers);
      headers.delete('authorization');
      headers.delete('host');
      headers.set('x-api-key', account.apiKey);
      const response = await fetch(`${upstreamUrl}${path}`, { method: 'POST', headers, body });
      const action = classifyResponse({ status: response.status, headers: response.headers }, { nowMs: store.now(), canRefresh: false });
      recordResponse(store, account, action, { requestKey });
      await onRecorded?.();
      if (action.kind === 'failover') {
        // A 429, 529 or 5xx: the client never sees it; the next account is tried.
        await response.body?.cancel();
        tried.add(account.name);
        continue;
      }
      const answer = new Headers(response.headers);
      answer.set('x-shunt-account', account.name);
      return new Response(response.body, { status: response.status, headers: answer });
    }
  }

  function overloaded(backMs: number | null): Response {
    const retryAfter: Record<string, string> = backMs === null ? {} : { 'retry-after': String(Math.max(1, Math.ceil((backMs - store.now()) / 1000))) };
    return Response.json(
      { type: 'error', error: { type: 'overloaded_error', message: 'every account is cooling or out of quota' } },
      { status: 503, headers: retryAfter },
    );
  }

  function status(): Response {
    // A store may leave the readings out (core derives them): read through the complete view.
    const view = completeStore(store);
    return Response.json({
      accounts: accounts.map(({ name }) => ({
        name,
        available: view.isAvailable(name) && !view.isExhausted(name),
        cooldownUntilMs: view.cooldownUntilMs(name),
        utilization5h: view.utilization5h(name),
        utilization7d: view.utilization7d(name),
      })),
    });
  }

  return {
    async handle(request) {
      const { pathname, search } = new URL(request.url);
      if (request.method === 'GET' && pathname === '/status') return status();
      if (request.method === 'POST' && pathname.startsWith('/v1/')) return forward(request, pathname + search);
      return new Response('not found', { status: 404 });
    },
  };
}

/** Parse `[{"name":"work","apiKey":"sk-ant-…"}, …]` from an environment variable or secret. */
export function parseAccounts(json: string | undefined): PooledAccount[] {
  const parsed: unknown = JSON.parse(json ?? '[]');
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error('ACCOUNTS: expected a JSON array of { name, apiKey }, got none');
  return parsed.map((entry: unknown, i) => {
    const { name, apiKey } = (entry ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof apiKey !== 'string') throw new Error(`ACCOUNTS[${String(i)}]: expected { name, apiKey } strings`);
    return { name, apiKey };
  });
}
