/**
 * @module
 * Subscription (OAuth) accounts: the claude.ai PKCE login, the token refresh, and
 * {@link oauthCredential}, the {@link Credential} that keeps an account's access token fresh.
 *
 * A refresh happens 5 minutes before the token expires (before a request is sent) and after a 401,
 * once per account at a time: every request that needs it waits for the same refresh. A rotated
 * token is written to `credentials.json` before it is used. A refresh the token endpoint refuses
 * (`invalid_grant`, …) marks the account as needing a new login instead of retrying forever; a
 * network error or a 5xx does not (the request fails over, the account cools down briefly).
 * Tokens never appear in errors, logs, `JSON.stringify` or `util.inspect` of the credential.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Credential } from './credentials.js';
import type { CredentialsFile, OAuthEntry } from './credentials-file.js';
import { silentLogger, type Logger } from './logger.js';

/** The claude.ai OAuth client (Claude Code's), as the Rust shunt uses it. */
export const ANTHROPIC_OAUTH: {
  readonly clientId: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly redirectUri: string;
  readonly scope: string;
} = Object.freeze({
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  authorizeUrl: 'https://claude.ai/oauth/authorize',
  tokenUrl: 'https://platform.claude.com/v1/oauth/token',
  redirectUri: 'https://platform.claude.com/oauth/code/callback',
  scope: 'user:inference user:profile user:file_upload user:mcp_servers user:sessions:claude_code',
});

/** The beta flag an OAuth access token needs on the Messages API. */
export const OAUTH_BETA: string = 'oauth-2025-04-20';

/** Refresh this long before the access token expires. */
export const REFRESH_MARGIN_MS: number = 5 * 60_000;

/** `expires_in` when the token endpoint leaves it out, in seconds. */
const DEFAULT_EXPIRES_IN_SECS = 3600;

/** How long a call to the token endpoint may take. */
export const TOKEN_TIMEOUT_MS: number = 30_000;

/** The `fetch` this module uses (inject one in tests). */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

/**
 * A failed call to the token endpoint. `permanent` is true when the endpoint refused the grant
 * (a 4xx other than 408/429): trying again will not help, the account needs a new login. The
 * message carries only the status and the OAuth `error` code, never a token.
 */
export class OAuthError extends Error {
  /** True when the grant was refused (log in again); false for a network error, 5xx, 429. */
  readonly permanent: boolean;
  /** The HTTP status, or null for a network error. */
  readonly status: number | null;
  /** The OAuth `error` code (`invalid_grant`, …), when the endpoint sent one. */
  readonly code: string | null;

  constructor(message: string, options: { permanent: boolean; status: number | null; code: string | null }) {
    super(message);
    this.name = 'OAuthError';
    this.permanent = options.permanent;
    this.status = options.status;
    this.code = options.code;
  }
}

/** A PKCE pair and the `state`, for one login. */
export interface PkceLogin {
  readonly verifier: string;
  readonly challenge: string;
  readonly state: string;
}

/** A fresh PKCE S256 pair (verifier: 32 random bytes, base64url) and a random `state` (16 bytes, hex). */
export function pkce(): PkceLogin {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge, state: randomBytes(16).toString('hex') };
}

