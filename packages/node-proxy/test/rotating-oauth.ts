/**
 * Test helper: a rotating OAuth token endpoint and the Messages API it protects, in one server on
 * 127.0.0.1, as claude.ai behaves for a subscription account:
 *
 * - every refresh issues a new access token and a new refresh token, and spends the old refresh
 *   token: presenting a spent (or unknown) one is answered 400 `invalid_grant`;
 * - an access token works until it expires (a rotation does not revoke the previous one early);
 *   an expired or unknown one gets a 401;
 * - every call is counted, so a test can say "exactly one token call per rotation".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthEntry } from '../src/credentials-file.js';

/** One call to the token endpoint. */
export interface TokenCall {
  readonly account: string | null;
  /** True when it rotated the tokens; false when refused (`invalid_grant`). */
  readonly ok: boolean;
  readonly atMs: number;
}

/** The server. */
export interface RotatingOAuth {
  /** The Messages API base URL (`server.upstream_url`). */
  readonly upstreamUrl: string;
  /** The token endpoint (`server.oauth_token_url`). */
  readonly tokenUrl: string;
  /** Fresh tokens for `account` (a login), expiring after `lifetimeMs` unless `expiresInMs` says otherwise. */
  login(account: string, expiresInMs?: number): OAuthEntry;
  /** Every call to the token endpoint. */
  readonly calls: TokenCall[];
  /** The refresh token that `account` can spend now. */
  liveRefreshToken(account: string): string | undefined;
  /** Messages requests answered 200, by account. */
  readonly served: Map<string, number>;
  /** Messages requests refused with a 401 (an expired or unknown access token). */
  unauthorized: number;
  close(): Promise<void>;
}

/** Start the server; tokens it issues live `lifetimeMs`. */
export async function rotatingOAuth(options: { readonly lifetimeMs: number; readonly now?: () => number }): Promise<RotatingOAuth> {
  const now = options.now ?? Date.now;
  const refreshTokens = new Map<string, string>(); // the live refresh token of each account
  const accessTokens = new Map<string, { account: string; expiresAtMs: number }>();
  let serial = 0;
  const issue = (account: string, lifeMs: number): OAuthEntry => {
    serial += 1;
    const access = `sk-ant-oat01-${account}-${serial}`;
    const refresh = `sk-ant-ort01-${account}-${serial}`;
    const expiresAtMs = now() + lifeMs;
    accessTokens.set(access, { account, expiresAtMs });
    refreshTokens.set(account, refresh);
    return { type: 'oauth', access_token: access, refresh_token: refresh, expires_at: expiresAtMs };
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const send = (status: number, json: unknown): void => {
      const text = JSON.stringify(json);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/v1/oauth/token') {
      const form = new URLSearchParams(body);
      const presented = form.get('refresh_token') ?? '';
      const account = [...refreshTokens].find(([, live]) => live === presented)?.[0] ?? null;
      server.calls.push({ account: account ?? /^sk-ant-ort01-(.+)-\d+$/.exec(presented)?.[1] ?? null, ok: account !== null, atMs: now() });
      if (account === null || form.get('grant_type') !== 'refresh_token') {
        send(400, { error: 'invalid_grant', error_description: 'Refresh token not found or invalid' });
        return;
      }
      const entry = issue(account, options.lifetimeMs);
      send(200, { access_token: entry.access_token, refresh_token: entry.refresh_token, expires_in: options.lifetimeMs / 1000, token_type: 'Bearer' });
      return;
    }
    if (req.method === 'POST' && path === '/v1/messages') {
      const token = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '')?.[1];
      const known = token === undefined ? undefined : accessTokens.get(token);
      if (known === undefined || now() >= known.expiresAtMs) {
        server.unauthorized += 1;
        send(401, { type: 'error', error: { type: 'authentication_error', message: 'OAuth token has expired' } });
        return;
      }
      server.served.set(known.account, (server.served.get(known.account) ?? 0) + 1);
      send(200, {
        id: `msg_${serial}`,
        type: 'message',
        role: 'assistant',
        model: 'claude-test-model',
        content: [{ type: 'text', text: `served by ${known.account}` }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 4 },
      });
      return;
    }
    send(404, { type: 'error', error: { type: 'not_found_error', message: 'not found' } });
  };

  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`;
  const server: RotatingOAuth = {
    upstreamUrl: base,
    tokenUrl: `${base}/v1/oauth/token`,
    login: (account, expiresInMs) => issue(account, expiresInMs ?? options.lifetimeMs),
    calls: [],
    liveRefreshToken: (account) => refreshTokens.get(account),
    served: new Map(),
    unauthorized: 0,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  return server;
}
