/**
 * @module
 * Where the routing state lives, from the `[state]` table: `memory` (in this process, saved to
 * `server.state_path`) or `redis` (shared with other proxies through `@shunt/store-redis`).
 * `openState()` returns the store with its lifecycle and health, which the proxy shows in
 * `/status` and `/metrics` and closes at shutdown.
 */
import { completeStore, memoryStore, type CompleteStateStore, type StateStore } from '@shunt/core';
import type { RedisStore } from '@shunt/store-redis';
import { ConfigError, type ShuntConfig } from './config.js';
import { silentLogger, type Logger } from './logger.js';
import { sharedOAuthTokens, type SharedOAuthTokens } from './oauth-shared.js';
import { loadStoreRedis } from './store-redis-loader.js';
import { persistentStore, type PersistFs, type PersistTimers, type PersistentStore } from './persistent-store.js';

/** The `state` section of `/status`. */
export type StateStatus =
  | {
      readonly backend: 'memory';
      /** The state file, or null when the state is not saved (an embedded proxy without one). */
      readonly path: string | null;
      /** When the state was last written, epoch ms, or null. */
      readonly last_saved_ms: number | null;
      /** Why the last save failed, or null. */
      readonly last_error: string | null;
    }
  | {
      readonly backend: 'redis';
      readonly key_prefix: string;
      readonly connected: boolean;
      readonly degraded_since_ms: number | null;
      readonly last_sync_ms: number | null;
      readonly pending_writes: number;
      /** When Redis last answered the heartbeat PING (epoch ms), or null if never. */
      readonly last_heartbeat_ms: number | null;
    }
  | { readonly backend: 'custom' };

/** A state store with its lifecycle: what the proxy needs beyond the `StateStore` itself. */
export interface StateBackend {
  /** The store the router reads and writes, with every optional method (see `completeStore`). */
  readonly store: CompleteStateStore;
  /** `memory`, `redis`, or `custom` (a store passed in by an embedder). */
  readonly kind: StateStatus['backend'];
  /** For `/status`. */
  status(): StateStatus;
  /** For `/metrics`: false while Redis is unreachable, or while the state file cannot be written. */
  up(): boolean;
  /** Save or flush what is pending and release connections (the proxy calls it in `close()`). */
  close(): Promise<void>;
  /** Redis backend with `state.credentials_key`: where subscription tokens are shared, encrypted. */
  readonly sharedTokens?: SharedOAuthTokens | undefined;
}

/** Options for {@link openState}. */
export interface OpenStateOptions {
  /** Where degradation, recovery and file problems are logged. */
  readonly logger?: Logger | undefined;
  /** The clock (the stores' deadlines), epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Memory backend: save this long after the last mutation. @default 1000 */
  readonly debounceMs?: number | undefined;
  /** Memory backend: file operations (tests). */
  readonly fs?: PersistFs | undefined;
  /** Memory backend: timers (tests). */
  readonly timers?: PersistTimers | undefined;
  /**
   * Redis backend: how long start-up waits for the first load before serving from the local
   * replica (an unreachable Redis, connection refused, is known sooner: the proxy then starts at once).
   * @default 2000
   */
  readonly readyTimeoutMs?: number | undefined;
  /** Redis backend: how often the replica is reloaded from Redis. @default 10000 */
  readonly reconcileIntervalMs?: number | undefined;
}

/**
 * Open the configured state backend, ready to serve: the memory store with the saved state
 * restored, or the Redis store loaded from Redis (or, if Redis refuses the connection or does not
 * answer within `readyTimeoutMs`, serving from its local replica and syncing once Redis answers:
 * logged once). A setting Redis refuses (a db index it does not have) throws a {@link ConfigError}.
 */
export async function openState(config: ShuntConfig, options: OpenStateOptions = {}): Promise<StateBackend> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  if (config.state.backend === 'redis') return openRedis(config, options, logger, now);

  const path = config.server.statePath;
  const store = persistentStore(memoryStore({ now }), {
    path,
    logger,
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    ...(options.fs === undefined ? {} : { fs: options.fs }),
    ...(options.timers === undefined ? {} : { timers: options.timers }),
  });
  const loaded = await store.load();
  if (loaded.kind === 'restored') logger.info('routing state restored', { path, accounts: loaded.accounts, conversations: loaded.sticky });
  return fileBackend(store);
}

