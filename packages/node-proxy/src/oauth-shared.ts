/**
 * @module
 * {@link sharedOAuthCredential}: a subscription account whose tokens are part of the pool's shared
 * state (a Redis backend), so that any number of proxies with their own credentials files use one
 * chain of tokens.
 *
 * - The shared tokens carry a generation, +1 per rotation; Redis keeps the highest (never the last
 *   writer), so a stale instance can never put back a spent refresh token.
 * - Before refreshing, an instance reads the shared tokens: newer ones are used instead. A refresh
 *   runs under the account's cross-instance lock, re-reads under it, and publishes its result as
 *   the next generation before using it; instances waiting on the lock take that result.
 * - A refused refresh marks `needs_login` only after the shared tokens, read again, are the very
 *   ones refused. While Redis cannot be reached nothing is marked: the account fails over.
 * - While Redis cannot be reached, a token that has not expired is used past its refresh point
 *   (the refresh margin is the outage an account rides out for free). One that has expired is
 *   refreshed by this instance alone, remembered as "spent from" the old refresh token, and
 *   published once Redis answers: it wins exactly when the shared tokens are the ones it replaced.
 * - Every instance looks at the shared tokens every 5 s, traffic or not: to see rotations, and to
 *   put back what a Redis that came back empty lost before anyone condemns the spent tokens.
 * - The credentials file is the seed of the first import and a local copy of the latest tokens.
 */
import { parseCredentialEntry, type CredentialsFile, type OAuthEntry } from './credentials-file.js';
import { silentLogger, type Logger } from './logger.js';
import {
  abortable,
  headersFor,
  needsLoginError,
  OAuthError,
  REFRESH_MARGIN_MS,
  refreshTokens,
  TOKEN_TIMEOUT_MS,
  type OAuthCredential,
  type OAuthCredentialOptions,
  type TokenEndpoint,
} from './oauth.js';

/** One account's tokens as every instance sees them, with their generation (+1 per rotation). */
export interface SharedOAuthRecord {
  readonly generation: number;
  readonly entry: OAuthEntry;
  /** When these tokens were obtained, epoch ms, or null when unknown (a seed from a file). */
  readonly obtainedAtMs: number | null;
}

/**
 * Where the instances of a pool keep an account's current tokens (`@shunt/store-redis`'s
 * `redisCredentials`, encrypted at rest). Every call rejects when the store cannot be reached.
 */
export interface SharedOAuthTokens {
  /** The shared tokens, or null when there are none yet. */
  read(account: string): Promise<SharedOAuthRecord | null>;
  /** Store `record` unless a generation as new is there: null when stored, else the stored record. */
  write(account: string, record: SharedOAuthRecord): Promise<SharedOAuthRecord | null>;
  /** The account's cross-instance refresh lock, or null while another instance holds it. */
  lock(account: string, ttlMs: number): Promise<{ release(): Promise<unknown> } | null>;
}

/** A store of generation-numbered secret texts (`@shunt/store-redis`'s `redisCredentials`). */
export interface SharedSecretStore {
  read(name: string): Promise<{ readonly generation: number; readonly value: string } | null>;
  write(name: string, secret: { readonly generation: number; readonly value: string }): Promise<{ readonly generation: number; readonly value: string } | null>;
  lock(name: string, ttlMs: number): Promise<{ release(): Promise<unknown> } | null>;
}

/** {@link SharedOAuthTokens} kept as JSON texts in a {@link SharedSecretStore} (which encrypts them). */
export function sharedOAuthTokens(secrets: SharedSecretStore): SharedOAuthTokens {
  const decode = (name: string, secret: { readonly generation: number; readonly value: string } | null): SharedOAuthRecord | null => {
    if (secret === null) return null;
    let parsed: { entry?: unknown; obtained_at?: unknown } | null = null;
    try {
      parsed = JSON.parse(secret.value) as { entry?: unknown; obtained_at?: unknown };
    } catch {
      // reported below
    }
    const entry = parseCredentialEntry(parsed?.entry);
    if (entry?.type !== 'oauth') throw new Error(`the shared credentials of account ${JSON.stringify(name)} are not OAuth tokens`);
    const obtainedAtMs = typeof parsed?.obtained_at === 'number' && Number.isFinite(parsed.obtained_at) ? parsed.obtained_at : null;
    return { generation: secret.generation, entry, obtainedAtMs };
  };
  return {
    read: async (name) => decode(name, await secrets.read(name)),
    write: async (name, record) =>
      decode(name, await secrets.write(name, { generation: record.generation, value: JSON.stringify({ entry: record.entry, obtained_at: record.obtainedAtMs }) })),
    lock: (name, ttlMs) => secrets.lock(name, ttlMs),
  };
}

