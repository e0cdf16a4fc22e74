/**
 * @module
 * The seam where an account's credential meets the upstream request. An API key is a fixed
 * header; a subscription (OAuth) account adds a refresh. The proxy only ever asks for headers,
 * so a new kind of credential slots in without touching the request path.
 */

/** The reason an account is disabled with when its refresh was refused (see `oauthCredential`'s `onNeedsLogin`). */
export const NEEDS_LOGIN: string = 'needs_login';

/** What the proxy needs from an account's credential. */
export interface Credential {
  /** What kind of credential this is (`api_key`, …), for status views and logs. */
  readonly kind: string;
  /** The headers that authenticate a request (they replace any client credential). */
  headers(): Readonly<Record<string, string>>;
  /** Whether {@link Credential.refresh} can fix a 401 (an API key cannot). */
  readonly canRefresh: boolean;
  /**
   * Obtain fresh credentials after a 401; the request is then retried on the same account once.
   * `used` is the {@link Credential.headers} object the refused request carried: when the
   * credential has moved on since (another request refreshed it), there is nothing to do.
   */
  refresh?(signal: AbortSignal, used?: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Called before each attempt on the account: returns a promise to await when the credential
   * must be renewed first (an OAuth token about to expire), else undefined. Rejects when the
   * account cannot be used now (the request then fails over).
   */
  ensureFresh?(signal: AbortSignal): Promise<void> | undefined;
}

/**
 * An Anthropic API key, sent as `x-api-key`. The key is held in a closure: it never shows up in
 * `JSON.stringify`, `util.inspect` or a log record of the credential.
 *
 * @example
 * ```ts
 * const credential = apiKeyCredential(process.env.WORK_KEY!);
 * credential.headers(); // { 'x-api-key': '…' }
 * ```
 */
export function apiKeyCredential(key: string): Credential {
  if (key === '') throw new TypeError('apiKeyCredential: the key is empty');
  const headers = Object.freeze({ 'x-api-key': key });
  return Object.freeze({ kind: 'api_key', canRefresh: false, headers: () => headers });
}