/** The backend of a persistent memory store (for embedders who build the store themselves). */
export function fileBackend(store: PersistentStore): StateBackend {
  return {
    store,
    kind: 'memory',
    status() {
      const s = store.status();
      return { backend: 'memory', path: s.path, last_saved_ms: s.lastSavedMs, last_error: s.lastError };
    },
    up: () => store.status().lastError === null,
    close: () => store.close(),
  };
}

/**
 * The backend of a store the proxy did not open: no persistence, always up, nothing to close. A
 * store with only the required methods gets core's fallbacks for the rest.
 */
export function plainBackend(store: StateStore, kind: 'memory' | 'custom'): StateBackend {
  return {
    store: completeStore(store),
    kind,
    status: () => (kind === 'memory' ? { backend: 'memory', path: null, last_saved_ms: null, last_error: null } : { backend: 'custom' }),
    up: () => true,
    close: async () => {},
  };
}

async function openRedis(config: ShuntConfig, options: OpenStateOptions, logger: Logger, now: () => number): Promise<StateBackend> {
  // Loaded only when configured (an optional peer): a proxy on the memory backend never loads ioredis.
  const { redisStore, redisCredentials, parseCredentialsKey } = await loadStoreRedis(config.file);
  const keyPrefix = config.state.keyPrefix;
  let degradedLogged = false;
  let noticeDegraded: () => void = () => {};
  const degraded = new Promise<void>((resolve) => {
    noticeDegraded = resolve;
  });
  let store: RedisStore;
  try {
    store = redisStore({
      url: config.state.url ?? undefined,
      keyPrefix,
      now,
      readyTimeoutMs: options.readyTimeoutMs ?? START_WAIT_MS,
      ...(options.reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs: options.reconcileIntervalMs }),
      // The store's own messages go to debug: the hooks below log each transition once, as JSON.
      logger: { warn: (message) => logger.debug('redis store', { message }), info: (message) => logger.debug('redis store', { message }) },
      onDegraded: (error) => {
        degradedLogged = true;
        noticeDegraded();
        logger.warn('Redis unreachable: serving from the local replica, keeping writes until it returns', { error: error.message });
      },
      onRecovered: ({ downMs }) => logger.info('Redis reachable again: local state pushed and reloaded', { down_ms: downMs }),
    });
  } catch (error) {
    // A url the store cannot use at all (a db path that is not a number).
    throw new ConfigError(config.file, 'state.url', (error as Error).message.replace(/^redisStore: /, ''));
  }
  try {
    // Not a moment longer than needed: a refused connection is known at once, and the proxy then
    // starts on its local replica rather than waiting out the timeout.
    await Promise.race([store.ready(), degraded.then(() => Promise.reject(new Error('Redis unreachable')))]);
    logger.info('shared state loaded from Redis', { key_prefix: keyPrefix });
  } catch (error) {
    const fatal = store.status().fatalError;
    if (fatal !== null) {
      await store.close();
      throw new ConfigError(config.file, 'state.url', fatal.replace(/^redisStore: /, ''));
    }
    // Said once: when the degradation was already logged, this is only a detail.
    (degradedLogged ? logger.debug : logger.warn).call(logger, 'Redis not reachable at start: serving from local state, will sync when it answers', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
  const { credentialsKey, credentialsKeyPrevious } = config.state;
  // Its own connection, with a short command timeout: a hung Redis fails a token look-up fast.
  const secrets =
    credentialsKey === null
      ? null
      : redisCredentials({
          url: config.state.url ?? undefined,
          keyPrefix,
          key: parseCredentialsKey(credentialsKey, 'state.credentials_key'),
          previousKeys: credentialsKeyPrevious === null ? [] : [parseCredentialsKey(credentialsKeyPrevious, 'state.credentials_key_previous')],
        });
  return {
    store,
    kind: 'redis',
    ...(secrets === null ? {} : { sharedTokens: sharedOAuthTokens(secrets) }),
    status() {
      const s = store.status();
      return {
        backend: 'redis',
        key_prefix: keyPrefix,
        connected: s.connected,
        degraded_since_ms: s.degradedSinceMs,
        last_sync_ms: s.lastSyncMs,
        pending_writes: s.pendingWrites,
        last_heartbeat_ms: s.lastHeartbeatMs,
      };
    },
    up: () => store.status().connected,
    close: async () => {
      await Promise.all([store.close(), secrets?.close()]);
    },
  };
}

/** How long `shunt start` waits for the first load from a Redis that accepted the connection. */
const START_WAIT_MS = 2000;

