/**
 * @module
 * Each account's credential, resolved as the Rust shunt does: the `credentials.json` entry
 * (OAuth tokens or an API key), else `api_key`, else the variable `api_key_env` names.
 */
import type { AccountConfig, ShuntConfig } from './config.js';
import { apiKeyCredential, NEEDS_LOGIN, type Credential } from './credentials.js';
import { credentialsFile, type CredentialEntry, type CredentialsFile } from './credentials-file.js';
import { oauthCredential, type FetchLike, type SingleFlight } from './oauth.js';
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
  /** Keeps a refresh to one instance at a time when several proxies share accounts. */
  readonly singleFlight?: SingleFlight | undefined;
}

/** A `createProxy({ credential })` factory that resolves each account's credential. */
export function accountCredentials(options: AccountCredentialsOptions): (account: AccountConfig, context: CredentialContext) => Credential | null {
  const { config, entries } = options;
  const file = options.file ?? credentialsFile(config.oauth.credentialsPath);
  return (account, context) => {
    const entry = entries.get(account.name);
    if (entry?.type === 'oauth') {
      const { store, logger, now } = context;
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
): Promise<{ readonly credential: ReturnType<typeof accountCredentials>; readonly fromFile: ReadonlySet<string> }> {
  const file = credentialsFile(config.oauth.credentialsPath);
  const entries = await file.readAll();
  const fromFile = new Set(config.accounts.filter((a) => entries.has(a.name)).map((a) => a.name));
  return { credential: accountCredentials({ ...options, config, entries, file }), fromFile };
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