/** Options for {@link sharedOAuthCredential}. */
export interface SharedOAuthCredentialOptions extends Omit<OAuthCredentialOptions, 'singleFlight'> {
  /** The pool's shared tokens. */
  readonly shared: SharedOAuthTokens;
  /** Whether the account is marked `needs_login` in the pool: a different login in the file then replaces the refused shared tokens. @default () => false */
  readonly markedNeedsLogin?: (() => boolean) | undefined;
  /** Called when tokens newer than the refused ones arrive: the account works again. @default nothing */
  readonly onRevived?: (() => void) | undefined;
  /** How often a credential in use looks at the shared tokens, in ms. @default 5000 */
  readonly syncIntervalMs?: number | undefined;
  /** After a failed call to the shared store, how long to leave it alone, in ms. @default 2000 */
  readonly retryMs?: number | undefined;
  /**
   * Calls `tick` every `everyMs` for as long as the process runs: the credential looks at the shared
   * tokens then even without traffic (to put back tokens a Redis that came back empty lost, or
   * publish a refresh made while it was away, before another instance condemns the spent ones).
   * @default an unref'd setInterval
   */
  readonly every?: ((tick: () => void, everyMs: number) => void) | undefined;
  /**
   * How long the shared tokens must stay the refused ones before the account is marked
   * `needs_login`, in ms: time for an instance that refreshed while Redis was away to publish.
   * @default 15000
   */
  readonly confirmMs?: number | undefined;
}

/** How long the refresh lock lasts: longer than a call to the token endpoint may take. */
export const REFRESH_LOCK_TTL_MS: number = TOKEN_TIMEOUT_MS + 5_000;

/** How often an instance waiting on another's refresh looks for its result. */
const FOLLOW_POLL_MS = 50;

/**
 * When tokens are due for a refresh: 5 minutes before they expire, or halfway through their life
 * when they live less than 10 minutes (known only for tokens obtained by a refresh).
 */
export function refreshDueAt(entry: Pick<OAuthEntry, 'expires_at'>, obtainedAtMs: number | null): number {
  const lifeMs = obtainedAtMs === null ? Number.POSITIVE_INFINITY : entry.expires_at - obtainedAtMs;
  return entry.expires_at - Math.min(REFRESH_MARGIN_MS, Math.max(0, lifeMs / 2));
}

/**
 * The credential of a subscription account in a pool that shares its tokens (see the module
 * comment). Same surface as `oauthCredential`.
 *
 * @example
 * ```ts
 * const credential = sharedOAuthCredential({ account: 'max', entry, file, shared, tokenUrl, clientId, onNeedsLogin });
 * ```
 */
