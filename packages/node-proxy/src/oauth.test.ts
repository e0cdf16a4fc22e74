import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { CredentialEntry, CredentialsFile, OAuthEntry } from './credentials-file.js';
import { jsonLogger } from './logger.js';
import {
  ANTHROPIC_OAUTH,
  authorizeUrl,
  exchangeCode,
  needsRefresh,
  OAuthError,
  oauthCredential,
  pkce,
  refreshTokens,
  type FetchLike,
  type OAuthCredentialOptions,
} from './oauth.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const OLD: OAuthEntry = { type: 'oauth', access_token: 'sk-ant-oat-OLD-access', refresh_token: 'sk-ant-ort-OLD-refresh', expires_at: T0 + 3_600_000, email: 'a@example.com' };

interface Call {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A fetch that answers the token endpoint with `reply(call number)`. */
function tokenFetch(reply: (n: number, call: Call) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown }) {
  const calls: Call[] = [];
  const fetch: FetchLike = async (url, init) => {
    const call = { url, headers: init.headers, body: init.body };
    calls.push(call);
    const { status, body } = await reply(calls.length, call);
    return { status, text: async () => (typeof body === 'string' ? body : JSON.stringify(body)) };
  };
  return { fetch, calls };
}

/** An in-memory credentials file. */
function memoryFile(initial: Record<string, CredentialEntry> = {}) {
  const entries = new Map<string, CredentialEntry>(Object.entries(initial));
  const puts: Array<{ name: string; entry: CredentialEntry }> = [];
  let gate: Promise<void> = Promise.resolve();
  const file: CredentialsFile & { puts: typeof puts; entries: typeof entries; hold(p: Promise<void>): void } = {
    path: '/mem/credentials.json',
    readAll: async () => new Map(entries),
    get: async (name) => entries.get(name) ?? null,
    async put(name, entry) {
      await gate;
      entries.set(name, entry);
      puts.push({ name, entry });
    },
    puts,
    entries,
    hold(p) {
      gate = p;
    },
  };
  return file;
}

function make(overrides: Partial<OAuthCredentialOptions> & Pick<OAuthCredentialOptions, 'fetch'>, clock = { t: T0 }) {
  const file = (overrides.file as ReturnType<typeof memoryFile> | undefined) ?? memoryFile({ max: OLD });
  const dead: string[] = [];
  const logs: string[] = [];
  const credential = oauthCredential({
    account: 'max',
    entry: OLD,
    file,
    tokenUrl: 'http://token.test/v1/oauth/token',
    clientId: 'client-1',
    now: () => clock.t,
    logger: jsonLogger({ level: 'debug', write: (line) => logs.push(line) }),
    onNeedsLogin: (reason) => dead.push(reason),
    ...overrides,
  });
  return { credential, file, dead, logs, clock };
}

const never = new AbortController().signal;

describe('PKCE and the authorize URL', () => {
  it('should use S256 over a 32-byte verifier and a 16-byte hex state', () => {
    const login = pkce();
    expect(Buffer.from(login.verifier, 'base64url')).toHaveLength(32);
    expect(login.challenge).toBe(createHash('sha256').update(login.verifier).digest('base64url'));
    expect(login.state).toMatch(/^[0-9a-f]{32}$/);
    const url = new URL(authorizeUrl(login, { authorizeUrl: 'http://auth.test/oauth/authorize', clientId: 'c' }));
    expect(url.origin + url.pathname).toBe('http://auth.test/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: 'c',
      response_type: 'code',
      redirect_uri: ANTHROPIC_OAUTH.redirectUri,
      scope: ANTHROPIC_OAUTH.scope,
      code_challenge: login.challenge,
      code_challenge_method: 'S256',
      state: login.state,
    });
  });
});

