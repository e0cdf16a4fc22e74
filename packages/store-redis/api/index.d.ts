// The public API of @shunt/store-redis: written by `pnpm api:report`, checked by CI. Review every change.
import { StateStore } from '@shunt/core';
import { RedisOptions } from 'ioredis';

/** Where the store reports what an operator should know (degradation, recovery, bad messages). */
interface RedisStoreLogger {
    /** Something is wrong but the store keeps serving. */
    warn(message: string): void;
    /** Something an operator may want to see once. */
    info(message: string): void;
}
/** Options for {@link redisStore}. */
interface RedisStoreOptions {
    /**
     * The Redis server, as a `redis://` or `rediss://` URL.
     * @default "redis://127.0.0.1:6379"
     */
    readonly url?: string | undefined;
    /**
     * Extra ioredis options (TLS, password, `retryStrategy`…), applied over the store's defaults
     * (`enableOfflineQueue: false`, `maxRetriesPerRequest: 1`, reconnect backoff capped at 1 s).
     * @default {}
     */
    readonly redis?: RedisOptions | undefined;
    /**
     * Prefix of every key the store writes; instances sharing state must use the same one.
     * @default "shunt:"
     */
    readonly keyPrefix?: string | undefined;
    /**
     * The pub/sub channel writes are announced on.
     * @default `${keyPrefix}events`
     */
    readonly channel?: string | undefined;
    /**
     * The clock, in epoch milliseconds: cooldown deadlines, sticky expiry and write stamps all come
     * from it. Instances sharing a Redis must have clocks within a second or so of each other (NTP).
     * @default Date.now
     */
    readonly now?: (() => number) | undefined;
    /**
     * How often the replica is reloaded from Redis, to recover from a missed pub/sub message.
     * @default 10000
     */
    readonly reconcileIntervalMs?: number | undefined;
    /**
     * How long `ready()` waits for the first load from Redis before rejecting (the store keeps
     * serving from its replica and keeps reconnecting either way).
     * @default 10000
     */
    readonly readyTimeoutMs?: number | undefined;
    /**
     * Most conversations the replica remembers (Redis keeps every sticky entry until its TTL).
     * @default 10000
     */
    readonly maxStickyEntries?: number | undefined;
    /**
     * This instance's id in pub/sub messages (its own messages are ignored).
     * @default a random UUID
     */
    readonly instanceId?: string | undefined;
    /**
     * Where warnings go.
     * @default undefined (silent)
     */
    readonly logger?: RedisStoreLogger | undefined;
    /** Called once when Redis becomes unreachable (again only after a recovery). */
    readonly onDegraded?: ((error: Error) => void) | undefined;
    /** Called once when Redis is back and the replica has been pushed and reloaded. */
    readonly onRecovered?: ((info: {
        readonly downMs: number;
    }) => void) | undefined;
}
/** What `/status` and `/metrics` show about the shared store. */
interface RedisStoreStatus {
    /** True while Redis is reachable and the replica has been synchronised since it last was not. */
    readonly connected: boolean;
    /** When Redis became unreachable (epoch ms on the store's clock), or null while connected. */
    readonly degradedSinceMs: number | null;
    /** When the replica last completed a full load from Redis, or null if never. */
    readonly lastSyncMs: number | null;
    /** Local writes not yet acknowledged by Redis (each key counts once however often written). */
    readonly pendingWrites: number;
}
/** A held Redis lock (`SET NX PX`); release it when done, it expires by itself otherwise. */
interface RedisLock {
    /** The key passed to `acquireLock`. */
    readonly key: string;
    /** The random token that proves ownership. */
    readonly token: string;
    /** Release the lock if this instance still holds it; resolves to whether it did. */
    release(): Promise<boolean>;
}
/** Options for {@link RedisStore.singleFlight}. */
interface SingleFlightOptions {
    /**
     * How long the leader's lock lasts; make it longer than `fn` ever takes.
     * @default 30000
     */
    readonly ttlMs?: number | undefined;
    /**
     * How long a follower waits for the leader's result before giving up with an error.
     * @default ttlMs + 5000
     */
    readonly waitMs?: number | undefined;
    /**
     * How often a follower checks for the leader's result.
     * @default 25
     */
    readonly pollMs?: number | undefined;
    /**
     * How long the leader's result stays readable for followers.
     * @default 60000
     */
    readonly resultTtlMs?: number | undefined;
    /**
     * Reuse a result that another call produced this recently instead of running `fn` again: a
     * call that arrives just after a refresh finished gets that refresh's token rather than
     * spending the (now rotated) refresh token. 0 turns reuse off.
     * @default 0
     */
    readonly reuseWithinMs?: number | undefined;
    /**
     * What to do when Redis cannot be reached: run `fn` locally (another instance might run it
     * too), or throw.
     * @default "run"
     */
    readonly whenUnreachable?: 'run' | 'throw' | undefined;
}
/** What {@link RedisStore.singleFlight} returns. */
interface SingleFlightResult<T> {
    /** The value `fn` returned, here or on the instance that led. */
    readonly value: T;
    /** True when this call ran `fn` itself. */
    readonly leader: boolean;
}
/** A {@link StateStore} shared through Redis, with its lifecycle, health and cross-instance locks. */
interface RedisStore extends StateStore {
    /** This instance's id in pub/sub messages. */
    readonly instanceId: string;
    /**
     * Always present (see `StateStore.recordFault`): counted on the local replica, which hears of
     * other instances' failing requests by pub/sub, and shared through Redis for a new instance.
     */
    recordFault(name: string, requestKey: string, windowMs: number): number;
    /**
     * Resolves once the replica has been loaded from Redis; rejects after `readyTimeoutMs` if Redis
     * cannot be reached (the store still serves from its replica and syncs when Redis comes back).
     */
    ready(): Promise<void>;
    /** Send what is pending (best effort), then close both connections. */
    close(): Promise<void>;
    /** Connection health, for `/status` and `/metrics`. */
    status(): RedisStoreStatus;
    /** Resolves when every write made so far has been sent to Redis (or the attempt failed). */
    flush(): Promise<void>;
    /** Send pending writes and reload the replica from Redis now. */
    reconcile(): Promise<void>;
    /** Try to take a short lock shared by every instance (`SET NX PX`); null when someone holds it. */
    acquireLock(key: string, ttlMs: number): Promise<RedisLock | null>;
    /**
     * Run `fn` on exactly one instance at a time for `key` (e.g. an OAuth refresh, so two instances
     * never spend the same refresh token); the others wait and receive its result. The result must
     * be JSON-serialisable: it passes through Redis.
     */
    singleFlight<T>(key: string, fn: () => Promise<T>, options?: SingleFlightOptions): Promise<SingleFlightResult<T>>;
}
/**
 * Create a {@link StateStore} shared through Redis. The store starts connecting at once; await
 * `ready()` before the first pick to start from the shared state.
 *
 * @example
 * ```ts
 * const store = redisStore({ url: 'redis://10.0.0.5:6379', keyPrefix: 'team-a:' });
 * await store.ready();
 * const account = pickAccount(accounts, store, { fingerprint: fingerprint(body) });
 * ```
 */
declare function redisStore(options?: RedisStoreOptions): RedisStore;

export { type RedisLock, type RedisStore, type RedisStoreLogger, type RedisStoreOptions, type RedisStoreStatus, type SingleFlightOptions, type SingleFlightResult, redisStore };