export function sharedOAuthCredential(options: SharedOAuthCredentialOptions): OAuthCredential {
  const { account, file, onNeedsLogin, shared } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const syncIntervalMs = options.syncIntervalMs ?? 5_000;
  const retryMs = options.retryMs ?? 2_000;
  const confirmMs = options.confirmMs ?? 15_000;
  const endpoint: TokenEndpoint = { tokenUrl: options.tokenUrl, clientId: options.clientId, fetch: options.fetch, now };

  // Everything secret lives in this closure.
  let current: OAuthEntry = options.entry;
  let headers = headersFor(current);
  let generation = 0;
  let obtainedAtMs: number | null = null;
  /** The refresh token this instance spent, alone, to get `current` while the pool could not be told. */
  let spentFrom: string | null = null;
  /** True until the first look at the shared tokens (the file's entry is only a seed). */
  let seeded = false;
  let inflight: Promise<void> | null = null;
  let syncing: Promise<void> | null = null;
  let lastLookMs = Number.NEGATIVE_INFINITY;
  let unreachableUntilMs = Number.NEGATIVE_INFINITY;
  let unreachableLogged = false;
  let dead: string | null = null;
  let deadGeneration = 0;
  /** The refresh token the endpoint refused while it was also the pool's, and when. */
  let refused: { readonly token: string; readonly atMs: number; readonly reason: string } | null = null;

  const due = (): boolean => now() >= refreshDueAt(current, obtainedAtMs);
  const expired = (): boolean => now() >= current.expires_at;

  const keepLocal = (entry: OAuthEntry): void => {
    // The local copy: a fallback if Redis loses everything while this instance restarts.
    file.put(account, entry).catch((error: unknown) =>
      logger.error('could not write the oauth tokens to the credentials file', { account, file: file.path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).name }),
    );
  };

  const take = (record: SharedOAuthRecord, why: string): void => {
    const changed = record.entry.refresh_token !== current.refresh_token || record.entry.access_token !== current.access_token;
    current = record.entry;
    headers = headersFor(current);
    generation = record.generation;
    obtainedAtMs = record.obtainedAtMs;
    spentFrom = null;
    if (dead !== null && record.generation > deadGeneration) {
      dead = null;
      logger.info('newer oauth tokens arrived for an account that needed a login; using them', { account, generation });
      options.onRevived?.();
    }
    if (changed) {
      logger.info(why, { account, generation, expires_at: current.expires_at });
      keepLocal(current);
    }
  };

  const unreachable = (error: unknown): void => {
    unreachableUntilMs = now() + retryMs;
    if (!unreachableLogged) {
      unreachableLogged = true;
      logger.warn('shared oauth tokens unreachable: using this instance’s tokens until Redis answers', { account, error: describe(error) });
    }
  };
  const reachable = (): void => {
    if (unreachableLogged) logger.info('shared oauth tokens reachable again', { account, generation });
    unreachableLogged = false;
  };

  /**
   * Look at the shared tokens: take newer ones; publish ours when the pool lacks them (first
   * import, a Redis that came back empty, a refresh made while it was away). Throws when Redis
   * cannot be reached.
   */
  const look = async (): Promise<SharedOAuthRecord | null> => {
    lastLookMs = now();
    let record = await shared.read(account);
    reachable();
    // A Redis that came back empty: the instances holding newer tokens need time to put them back.
    if (record === null && refused !== null) refused = { ...refused, atMs: now() };
    if (!seeded) {
      seeded = true;
      if (
        record !== null &&
        options.markedNeedsLogin?.() === true &&
        record.entry.refresh_token !== current.refresh_token &&
        current.expires_at > record.entry.expires_at &&
        spentFrom === null
      ) {
        // The pool refused the shared tokens, and the file holds a later login: a new `shunt login`.
        logger.info('a new login in the credentials file replaces the refused shared oauth tokens', { account });
        dead = 'needs_login';
        deadGeneration = record.generation;
        record = await publish({ generation: record.generation + 1, entry: current, obtainedAtMs }, record);
        return record;
      }
    }
    if (record === null) return publish({ generation: Math.max(1, generation), entry: current, obtainedAtMs }, null);
    if (spentFrom !== null && record.entry.refresh_token === spentFrom) {
      // Ours replaced exactly what the pool holds (a refresh made while Redis was away): ours is next.
      return publish({ generation: record.generation + 1, entry: current, obtainedAtMs }, record);
    }
    if (record.generation > generation || (record.generation === generation && record.entry.refresh_token !== current.refresh_token)) {
      take(record, 'oauth tokens rotated by another instance; using them');
    } else if (record.generation < generation) {
      return publish({ generation, entry: current, obtainedAtMs }, record);
    }
    return record;
  };

  const publish = async (wanted: SharedOAuthRecord, before: SharedOAuthRecord | null): Promise<SharedOAuthRecord> => {
    let record = wanted;
    for (;;) {
      const stored = await shared.write(account, record);
      if (stored === null) break;
      if (spentFrom !== null && stored.entry.refresh_token === spentFrom) {
        // What won is what ours replaced (another instance put back the tokens we spent): ours is next.
        record = { ...record, generation: stored.generation + 1 };
        continue;
      }
      // Someone published a generation as new first: theirs is the pool's.
      take(stored, 'oauth tokens rotated by another instance; using them');
      return stored;
    }
    const adopted = before === null || record.entry !== before.entry;
    // Unless newer tokens were taken meanwhile (a look running beside this one).
    if (record.entry !== current) return record;
    generation = record.generation;
    spentFrom = null;
    if (dead !== null && record.generation > deadGeneration) {
      dead = null;
      options.onRevived?.();
    }
    if (adopted && record.entry === current) logger.debug('oauth tokens published to the pool', { account, generation });
    return record;
  };

  const markDead = (reason: string): never => {
    if (dead === null) {
      dead = reason;
      deadGeneration = generation;
      logger.warn('oauth refresh refused, and the shared tokens are the ones refused; the account needs a new login (shunt login)', { account, error: reason });
      onNeedsLogin(reason);
    }
    throw needsLoginError(account, reason);
  };

  /** Spend the refresh token this instance holds, alone (Redis is away): published when it returns. */
  const refreshAlone = async (): Promise<void> => {
    const from = current;
    let next: OAuthEntry;
    try {
      next = await refreshTokens(from, endpoint);
    } catch (error) {
      if (error instanceof OAuthError && error.permanent) {
        // Another instance may have spent it: that cannot be checked until Redis answers, so the
        // account only fails over for now.
        logger.warn('oauth refresh refused while the shared tokens are unreachable; not marked needs_login until they can be checked', { account, error: error.message });
        throw new OAuthError(`account ${account}: ${error.message} (unconfirmed: the shared tokens are unreachable)`, { permanent: false, status: error.status, code: error.code });
      }
      throw error;
    }
    await file.put(account, next).catch(() => undefined);
    current = next;
    headers = headersFor(next);
    obtainedAtMs = now();
    spentFrom = from.refresh_token;
    generation += 1;
    logger.info('oauth tokens refreshed by this instance alone (Redis unreachable); published when it answers', { account, expires_at: next.expires_at });
  };

  /**
   * Make the tokens usable: `rejected` is the tokens a 401 was met with (refresh unless something
   * newer exists), or null for a refresh that is due.
   */
  const run = async (rejected: OAuthEntry | null): Promise<void> => {
    const stillNeeded = (): boolean => (rejected === null ? due() : current.access_token === rejected.access_token);
    if (now() < unreachableUntilMs) {
      if (rejected === null && !expired()) return;
      return refreshAlone();
    }
    const deadline = now() + REFRESH_LOCK_TTL_MS + 5_000;
    try {
      await look();
      if (!stillNeeded()) return;
      for (;;) {
        const lock = await shared.lock(account, REFRESH_LOCK_TTL_MS);
        if (lock === null) {
          // Another instance is refreshing: its result is the pool's next generation.
          if (now() > deadline) throw new OAuthError(`account ${account}: no refresh result from the instance holding the lock`, { permanent: false, status: null, code: null });
          await sleep(FOLLOW_POLL_MS);
          await look();
          if (!stillNeeded()) return;
          continue;
        }
        try {
          await lead(stillNeeded);
        } finally {
          await lock.release().catch(() => false);
        }
        return;
      }
    } catch (error) {
      if (error instanceof OAuthError) throw error;
      unreachable(error);
      if (rejected === null && !expired()) return;
      return refreshAlone();
    }
  };

  /** Under the lock: look again, spend, publish the next generation, then use it. */
  const lead = async (stillNeeded: () => boolean): Promise<void> => {
    const record = await look();
    if (!stillNeeded()) return;
    const from = current;
    const fromGeneration = generation;
    if (refused?.token === from.refresh_token) {
      // Refused already, and still the pool's: dead once no instance has published anything newer
      // for `confirmMs` (one that refreshed while Redis was away publishes when it next looks).
      if (now() - refused.atMs >= confirmMs) markDead(refused.reason);
      throw new OAuthError(`account ${account}: ${refused.reason} (confirming with the other instances)`, { permanent: false, status: null, code: null });
    }
    let next: OAuthEntry;
    try {
      next = await refreshTokens(from, endpoint);
    } catch (error) {
      if (error instanceof OAuthError && error.permanent) {
        // Refused. Only dead if the pool's tokens are the very ones refused.
        const again = await shared.read(account);
        if (again !== null && again.entry.refresh_token !== from.refresh_token) {
          take(again, 'oauth tokens rotated by another instance; using them');
          return;
        }
        if (again === null || record === null) throw new OAuthError(`account ${account}: ${error.message} (unconfirmed: no shared tokens)`, { permanent: false, status: error.status, code: error.code });
        refused = { token: from.refresh_token, atMs: now(), reason: error.message };
        if (confirmMs <= 0) markDead(error.message);
        logger.warn('oauth refresh refused with the pool’s current tokens; needs_login unless another instance publishes newer ones', { account, error: error.message, confirm_ms: confirmMs });
        throw new OAuthError(`account ${account}: ${error.message} (confirming with the other instances)`, { permanent: false, status: error.status, code: error.code });
      }
      logger.warn('oauth refresh failed; will try again on the next request', { account, error: (error as Error).message });
      throw error;
    }
    const t = now();
    // Published before use: every instance sees it at once, and a crash cannot lose the only valid refresh token.
    const mine: SharedOAuthRecord = { generation: fromGeneration + 1, entry: next, obtainedAtMs: t };
    current = next;
    headers = headersFor(next);
    obtainedAtMs = t;
    spentFrom = from.refresh_token;
    generation = fromGeneration; // publish() moves it on
    await file.put(account, next).catch((error: unknown) =>
      logger.error('could not write the rotated oauth tokens to the credentials file', { account, file: file.path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).name }),
    );
    try {
      await publish(mine, record);
    } catch (error) {
      // Kept (spentFrom is set): published by the next look once Redis answers.
      unreachable(error);
    }
    logger.info('oauth tokens refreshed', { account, generation, expires_at: next.expires_at });
  };

  const start = (rejected: OAuthEntry | null): Promise<void> => {
    inflight ??= run(rejected).finally(() => {
      inflight = null;
    });
    return inflight;
  };

  /** Look without anyone waiting on it (a failure only marks the store unreachable for a while). */
  const lookAside = (): Promise<void> => {
    syncing = look()
      .then(
        () => undefined,
        (error: unknown) => unreachable(error),
      )
      .finally(() => {
        syncing = null;
      });
    return syncing;
  };

  const background = (): void => {
    // Tokens refreshed while Redis was away are published as soon as it answers: another instance
    // may be about to find the pool's (spent) ones refused.
    if (syncing !== null || inflight !== null || now() < unreachableUntilMs || (spentFrom === null && now() - lastLookMs < syncIntervalMs)) return;
    void lookAside();
  };

  (options.every ?? everyUnref)(background, syncIntervalMs);


  const credential: OAuthCredential = {
    kind: 'oauth',
    canRefresh: true,
    headers: () => headers,
    refresh(signal, used) {
      if (used !== undefined && used !== headers && dead === null) return Promise.resolve();
      if (dead !== null) return Promise.reject(needsLoginError(account, dead));
      return abortable(start(current), signal);
    },
    ensureFresh(signal) {
      // The first use waits for the pool's tokens: the file's may be long spent.
      if (!seeded && inflight === null && syncing === null && now() >= unreachableUntilMs) void lookAside();
      if (syncing !== null && !seeded) {
        return abortable(syncing, signal).then(() => credential.ensureFresh(signal) ?? undefined);
      }
      if (dead !== null) {
        background(); // a new login elsewhere revives it
        return Promise.reject(needsLoginError(account, dead));
      }
      if (inflight === null && !due()) {
        background();
        return undefined;
      }
      const expiresAt = current.expires_at;
      return abortable(start(null), signal).catch((error: unknown) => {
        // A transient failure while the token still works: use it, try again next time.
        if (error instanceof OAuthError && !error.permanent && now() < expiresAt && !signal.aborted) return;
        throw error;
      });
    },
    expiresAt: () => current.expires_at,
    needsLogin: () => dead !== null,
    generation: () => generation,
  };
  return Object.freeze(credential);
}

function everyUnref(tick: () => void, everyMs: number): void {
  setInterval(tick, everyMs).unref();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