/** The URL the user opens to log in. */
export function authorizeUrl(login: PkceLogin, options: { readonly authorizeUrl?: string; readonly clientId?: string } = {}): string {
  const url = new URL(options.authorizeUrl ?? ANTHROPIC_OAUTH.authorizeUrl);
  url.searchParams.set('code', 'true');
  url.searchParams.set('client_id', options.clientId ?? ANTHROPIC_OAUTH.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', ANTHROPIC_OAUTH.redirectUri);
  url.searchParams.set('scope', ANTHROPIC_OAUTH.scope);
  url.searchParams.set('code_challenge', login.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', login.state);
  return url.href;
}

/** Where the token endpoint is and who asks. */
export interface TokenEndpoint {
  readonly tokenUrl: string;
  readonly clientId: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined;
  /** @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** Exchange the code the user pasted (`CODE#STATE`, state optional) for tokens. */
export async function exchangeCode(pasted: string, login: PkceLogin, endpoint: TokenEndpoint): Promise<OAuthEntry> {
  const [code = '', state = login.state] = pasted.trim().split('#');
  if (code === '') throw new OAuthError('no code was pasted', { permanent: true, status: null, code: null });
  if (state !== login.state) throw new OAuthError('the pasted state does not match this login (paste the code of this login)', { permanent: true, status: null, code: null });
  const body = JSON.stringify({
    grant_type: 'authorization_code',
    code,
    state,
    redirect_uri: ANTHROPIC_OAUTH.redirectUri,
    client_id: endpoint.clientId,
    code_verifier: login.verifier,
  });
  return tokenRequest(endpoint, { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body, null);
}

/**
 * Spend a refresh token (form POST `grant_type=refresh_token`). The old refresh token is kept
 * when the endpoint returns none; `email` is preserved, `id_token` dropped.
 */
export async function refreshTokens(previous: OAuthEntry, endpoint: TokenEndpoint): Promise<OAuthEntry> {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: previous.refresh_token, client_id: endpoint.clientId }).toString();
  return tokenRequest(endpoint, { 'content-type': 'application/x-www-form-urlencoded' }, body, previous);
}

async function tokenRequest(endpoint: TokenEndpoint, headers: Record<string, string>, body: string, previous: OAuthEntry | null): Promise<OAuthEntry> {
  const doFetch: FetchLike = endpoint.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const now = endpoint.now ?? Date.now;
  let status: number;
  let text: string;
  try {
    const response = await doFetch(endpoint.tokenUrl, {
      method: 'POST',
      headers: { accept: 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    throw new OAuthError(`the token endpoint could not be reached (${typeof code === 'string' ? code : (error as Error).name})`, {
      permanent: false,
      status: null,
      code: null,
    });
  }
  let json: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: judged by the status alone.
  }
  if (status < 200 || status > 299) {
    const code = typeof json?.['error'] === 'string' ? json['error'] : null;
    // Only the error code: a description might quote the grant.
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    throw new OAuthError(`the token endpoint answered ${status}${code === null ? '' : ` ${code}`}`, { permanent, status, code });
  }
  const access = json?.['access_token'];
  if (typeof access !== 'string' || access === '') {
    throw new OAuthError(`the token endpoint answered ${status} without an access_token`, { permanent: false, status, code: null });
  }
  const refresh = json?.['refresh_token'];
  const expiresIn = json?.['expires_in'];
  const secs = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN_SECS;
  const refreshToken = typeof refresh === 'string' && refresh !== '' ? refresh : previous?.refresh_token;
  if (refreshToken === undefined) {
    throw new OAuthError(`the token endpoint answered ${status} without a refresh_token`, { permanent: false, status, code: null });
  }
  const entry: { -readonly [K in keyof OAuthEntry]: OAuthEntry[K] } = {
    type: 'oauth',
    access_token: access,
    refresh_token: refreshToken,
    expires_at: now() + secs * 1000,
  };
  if (previous?.email !== undefined) entry.email = previous.email;
  if (previous?.plan_type !== undefined) entry.plan_type = previous.plan_type;
  return entry;
}

/** True when the token should be refreshed before use: now ≥ expires_at − 5 minutes. */
export function needsRefresh(entry: Pick<OAuthEntry, 'expires_at'>, nowMs: number): boolean {
  return nowMs >= entry.expires_at - REFRESH_MARGIN_MS;
}

/**
 * Runs `fn` once per `key` across every caller (and, with a shared implementation such as
 * `@shunt/store-redis`'s `singleFlight`, across instances); callers arriving while it runs get
 * its result. The result passes through JSON when shared.
 */
export type SingleFlight = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/** Options for {@link oauthCredential}. */
export interface OAuthCredentialOptions extends TokenEndpoint {
  /** The account's name (for the file entry, the log and the single-flight key). */
  readonly account: string;
  /** The tokens it starts with. */
  readonly entry: OAuthEntry;
  /** Where rotated tokens are written before they are used. */
  readonly file: CredentialsFile;
  /** Called once when a refresh is refused: the account needs `shunt login` again. */
  readonly onNeedsLogin: (reason: string) => void;
  /** @default silentLogger */
  readonly logger?: Logger | undefined;
  /**
   * Wraps the call to the token endpoint, to keep it to one instance at a time when several share
   * the account (see `@shunt/store-redis`'s `singleFlight`). In-process callers already share one
   * refresh without it.
   * @default runs `fn`
   */
  readonly singleFlight?: SingleFlight | undefined;
}

/** A {@link Credential} with the OAuth extras (for tests and status views). */
export interface OAuthCredential extends Credential {
  readonly kind: 'oauth';
  readonly canRefresh: true;
  refresh(signal: AbortSignal, used?: Readonly<Record<string, string>>): Promise<void>;
  ensureFresh(signal: AbortSignal): Promise<void> | undefined;
  /** When the access token in use expires, in epoch milliseconds. */
  expiresAt(): number;
  /** True once a refresh was refused (until the process restarts after a new login). */
  needsLogin(): boolean;
  /** The generation of the tokens in use: 0 for tokens from this instance's file alone (see `sharedOAuthCredential`). */
  generation(): number;
}

/**
 * The credential of a subscription account: `authorization: Bearer <access token>` plus the
 * `oauth-2025-04-20` beta (merged into the client's `anthropic-beta` by the proxy).
 *
 * @example
 * ```ts
 * const credential = oauthCredential({
 *   account: 'max', entry, file: credentialsFile(path), tokenUrl: ANTHROPIC_OAUTH.tokenUrl,
 *   clientId: ANTHROPIC_OAUTH.clientId, onNeedsLogin: () => store.disable('max', 'needs_login'),
 * });
 * ```
 */
export function oauthCredential(options: OAuthCredentialOptions): OAuthCredential {
  const { account, file, onNeedsLogin } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const singleFlight: SingleFlight = options.singleFlight ?? ((_key, fn) => fn());
  const endpoint: TokenEndpoint = { tokenUrl: options.tokenUrl, clientId: options.clientId, fetch: options.fetch, now };

  // Everything secret lives in this closure.
  let current: OAuthEntry = options.entry;
  let headers = headersFor(current);
  let inflight: Promise<void> | null = null;
  let dead: string | null = null;

  const adopt = (entry: OAuthEntry): void => {
    current = entry;
    headers = headersFor(entry);
  };

  const markDead = (reason: string): never => {
    if (dead === null) {
      dead = reason;
      logger.warn('oauth refresh refused; the account needs a new login (shunt login)', { account, error: reason });
      onNeedsLogin(reason);
    }
    throw needsLoginError(account, reason);
  };

  const run = async (): Promise<void> => {
    const started = current;
    // Another process (a second shunt, Claude Code after an import) may have rotated the tokens
    // already: spending our refresh token again would fail, or invalidate theirs.
    const stored = await file.get(account).catch(() => null);
    if (stored?.type === 'oauth' && stored.refresh_token !== started.refresh_token) {
      if (!needsRefresh(stored, now())) {
        adopt(stored);
        logger.info('oauth tokens rotated elsewhere; using them', { account, expires_at: stored.expires_at });
        return;
      }
      adopt(stored);
    }
    const from = current;
    let next: OAuthEntry;
    try {
      next = await singleFlight(`oauth-refresh:${account}`, () => refreshTokens(from, endpoint));
    } catch (error) {
      if (error instanceof OAuthError && error.permanent) {
        // A refresh token rotated by someone else in the meantime is refused too: look again
        // before declaring a healthy account dead.
        const again = await file.get(account).catch(() => null);
        if (again?.type === 'oauth' && again.refresh_token !== from.refresh_token && now() < again.expires_at) {
          adopt(again);
          logger.info('oauth tokens rotated elsewhere; using them', { account, expires_at: again.expires_at });
          return;
        }
        markDead(error.message);
      }
      logger.warn('oauth refresh failed; will try again on the next request', { account, error: (error as Error).message });
      throw error;
    }
    // Persist before use: if the process dies after this, the rotated refresh token is not lost.
    try {
      await file.put(account, next);
    } catch (error) {
      logger.error('could not write the rotated oauth tokens to the credentials file', {
        account,
        file: file.path,
        error: (error as NodeJS.ErrnoException).code ?? (error as Error).name,
      });
    }
    adopt(next);
    logger.info('oauth tokens refreshed', { account, expires_at: next.expires_at });
  };

  /** Join the refresh under way, or start one; `signal` only stops this caller's wait. */
  const shared = (signal: AbortSignal): Promise<void> => {
    if (dead !== null) return Promise.reject(needsLoginError(account, dead));
    if (inflight === null) {
      inflight = run().finally(() => {
        inflight = null;
      });
    }
    return abortable(inflight, signal);
  };

  const credential: OAuthCredential = {
    kind: 'oauth',
    canRefresh: true,
    headers: () => headers,
    refresh(signal, used) {
      // A 401 for a token that has been replaced since: the replacement is the fix.
      if (used !== undefined && used !== headers && dead === null) return Promise.resolve();
      return shared(signal);
    },
    ensureFresh(signal) {
      if (inflight === null && (dead !== null || !needsRefresh(current, now()))) return undefined;
      const expiresAt = current.expires_at;
      return shared(signal).catch((error: unknown) => {
        // A transient failure while the token still works: use it, try again next time.
        if (error instanceof OAuthError && !error.permanent && now() < expiresAt && !signal.aborted) return;
        throw error;
      });
    },
    expiresAt: () => current.expires_at,
    needsLogin: () => dead !== null,
    generation: () => 0,
  };
  return Object.freeze(credential);
}

/** The error of a request to an account whose refresh was refused for good. */
export function needsLoginError(account: string, reason: string): OAuthError {
  return new OAuthError(`account ${account} needs a new login: ${reason}`, { permanent: true, status: null, code: 'needs_login' });
}

/** The request headers of an access token. */
export function headersFor(entry: OAuthEntry): Readonly<Record<string, string>> {
  return Object.freeze({ authorization: `Bearer ${entry.access_token}`, 'anthropic-beta': OAUTH_BETA });
}

/** `promise`, or a rejection as soon as `signal` aborts (the work itself goes on). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
