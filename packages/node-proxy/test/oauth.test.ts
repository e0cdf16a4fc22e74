/**
 * Subscription (OAuth) accounts end to end: the official SDK (maxRetries: 0) → the proxy → the
 * mock upstream, with a mock OAuth token endpoint on 127.0.0.1. Expiry-driven and 401-driven
 * refresh, one refresh for many concurrent requests, a refused refresh, tokens persisted before
 * use, `shunt login` / `shunt import-claude-code`, and no token in any log line.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsFile, type CredentialsFile, type OAuthEntry } from '../src/credentials-file.js';
import { accountCredentials } from '../src/oauth-accounts.js';
import { runLogin } from '../src/oauth-login.js';
import { fakeClock, messageParams, runMain, startStack, T0_MS, textOf, type FakeClock, type Stack } from './helpers.js';

interface TokenCall {
  readonly contentType: string | undefined;
  readonly body: string;
}

interface TokenEndpoint {
  readonly url: string;
  readonly calls: TokenCall[];
  /** What the next calls get. */
  reply: (call: TokenCall) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown };
  close(): Promise<void>;
}

async function tokenEndpoint(): Promise<TokenEndpoint> {
  const calls: TokenCall[] = [];
  const endpoint: TokenEndpoint = {
    url: '',
    calls,
    reply: () => ({ status: 500, body: { error: 'not_scripted' } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = { contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() };
      calls.push(call);
      void Promise.resolve(endpoint.reply(call)).then(({ status, body }) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (endpoint as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/oauth/token`;
  return endpoint;
}

const ACCESS_1 = 'sk-ant-oat01-ACCESS-ONE';
const REFRESH_1 = 'sk-ant-ort01-REFRESH-ONE';
const ACCESS_2 = 'sk-ant-oat01-ACCESS-TWO';
const REFRESH_2 = 'sk-ant-ort01-REFRESH-TWO';
const SECRETS = [ACCESS_1, REFRESH_1, ACCESS_2, REFRESH_2];

interface OAuthStack {
  readonly stack: Stack;
  readonly token: TokenEndpoint;
  readonly clock: FakeClock;
  readonly path: string;
  /** For each completed write of the credentials file: how many requests the upstream had seen. */
  readonly writes: Array<{ refreshToken: string; upstreamRequests: number }>;
}

let current: OAuthStack | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  if (current !== null) {
    // Whatever the test did, no token reached the log.
    const log = current.stack.logs.join('\n');
    for (const secret of SECRETS) expect(log).not.toContain(secret);
    await current.stack.close();
    await current.token.close();
  }
  current = null;
});

/** Account `max` (OAuth, access token ACCESS_1 until `expiresInMs`) pinned, and `b` (API key) as the fallback. */
async function start(expiresInMs = 3_600_000): Promise<OAuthStack> {
  const token = await tokenEndpoint();
  const clock = fakeClock();
  const dir = await mkdtemp(join(tmpdir(), 'shunt-oauth-'));
  const path = join(dir, 'credentials.json');
  const file = credentialsFile(path);
  await file.put('max', { type: 'oauth', access_token: ACCESS_1, refresh_token: REFRESH_1, expires_at: T0_MS + expiresInMs });
  const writes: OAuthStack['writes'] = [];
  let stack: Stack | null = null;
  const watched: CredentialsFile = {
    ...file,
    async put(name, entry) {
      await file.put(name, entry);
      writes.push({ refreshToken: (entry as OAuthEntry).refresh_token, upstreamRequests: stack?.mock.requests.length ?? -1 });
    },
  };
  const oauth = { credentialsPath: path, tokenUrl: token.url, authorizeUrl: 'http://127.0.0.1:9/authorize', clientId: 'test-client' };
  stack = await startStack({
    clock,
    accounts: [
      { name: 'max', key: ACCESS_1 },
      { name: 'b', key: 'key-b' },
    ],
    proxy: { credential: accountCredentials({ config: { oauth }, entries: await file.readAll(), file: watched }) },
  });
  stack.store.setPinned('max');
  current = { stack, token, clock, path, writes };
  return current;
}

/** The token endpoint rotates to ACCESS_2 / REFRESH_2 (after `delayMs`), and the upstream then only accepts ACCESS_2. */
function rotateOnRefresh(o: OAuthStack, delayMs = 0): void {
  o.token.reply = async () => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    o.stack.mock.setKey('max', ACCESS_2);
    return { status: 200, body: { access_token: ACCESS_2, refresh_token: REFRESH_2, expires_in: 3600 } };
  };
}

async function stored(path: string): Promise<OAuthEntry> {
  const json = JSON.parse(await readFile(path, 'utf8')) as { accounts: Record<string, OAuthEntry> };
  return json.accounts['max'] as OAuthEntry;
}

describe('subscription (OAuth) accounts through the proxy', () => {
  it('should send Bearer, merge the oauth beta into the client’s anthropic-beta, and never the client’s key', async () => {
    const o = await start();
    const message = await o.stack.client.messages.create(messageParams('hello'), { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    expect(textOf(message)).toBe('served by max');
    const seen = o.stack.mock.requests[0];
    expect(seen?.headers['authorization']).toBe(`Bearer ${ACCESS_1}`);
    expect(seen?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31,oauth-2025-04-20');
    expect(seen?.headers['x-api-key']).toBeUndefined();
    expect(o.token.calls).toHaveLength(0);
    expect((await o.stack.proxy.status()).accounts.find((a) => a.name === 'max')?.credential).toBe('oauth');
  });

  it('should refresh 5 minutes before expiry, before sending, and persist the rotated tokens first', async () => {
    const o = await start();
    rotateOnRefresh(o);
    o.clock.advance(3_600_000 - 4 * 60_000);
    const message = await o.stack.client.messages.create(messageParams('expiring'));
    expect(textOf(message)).toBe('served by max');
    expect(o.token.calls).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(o.token.calls[0]?.body))).toEqual({ grant_type: 'refresh_token', refresh_token: REFRESH_1, client_id: 'test-client' });
    // Only one request reached the upstream, with the new token, after the file had it.
    expect(o.stack.mock.requests.map((r) => r.headers['authorization'])).toEqual([`Bearer ${ACCESS_2}`]);
    expect(o.writes).toEqual([{ refreshToken: REFRESH_2, upstreamRequests: 0 }]);
    expect(await stored(o.path)).toMatchObject({ access_token: ACCESS_2, refresh_token: REFRESH_2, expires_at: o.clock.now() + 3_600_000 });
    expect((await stat(o.path)).mode & 0o777).toBe(0o600);
  });

  it('should refresh on a 401, persist, then retry the same account once', async () => {
    const o = await start();
    rotateOnRefresh(o);
    o.stack.mock.setKey('max', 'revoked-elsewhere'); // ACCESS_1 now gets a 401
    const message = await o.stack.client.messages.create(messageParams('401'));
    expect(textOf(message)).toBe('served by max');
    expect(o.token.calls).toHaveLength(1);
    expect(o.stack.mock.requests.map((r) => [r.headers['authorization'], r.reply])).toEqual([
      [`Bearer ${ACCESS_1}`, 'unauthorized'],
      [`Bearer ${ACCESS_2}`, 'auto'],
    ]);
    // The file had the rotated refresh token before the retried request reached the upstream.
    expect(o.writes).toEqual([{ refreshToken: REFRESH_2, upstreamRequests: 1 }]);
    const record = o.stack.records[0] ?? (await o.stack.nextRecord());
    expect(record.attempts.map((a) => [a.account, a.action])).toEqual([
      ['max', 'refresh'],
      ['max', 'success'],
    ]);
  });

  it('should make 50 concurrent requests during an expiry wait for one refresh', async () => {
    const o = await start();
    rotateOnRefresh(o, 50);
    o.clock.advance(3_600_000 - 60_000);
    const texts = await Promise.all(Array.from({ length: 50 }, (_, i) => o.stack.client.messages.create(messageParams(`c${i}`)).then(textOf)));
    expect(new Set(texts)).toEqual(new Set(['served by max']));
    expect(o.token.calls).toHaveLength(1);
    expect(o.stack.mock.requests).toHaveLength(50);
    expect(new Set(o.stack.mock.requests.map((r) => r.headers['authorization']))).toEqual(new Set([`Bearer ${ACCESS_2}`]));
  });

  it('should make 30 concurrent requests that all get a 401 share one refresh', async () => {
    const o = await start();
    rotateOnRefresh(o, 30);
    o.stack.mock.setKey('max', 'revoked-elsewhere');
    const texts = await Promise.all(Array.from({ length: 30 }, (_, i) => o.stack.client.messages.create(messageParams(`u${i}`)).then(textOf)));
    expect(new Set(texts)).toEqual(new Set(['served by max']));
    expect(o.token.calls).toHaveLength(1);
  });

  it('should mark a refused refresh needs_login: fail over now, skip the account after, show it in status', async () => {
    const o = await start();
    o.token.reply = () => ({ status: 400, body: { error: 'invalid_grant', error_description: `Refresh token ${REFRESH_1} not found` } });
    o.clock.advance(3_600_000 + 1);
    expect(textOf(await o.stack.client.messages.create(messageParams('dead')))).toBe('served by b');
    expect(textOf(await o.stack.client.messages.create(messageParams('dead again')))).toBe('served by b');
    expect(o.token.calls).toHaveLength(1);
    expect(o.stack.mock.requests.every((r) => r.account === 'b')).toBe(true);
    expect(o.stack.store.disabledReason('max')).toBe('needs_login');
    const status = await fetch(`${o.stack.controlUrl}/status`).then((r) => r.json() as Promise<{ accounts: Array<{ name: string; status: string; available: boolean }> }>);
    expect(status.accounts.find((a) => a.name === 'max')).toMatchObject({ status: 'needs_login', available: false });
    expect(o.stack.logs.some((l) => l.includes('needs a new login') && l.includes('invalid_grant'))).toBe(true);
  });

  it('should refresh on a 401 that the endpoint refuses: fail over to the next account and mark it needs_login', async () => {
    const o = await start();
    o.token.reply = () => ({ status: 401, body: { error: 'invalid_grant' } });
    o.stack.mock.setKey('max', 'revoked-elsewhere');
    expect(textOf(await o.stack.client.messages.create(messageParams('401 dead')))).toBe('served by b');
    expect(o.stack.store.disabledReason('max')).toBe('needs_login');
  });

  it('should not mark an account dead when the token endpoint is down: fail over and cool down briefly', async () => {
    const o = await start();
    o.token.reply = () => ({ status: 503, body: { error: 'unavailable' } });
    o.clock.advance(3_600_000 + 1);
    expect(textOf(await o.stack.client.messages.create(messageParams('down')))).toBe('served by b');
    expect(o.stack.store.disabledReason('max')).toBeNull();
    expect(o.stack.store.cooldownUntilMs('max')).toBeGreaterThan(o.clock.now());
    // Once it answers again, the next request after the cooldown refreshes and uses the account.
    rotateOnRefresh(o);
    o.clock.advance(60_000);
    expect(textOf(await o.stack.client.messages.create(messageParams('up')))).toBe('served by max');
    expect(o.token.calls).toHaveLength(2);
  });
});

describe('shunt login and shunt import-claude-code', () => {
  let token: TokenEndpoint | null = null;
  afterEach(async () => {
    await token?.close();
    token = null;
  });

  it('should run the PKCE flow against a mock endpoint and save the tokens 0600 without printing them', async () => {
    token = await tokenEndpoint();
    let challenge = '';
    token.reply = (call) => {
      const body = JSON.parse(call.body) as { code: string; code_verifier: string };
      const ok = body.code === 'the-code' && createHash('sha256').update(body.code_verifier).digest('base64url') === challenge;
      return ok ? { status: 200, body: { access_token: ACCESS_1, refresh_token: REFRESH_1, expires_in: 28_800 } } : { status: 400, body: { error: 'invalid_grant' } };
    };
    const dir = await mkdtemp(join(tmpdir(), 'shunt-login-'));
    const path = join(dir, 'shunt', 'credentials.json');
    const input = new PassThrough();
    let out = '';
    const target = { oauth: { credentialsPath: path, tokenUrl: token.url, authorizeUrl: 'https://auth.test/oauth/authorize', clientId: 'c1' }, accounts: null };
    const done = runLogin('max', target, {
      input,
      write: (text) => {
        out += text;
        const url = /https:\/\/auth\.test\S+/.exec(out)?.[0];
        if (url !== undefined && challenge === '') {
          const params = new URL(url).searchParams;
          challenge = params.get('code_challenge') ?? '';
          expect(params.get('code_challenge_method')).toBe('S256');
          expect(params.get('client_id')).toBe('c1');
          input.write(`the-code#${params.get('state') ?? ''}\n`);
        }
      },
      now: () => T0_MS,
    });
    await done;
    const entry = JSON.parse(await readFile(path, 'utf8')) as { accounts: Record<string, OAuthEntry> };
    expect(entry.accounts['max']).toEqual({ type: 'oauth', access_token: ACCESS_1, refresh_token: REFRESH_1, expires_at: T0_MS + 28_800_000 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(out).toContain('auth = "oauth"');
    for (const secret of SECRETS) expect(out).not.toContain(secret);
  });

  it('should exit 2 on a wrong pasted code, on no input, and without an account name', async () => {
    token = await tokenEndpoint();
    token.reply = () => ({ status: 400, body: { error: 'invalid_grant' } });
    const dir = await mkdtemp(join(tmpdir(), 'shunt-login-'));
    const target = { oauth: { credentialsPath: join(dir, 'c.json'), tokenUrl: token.url, authorizeUrl: 'https://auth.test/a', clientId: 'c1' }, accounts: null };
    const wrong = new PassThrough();
    wrong.end('bad-code\n');
    await expect(runLogin('max', target, { input: wrong, write: () => {} })).rejects.toMatchObject({ exitCode: 2 });
    const empty = new PassThrough();
    empty.end();
    await expect(runLogin('max', target, { input: empty, write: () => {} })).rejects.toMatchObject({ exitCode: 2, message: 'no code was pasted' });
    const { code, err } = await runMain(['login']);
    expect(code).toBe(2);
    expect(err).toContain('expected one account name');
  });

  it('should import Claude Code’s login into the configured credentials file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shunt-import-'));
    const from = join(dir, '.credentials.json');
    await writeFile(from, JSON.stringify({ claudeAiOauth: { accessToken: ACCESS_1, refreshToken: REFRESH_1, expiresAt: Date.now() + 3_600_000, subscriptionType: 'max' } }));
    const config = join(dir, 'config.toml');
    await writeFile(config, '[server]\ncredentials_path = "creds/credentials.json"\n\n[[accounts]]\nname = "max"\nauth = "oauth"\n');
    const { code, out, err } = await runMain(['import-claude-code', 'max', '--from', from, '--config', config]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain("Imported Claude Code's max login");
    for (const secret of SECRETS) expect(out).not.toContain(secret);
    const saved = await credentialsFile(join(dir, 'creds', 'credentials.json')).get('max');
    expect(saved).toMatchObject({ type: 'oauth', access_token: ACCESS_1, refresh_token: REFRESH_1, plan_type: 'max' });

    const missing = await runMain(['import-claude-code', 'max', '--from', join(dir, 'nope.json'), '--config', config]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('does not exist');
  });
});

