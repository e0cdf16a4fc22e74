/**
 * @module
 * Each account's credential, resolved as the Rust shunt does: the `credentials.json` entry
 * (OAuth tokens or an API key), else `api_key`, else the variable `api_key_env` names.
 */
import { ConfigError, type AccountConfig, type ShuntConfig } from './config.js';
import { apiKeyCredential, NEEDS_LOGIN, type Credential } from './credentials.js';
import { credentialsFile, type CredentialEntry, type CredentialsFile } from './credentials-file.js';
import { oauthCredential, type FetchLike, type SingleFlight } from './oauth.js';
import { sharedOAuthCredential, type SharedOAuthTokens } from './oauth-shared.js';
import type { CredentialContext } from './proxy.js';

export { NEEDS_LOGIN } from './credentials.js';

/** Options for {@link accountCredentials}. */
export interface AccountCredentialsOptions {
  /** The configuration (its `oauth` settings). */
  readonly config: Pick<ShuntConfig, 'oauth'>;
  /** The credentials file's entries, as read at start. */
  readonly entries: ReadonlyMap<string, CredentialEntry>;
  /** @default credentialsFile(config.oauth.credentialsPath) */
  readonly file?: CredentialsFile | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined;
  /** Keeps a refresh to one instance at a time when several proxies share accounts (without `shared`). */
  readonly singleFlight?: SingleFlight | undefined;
  /**
   * The pool's shared tokens (`openState(...).sharedTokens`): each OAuth account then uses the
   * pool's tokens, its file entry being only a seed (see `sharedOAuthCredential`).
   */
  readonly shared?: SharedOAuthTokens | undefined;
}

/** A `createProxy({ credential })` factory that resolves each account's credential. */
export function accountCredentials(options: AccountCredentialsOptions): (account: AccountConfig, context: CredentialContext) => Credential | null {
  const { config, entries } = options;
  const file = options.file ?? credentialsFile(config.oauth.credentialsPath);
  return (account, context) => {
    const entry = entries.get(account.name);
    if (entry?.type === 'oauth') {
      const { store, logger, now } = context;
      const shared = options.shared;
      if (shared !== undefined) {
        // The pool decides: a later login in the file revives the account, the refused tokens do not.
        return sharedOAuthCredential({
          account: account.name,
          entry,
          file,
          shared,
          tokenUrl: config.oauth.tokenUrl,
          clientId: config.oauth.clientId,
          now,
          logger,
          fetch: options.fetch,
          onNeedsLogin: () => store.disable(account.name, NEEDS_LOGIN),
          markedNeedsLogin: () => store.disabledReason(account.name) === NEEDS_LOGIN,
          onRevived: () => {
            if (store.disabledReason(account.name) === NEEDS_LOGIN) store.enable(account.name);
          },
        });
      }
      // A new login (or import) since the account was marked: give it another chance.
      if (store.disabledReason(account.name) === NEEDS_LOGIN) store.enable(account.name);
      return oauthCredential({
        account: account.name,
        entry,
        file,
        tokenUrl: config.oauth.tokenUrl,
        clientId: config.oauth.clientId,
        now,
        logger,
        fetch: options.fetch,
        singleFlight: options.singleFlight ?? storeSingleFlight(store),
        onNeedsLogin: () => store.disable(account.name, NEEDS_LOGIN),
      });
    }
    if (entry?.type === 'apikey') return apiKeyCredential(entry.key);
    return account.apiKey === null ? null : apiKeyCredential(account.apiKey);
  };
}

/**
 * Read the credentials file and build the factory; `fromFile` names the accounts whose credential
 * comes from it (their "no key" configuration warnings no longer apply).
 */
export async function loadAccountCredentials(
  config: Pick<ShuntConfig, 'oauth' | 'accounts'>,
  options: Omit<AccountCredentialsOptions, 'config' | 'entries' | 'file'> = {},
): Promise<{
  readonly credential: ReturnType<typeof accountCredentials>;
  readonly fromFile: ReadonlySet<string>;
  /** The accounts whose credential is a subscription login. */
  readonly oauth: ReadonlySet<string>;
  /** The same factory over the pool's shared tokens (`openState(...).sharedTokens`). */
  sharedBy(shared: SharedOAuthTokens): ReturnType<typeof accountCredentials>;
}> {
  const file = credentialsFile(config.oauth.credentialsPath);
  const entries = await file.readAll();
  const fromFile = new Set(config.accounts.filter((a) => entries.has(a.name)).map((a) => a.name));
  const oauth = new Set(config.accounts.filter((a) => entries.get(a.name)?.type === 'oauth').map((a) => a.name));
  return {
    credential: accountCredentials({ ...options, config, entries, file }),
    fromFile,
    oauth,
    sharedBy: (shared) => accountCredentials({ ...options, config, entries, file, shared }),
  };
}

/**
 * Refuse a Redis backend with subscription accounts and no credentials key: their tokens would
 * either stay per instance (and spend each other's rotated refresh tokens) or go to Redis in the
 * clear. Throws a `ConfigError` naming both ways to set the key.
 */
export function assertCredentialsKey(config: Pick<ShuntConfig, 'state' | 'file'>, oauthAccounts: ReadonlySet<string>): void {
  if (config.state.backend !== 'redis' || config.state.credentialsKey !== null || oauthAccounts.size === 0) return;
  throw new ConfigError(
    config.file,
    'state.credentials_key',
    `missing: subscription account(s) ${[...oauthAccounts].map((name) => JSON.stringify(name)).join(', ')} share their tokens through Redis, encrypted with this key; ` +
      'set the same 32-byte key on every instance (state.credentials_key, or the SHUNT_CREDENTIALS_KEY environment variable), e.g. from `openssl rand -base64 32`',
  );
}

/**
 * The store's cross-instance single-flight (`@shunt/store-redis`'s `singleFlight`), when it has
 * one: a refresh result reused for 10 s, so an instance arriving just after another refreshed
 * takes its token instead of spending the rotated refresh token.
 */
export function storeSingleFlight(store: unknown): SingleFlight | undefined {
  const flight = (store as { singleFlight?: unknown } | null)?.singleFlight;
  if (typeof flight !== 'function') return undefined;
  return <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    (flight as (key: string, fn: () => Promise<T>, options: { reuseWithinMs: number }) => Promise<{ value: T }>)
      .call(store, key, fn, { reuseWithinMs: 10_000 })
      .then((result) => result.value);
}

/** The configuration's warnings, minus "no key" ones for accounts whose credential is in the credentials file. */
export function configWarnings(config: Pick<ShuntConfig, 'warnings'>, fromFile: ReadonlySet<string>): string[] {
  return config.warnings.filter((warning) => ![...fromFile].some((name) => warning.includes(`account ${JSON.stringify(name)} is disabled until it has a key`)));
}