describe('the token endpoint', () => {
  it('should exchange CODE#STATE as JSON with the verifier', async () => {
    const login = pkce();
    const { fetch, calls } = tokenFetch(() => ({ status: 200, body: { access_token: 'A1', refresh_token: 'R1', expires_in: 7200 } }));
    const entry = await exchangeCode(`the-code#${login.state}`, login, { tokenUrl: 'http://t', clientId: 'c', fetch, now: () => T0 });
    expect(entry).toEqual({ type: 'oauth', access_token: 'A1', refresh_token: 'R1', expires_at: T0 + 7_200_000 });
    expect(calls[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      state: login.state,
      redirect_uri: ANTHROPIC_OAUTH.redirectUri,
      client_id: 'c',
      code_verifier: login.verifier,
    });
  });

  it('should refuse a pasted state of another login without calling the endpoint', async () => {
    const { fetch, calls } = tokenFetch(() => ({ status: 200, body: {} }));
    await expect(exchangeCode('code#not-this-state', pkce(), { tokenUrl: 'http://t', clientId: 'c', fetch })).rejects.toThrow(/state does not match/);
    expect(calls).toHaveLength(0);
  });

  it('should refresh by form POST, keep the old refresh token when none comes back, default expires_in to 3600', async () => {
    const { fetch, calls } = tokenFetch(() => ({ status: 200, body: { access_token: 'A2' } }));
    const entry = await refreshTokens(OLD, { tokenUrl: 'http://t', clientId: 'c', fetch, now: () => T0 });
    expect(entry).toEqual({ type: 'oauth', access_token: 'A2', refresh_token: OLD.refresh_token, expires_at: T0 + 3_600_000, email: 'a@example.com' });
    expect(calls[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(calls[0]?.body))).toEqual({ grant_type: 'refresh_token', refresh_token: OLD.refresh_token, client_id: 'c' });
  });

  it.each([
    [400, { error: 'invalid_grant', error_description: `refresh token ${OLD.refresh_token} revoked` }, true],
    [401, { error: 'invalid_client' }, true],
    [429, { error: 'rate_limited' }, false],
    [500, 'upstream exploded', false],
    [503, { error: 'unavailable' }, false],
  ] as const)('should classify a %i (%j) as permanent: %s, with only the error code in the message', async (status, body, permanent) => {
    const { fetch } = tokenFetch(() => ({ status, body }));
    const error = (await refreshTokens(OLD, { tokenUrl: 'http://t', clientId: 'c', fetch }).catch((e: unknown) => e)) as OAuthError;
    expect(error).toBeInstanceOf(OAuthError);
    expect(error.permanent).toBe(permanent);
    expect(error.message).not.toContain(OLD.refresh_token);
  });

  it('should call a network error transient', async () => {
    const fetch: FetchLike = () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    const error = (await refreshTokens(OLD, { tokenUrl: 'http://t', clientId: 'c', fetch }).catch((e: unknown) => e)) as OAuthError;
    expect(error.permanent).toBe(false);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('should need a refresh from 5 minutes before expiry', () => {
    expect(needsRefresh({ expires_at: T0 + 300_001 }, T0)).toBe(false);
    expect(needsRefresh({ expires_at: T0 + 300_000 }, T0)).toBe(true);
  });
});

describe('oauthCredential', () => {
  it('should send Bearer and the oauth beta, and keep the tokens out of JSON and inspect', () => {
    const { credential } = make({ fetch: tokenFetch(() => ({ status: 500, body: '' })).fetch });
    expect(credential.headers()).toEqual({ authorization: `Bearer ${OLD.access_token}`, 'anthropic-beta': 'oauth-2025-04-20' });
    const shown = JSON.stringify(credential) + inspect(credential, { depth: 10, showHidden: true });
    expect(shown).not.toContain(OLD.access_token);
    expect(shown).not.toContain(OLD.refresh_token);
  });

  it('should be cheap when fresh and refresh within 5 minutes of expiry', async () => {
    const { fetch, calls } = tokenFetch(() => ({ status: 200, body: { access_token: 'A2', refresh_token: 'R2', expires_in: 3600 } }));
    const { credential, file, clock } = make({ fetch });
    expect(credential.ensureFresh(never)).toBeUndefined();
    clock.t = OLD.expires_at - 299_000;
    await credential.ensureFresh(never);
    expect(calls).toHaveLength(1);
    expect(credential.headers()['authorization']).toBe('Bearer A2');
    expect(file.entries.get('max')).toMatchObject({ access_token: 'A2', refresh_token: 'R2' });
    expect(credential.ensureFresh(never)).toBeUndefined();
  });

  it('should write the rotated tokens before using them', async () => {
    const { fetch } = tokenFetch(() => ({ status: 200, body: { access_token: 'A2', refresh_token: 'R2' } }));
    const { credential, file } = make({ fetch });
    let release!: () => void;
    file.hold(new Promise<void>((resolve) => (release = resolve)));
    const refreshing = credential.refresh(never);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(file.puts).toHaveLength(0);
    expect(credential.headers()['authorization']).toBe(`Bearer ${OLD.access_token}`);
    release();
    await refreshing;
    expect(file.puts.map((p) => (p.entry as OAuthEntry).refresh_token)).toEqual(['R2']);
    expect(credential.headers()['authorization']).toBe('Bearer A2');
  });

  it('should not refresh again for a 401 on a token that was already replaced', async () => {
    const { fetch, calls } = tokenFetch((n) => ({ status: 200, body: { access_token: `A${n + 1}`, refresh_token: `R${n + 1}` } }));
    const { credential } = make({ fetch });
    const used = credential.headers();
    await credential.refresh(never, used);
    await credential.refresh(never, used); // a late 401 for the old token
    expect(calls).toHaveLength(1);
    await credential.refresh(never, credential.headers()); // a 401 for the new one
    expect(calls).toHaveLength(2);
  });

  it('should take tokens another process rotated instead of spending the old refresh token', async () => {
    const { fetch, calls } = tokenFetch(() => ({ status: 400, body: { error: 'invalid_grant' } }));
    const rotated: OAuthEntry = { type: 'oauth', access_token: 'A-other', refresh_token: 'R-other', expires_at: T0 + 3_600_000 };
    const { credential, dead } = make({ fetch, file: memoryFile({ max: rotated }) });
    await credential.refresh(never);
    expect(calls).toHaveLength(0);
    expect(dead).toEqual([]);
    expect(credential.headers()['authorization']).toBe('Bearer A-other');
  });

  it('should mark the account needs-login once on a refused refresh and not call the endpoint again', async () => {
    const { fetch, calls } = tokenFetch(() => ({ status: 400, body: { error: 'invalid_grant' } }));
    const { credential, dead, logs } = make({ fetch });
    await expect(credential.refresh(never)).rejects.toMatchObject({ permanent: true });
    await expect(credential.refresh(never)).rejects.toMatchObject({ permanent: true });
    expect(calls).toHaveLength(1);
    expect(dead).toHaveLength(1);
    expect(credential.needsLogin()).toBe(true);
    expect(logs.filter((l) => l.includes('needs a new login'))).toHaveLength(1);
    for (const line of logs) {
      expect(line).not.toContain(OLD.access_token);
      expect(line).not.toContain(OLD.refresh_token);
    }
  });

  it('should keep using a still-valid token when a proactive refresh fails transiently, and not mark it dead', async () => {
    const { fetch, calls } = tokenFetch((n) => (n === 1 ? { status: 503, body: '' } : { status: 200, body: { access_token: 'A2' } }));
    const { credential, dead, clock } = make({ fetch });
    clock.t = OLD.expires_at - 60_000;
    await credential.ensureFresh(never);
    expect(credential.headers()['authorization']).toBe(`Bearer ${OLD.access_token}`);
    expect(dead).toEqual([]);
    await credential.ensureFresh(never);
    expect(calls).toHaveLength(2);
    expect(credential.headers()['authorization']).toBe('Bearer A2');
  });

  it('should fail a proactive refresh of an expired token that fails transiently (the request fails over)', async () => {
    const { fetch } = tokenFetch(() => ({ status: 502, body: '' }));
    const { credential, dead, clock } = make({ fetch });
    clock.t = OLD.expires_at + 1;
    await expect(credential.ensureFresh(never)).rejects.toMatchObject({ permanent: false });
    expect(dead).toEqual([]);
  });

  it('should share one refresh among callers arriving in any order, whatever the endpoint and file timing (fc.scheduler)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 8 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), async (s, callers, kinds) => {
        const { fetch, calls } = tokenFetch(() => s.schedule(Promise.resolve({ status: 200, body: { access_token: 'A-new', refresh_token: 'R-new' } }), 'token endpoint replies'));
        const file = memoryFile({ max: OLD });
        const clock = { t: OLD.expires_at - 1000 };
        const { credential } = make({ fetch, file }, clock);
        const used = credential.headers();
        const results = Promise.all(
          Array.from({ length: callers }, async (_, i) => {
            await s.schedule(Promise.resolve(), `caller ${i} starts`);
            // Half of the callers come from a 401 (with the headers they sent), half before sending.
            if (kinds[i] === true) await credential.refresh(never, used);
            else await credential.ensureFresh(never);
            return credential.headers()['authorization'];
          }),
        );
        const seen = await s.waitFor(results);
        expect(calls).toHaveLength(1);
        expect(new Set(seen)).toEqual(new Set(['Bearer A-new']));
        expect(file.puts).toHaveLength(1);
      }),
      { numRuns: Number(process.env['FC_NUM_RUNS'] ?? 100) },
    );
  });
});
