/**
 * @module
 * `redisStore()`: a `@shunt/core` {@link StateStore} shared by several proxy instances through
 * Redis. Reads are served from a local `memoryStore` replica (so `pickAccount` stays synchronous
 * and costs what it costs in memory); writes update the replica at once and go through to Redis
 * asynchronously, merged by Lua scripts; other instances' writes arrive by pub/sub and by periodic
 * reconciliation and are merged with the same order-independent rules (see `entries.ts` and
 * docs/architecture.md, "The Redis store: consistency model").
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryStore, type CompleteStateStore, type RateLimitInfo, type StateStore } from '@shunt/core';
import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import {
  NO_COOLDOWN,
  RATE_LIMIT_FIELDS,
  asciiJson,
  cooldownDeadline,
  encodeCooldown,
  encodeEntry,
  isNewer,
  isRateLimitField,
  materializeRateLimits,
  MAX_COOLDOWN_MS,
  mergeCooldown,
  mergeRegisters,
  parseCooldown,
  parseEntry,
  payloadOf,
  rateLimitDelta,
  sameRateLimits,
  type CooldownState,
  type RateLimitField,
  type RateLimitRegisters,
} from './entries.js';
import { LWW_HSET, LWW_SET_PX, MAX_SET, MERGE_COOLDOWN, RECORD_FAULTS, RELEASE_LOCK } from './scripts.js';

/** Where the store reports what an operator should know (degradation, recovery, bad messages). */
export interface RedisStoreLogger {
  /** Something is wrong but the store keeps serving. */
  warn(message: string): void;
  /** Something an operator may want to see once. */
  info(message: string): void;
}

/** Options for {@link redisStore}. */
export interface RedisStoreOptions {
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
   * How long any Redis command (the heartbeat PING included) may take before Redis counts as
   * unreachable. With `heartbeatIntervalMs`, it bounds how soon a hung Redis (a stopped process, a
   * dead link) is reported: within `heartbeatIntervalMs + commandTimeoutMs`.
   * @default 2000
   */
  readonly commandTimeoutMs?: number | undefined;
  /**
   * How often Redis is PINGed, so a Redis that stops answering is noticed even when nothing is
   * written, and a recovered one is resynchronised at once.
   * @default 1000
   */
  readonly heartbeatIntervalMs?: number | undefined;
  /**
   * How long writes that change no routing decision are held so that many go as one: a rate-limit
   * record whose values are unchanged (only re-stamped) and the last-used account. Cooldowns,
   * changed limits, disabled accounts, the pin and conversations always go on the next tick.
   * 0 sends everything at once.
   * @default 1000
   */
  readonly lazyWriteMs?: number | undefined;
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
  readonly onRecovered?: ((info: { readonly downMs: number }) => void) | undefined;
}

/** What `/status` and `/metrics` show about the shared store. */
export interface RedisStoreStatus {
  /** True while Redis is reachable and the replica has been synchronised since it last was not. */
  readonly connected: boolean;
  /** When Redis became unreachable (epoch ms on the store's clock), or null while connected. */
  readonly degradedSinceMs: number | null;
  /** When the replica last completed a full load from Redis, or null if never. */
  readonly lastSyncMs: number | null;
  /** Local writes not yet acknowledged by Redis (each key counts once however often written). */
  readonly pendingWrites: number;
  /** When Redis last answered the heartbeat PING, or null if never. */
  readonly lastHeartbeatMs: number | null;
  /**
   * Why the store gave up for good (a setting Redis refuses, such as a db index out of range), or
   * null. Unlike an outage, this does not heal: fix the URL.
   */
  readonly fatalError: string | null;
}

/** A held Redis lock (`SET NX PX`); release it when done, it expires by itself otherwise. */
export interface RedisLock {
  /** The key passed to `acquireLock`. */
  readonly key: string;
  /** The random token that proves ownership. */
  readonly token: string;
  /** Release the lock if this instance still holds it; resolves to whether it did. */
  release(): Promise<boolean>;
}

/** Options for {@link RedisStore.singleFlight}. */
export interface SingleFlightOptions {
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
export interface SingleFlightResult<T> {
  /** The value `fn` returned, here or on the instance that led. */
  readonly value: T;
  /** True when this call ran `fn` itself. */
  readonly leader: boolean;
}

/** A {@link StateStore} shared through Redis (every optional method included), with its lifecycle, health and cross-instance locks. */
export interface RedisStore extends CompleteStateStore {
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
export function redisStore(options: RedisStoreOptions = {}): RedisStore {
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? 'shunt:';
  const channel = options.channel ?? `${prefix}events`;
  const reconcileIntervalMs = positive('reconcileIntervalMs', options.reconcileIntervalMs, 10_000);
  const readyTimeoutMs = positive('readyTimeoutMs', options.readyTimeoutMs, 10_000);
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 2000);
  const heartbeatIntervalMs = positive('heartbeatIntervalMs', options.heartbeatIntervalMs, 1000);
  const lazyWriteMs = options.lazyWriteMs ?? 1000;
  if (!Number.isFinite(lazyWriteMs) || lazyWriteMs < 0) throw new RangeError(`redisStore: lazyWriteMs must be a number >= 0, got ${String(lazyWriteMs)}`);
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const where = describeUrl(url);
  const maxSticky = options.maxStickyEntries ?? 10_000;
  const instanceId = options.instanceId ?? randomUUID();
  const logger = options.logger;
  const keys = {
    rateLimits: `${prefix}ratelimits`,
    cooldowns: `${prefix}cooldowns`,
    disabled: `${prefix}disabled`,
    routing: `${prefix}routing`,
    roundRobin: `${prefix}roundrobin`,
    faults: `${prefix}faults`,
    sticky: (fingerprint: string): string => `${prefix}sticky:${fingerprint}`,
    lock: (key: string): string => `${prefix}lock:${key}`,
    flight: (key: string, token: string): string => `${prefix}flight:${key}:${token}`,
    latest: (key: string): string => `${prefix}flight:${key}:latest`,
  };

  // The replica answers every read. While a remote value is applied its clock is frozen, so a
  // deadline handed over as "ms from now" lands exactly where it was meant to.
  let frozenMs: number | null = null;
  const replica = memoryStore({ now: () => frozenMs ?? now(), maxStickyEntries: maxSticky });
  const atFrozenClock = <T>(fn: (t: number) => T): T => {
    const outer = frozenMs;
    frozenMs = outer ?? now();
    try {
      return fn(frozenMs);
    } finally {
      frozenMs = outer;
    }
  };

  // A hybrid logical clock: stamps follow the wall clock but never repeat or go back, and jump
  // past every stamp seen from another instance, so a write made after seeing a write wins over it.
  let lastStamp = 0;
  const stamp = (): number => {
    lastStamp = Math.max(Math.floor(now()) * 1000, lastStamp + 1);
    return lastStamp;
  };
  const observe = (entryStamp: number): void => {
    if (entryStamp > lastStamp) lastStamp = entryStamp;
  };

  // The registers behind the replica (what merges are computed on) and what is not yet in Redis.
  const rateLimitRegisters = new Map<string, RateLimitRegisters>();
  const cooldowns = new Map<string, CooldownState>();
  const disabled = new Map<string, string>();
  const routing = new Map<RoutingField, string>();
  const sticky = new Map<string, StickyRegister>();
  let roundRobin = 0;
  let dirty = emptyDirty();
  // Writes that change no routing decision wait here (at most lazyWriteMs) and then join `dirty`.
  let lazy = emptyDirty();
  let lazyTimer: NodeJS.Timeout | null = null;
  // The latest record per account that only re-stamped known values: in the replica already, not
  // yet in the registers (each would cost a register merge per response).
  const restamps = new Map<string, RateLimitInfo>();

  // Connection state.
  const clientOptions: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
    // A command never waits longer than this (a stopped Redis still accepts TCP, and answers nothing).
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 5000),
    // A peer that vanished without a FIN (a lost host) is found by TCP itself, not only by timeouts.
    keepAlive: 10_000,
    ...options.redis,
  };
  const client = new Redis(url, clientOptions) as ScriptedRedis;
  const subscriber = client.duplicate({ autoResubscribe: false });
  defineScripts(client);
  let mainReady = false;
  let subscriberReady = false;
  let connected = false;
  let closed = false;
  let degradedSinceMs: number | null = null;
  let lastSyncMs: number | null = null;
  let lastHeartbeatMs: number | null = null;
  let heartbeatOutstanding = false;
  let fatalError: string | null = null;
  let flushScheduled = false;
  let flushing: Promise<void> | null = null;
  let resyncing: Promise<void> | null = null;
  let resyncAgain = false;
  const inflight = new Map<string, Promise<SingleFlightResult<unknown>>>();

  let resolveReady: () => void = () => {};
  let rejectReady: (error: Error) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  readyPromise.catch(() => {}); // nobody has to call ready()
  const readyTimer = setTimeout(() => {
    rejectReady(new Error(`redisStore: no connection to Redis within ${String(readyTimeoutMs)} ms; serving from the local replica meanwhile`));
  }, readyTimeoutMs);
  readyTimer.unref();
  const reconcileTimer = setInterval(() => {
    if (connected) void reconcileNow().catch(() => {});
    else void resync();
  }, reconcileIntervalMs);
  reconcileTimer.unref();
  // The heartbeat: a PING bounded by commandTimeoutMs. A failure marks the store degraded (once);
  // the first answer after that resynchronises, even on a connection that never closed (SIGCONT).
  const heartbeatTimer = setInterval(() => {
    if (closed || heartbeatOutstanding || !mainReady) return;
    heartbeatOutstanding = true;
    client
      .ping()
      .then(
        () => {
          lastHeartbeatMs = now();
          if (!connected && resyncing === null) void resync();
        },
        (error: unknown) => markDegraded(asError(error)),
      )
      .finally(() => {
        heartbeatOutstanding = false;
      });
  }, heartbeatIntervalMs);
  heartbeatTimer.unref();

  client.on('error', (error: Error) => {
    if (isRefusedDb(error)) giveUp(`Redis refused db ${String(options.redis?.db ?? where.db)} of ${where.url} (${error.message}): use a db index the server has (0..15 by default), or none`);
    else markDegraded(error);
  });
  client.on('close', () => {
    mainReady = false;
    if (!closed) markDegraded(new Error('connection to Redis closed'));
  });
  client.on('ready', () => {
    mainReady = true;
    void resync();
  });
  subscriber.on('error', () => {}); // reported through the main connection
  subscriber.on('close', () => {
    subscriberReady = false;
  });
  subscriber.on('ready', () => {
    subscriber
      .subscribe(channel)
      .then(() => {
        subscriberReady = true;
        void resync();
      })
      .catch((error: unknown) => markDegraded(asError(error)));
  });
  subscriber.on('message', (_channel: string, message: string) => onMessage(message));

  // ---------------------------------------------------------------------------------------------
  // Applying values (local writes and remote ones share these)

  const syncReplicaRateLimits = (name: string): void => {
    const registers = rateLimitRegisters.get(name);
    const wanted = registers === undefined ? null : materializeRateLimits(registers);
    if (wanted === null || sameRateLimits(replica.rateLimits(name), wanted)) return;
    replica.updateRateLimits(name, wanted);
    if (sameRateLimits(replica.rateLimits(name), wanted)) return;
    // The merge kept a field the registers dropped (a concurrent window rollover): rare, so the
    // record is replaced through a snapshot rather than by re-implementing the store.
    const snapshot = atFrozenClock(() => replica.snapshot());
    const accounts = Object.entries(snapshot.accounts).map(([n, state]) =>
      n === name ? [n, { ...state, rateLimits: wanted }] : [n, state],
    );
    if (!accounts.some(([n]) => n === name)) accounts.push([name, { rateLimits: wanted }]);
    atFrozenClock(() => replica.restore({ ...snapshot, accounts: Object.fromEntries(accounts) as typeof snapshot.accounts }));
  };

  const applyRateLimits = (name: string, incoming: ReadonlyMap<RateLimitField, string>): RateLimitField[] => {
    let registers = rateLimitRegisters.get(name);
    if (registers === undefined) {
      registers = new Map();
      rateLimitRegisters.set(name, registers);
    }
    const changed = mergeRegisters(registers, incoming);
    if (changed.length > 0) syncReplicaRateLimits(name);
    return changed;
  };

  const applyCooldown = (name: string, incoming: CooldownState): boolean => {
    const current = cooldowns.get(name) ?? NO_COOLDOWN;
    const merged = mergeCooldown(current, incoming);
    if (encodeCooldown(merged) === encodeCooldown(current)) return false;
    cooldowns.set(name, merged);
    const untilMs = cooldownDeadline(merged);
    atFrozenClock((t) => {
      const running = replica.cooldownUntilMs(name);
      if (untilMs === null || untilMs <= t) {
        if (running !== null) replica.clearCooldown(name);
      } else if (running !== untilMs) {
        if (running !== null) replica.clearCooldown(name);
        replica.setCooldown(name, untilMs - t);
      }
    });
    return true;
  };

  const applyDisabled = (name: string, entry: string): boolean => {
    if (!isNewer(entry, disabled.get(name))) return false;
    const reason = payloadOf(entry);
    if (reason !== null && typeof reason !== 'string') return false;
    disabled.set(name, entry);
    if (reason === null) replica.enable(name);
    else replica.disable(name, reason);
    return true;
  };

  const applyRouting = (field: RoutingField, entry: string): boolean => {
    if (!isNewer(entry, routing.get(field))) return false;
    const value = payloadOf(entry);
    if (typeof value !== 'string' && !(value === null && field === 'pinned')) return false;
    routing.set(field, entry);
    if (field === 'pinned') replica.setPinned(value);
    else if (value !== null) replica.setLastUsed(value);
    return true;
  };

  const rememberSticky = (fingerprint: string, register: StickyRegister): void => {
    sticky.delete(fingerprint);
    sticky.set(fingerprint, register);
    // Bounded like the replica: the least recently written entries go first (Redis keeps them
    // until their TTL, so another instance can still find them).
    while (sticky.size > maxSticky) {
      const oldest = sticky.keys().next();
      if (oldest.done === true) break;
      sticky.delete(oldest.value);
      dirty.sticky.delete(oldest.value);
    }
  };

  const applySticky = (fingerprint: string, entry: string): boolean => {
    const known = sticky.get(fingerprint);
    if (!isNewer(entry, known === undefined ? undefined : stickyEntry(known))) return false;
    const value = payloadOf(entry);
    if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'number' || !Number.isFinite(value[1])) return false;
    const [account, expiresAtMs] = value as [string, number];
    rememberSticky(fingerprint, { account, expiresAtMs, stamp: parseEntry(entry)?.a ?? 0, entry });
    atFrozenClock((t) => replica.setSticky(fingerprint, account, Math.max(0, expiresAtMs - t)));
    return true;
  };

  const applyRoundRobin = (value: number): void => {
    if (Number.isSafeInteger(value) && value > roundRobin) roundRobin = value;
  };

  // Another instance's failing request (or one loaded from Redis): merged into the replica at the
  // time it failed, keeping the later failure of a request; the next local recordFault prunes it
  // to its window.
  const applyFault = (name: string, requestKey: string, atMs: number): void => {
    const outer = frozenMs;
    frozenMs = atMs;
    try {
      replica.recordFault(name, requestKey, Number.POSITIVE_INFINITY);
    } finally {
      frozenMs = outer;
    }
  };

  const queueFault = (write: FaultWrite): void => {
    const member = asciiJson([write.name, write.requestKey]);
    dirty.faults.delete(member);
    dirty.faults.set(member, write);
    // Bounded while Redis is away: the oldest failures matter least.
    while (dirty.faults.size > MAX_PENDING_FAULTS) {
      const oldest = dirty.faults.keys().next();
      if (oldest.done === true) break;
      dirty.faults.delete(oldest.value);
    }
  };

  const observeEntry = (entry: string): void => {
    const parsed = parseEntry(entry);
    if (parsed !== null) observe(Math.max(parsed.a, parsed.b));
  };

  // ---------------------------------------------------------------------------------------------
  // Pub/sub

  const onMessage = (text: string): void => {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      logger?.warn(`redisStore: ignored a malformed message on ${channel}`);
      return;
    }
    if (!isRecord(message) || message['v'] !== 1 || message['from'] === instanceId || !Array.isArray(message['ops'])) return;
    for (const op of message['ops'] as unknown[]) applyOp(op);
  };

  const applyOp = (op: unknown): void => {
    if (!Array.isArray(op) || typeof op[0] !== 'string' || typeof op[1] !== 'string') return;
    const [kind, name, payload] = op as [string, string, unknown];
    if (kind === 'rl' && isRecord(payload)) {
      settleRestamp(name); // so the merge below weighs this instance's latest record too
      const incoming = new Map<RateLimitField, string>();
      for (const [field, entry] of Object.entries(payload)) {
        if (isRateLimitField(field) && typeof entry === 'string') {
          incoming.set(field, entry);
          observeEntry(entry);
        }
      }
      applyRateLimits(name, incoming);
      return;
    }
    if (kind === 'ft') {
      if (Array.isArray(payload) && typeof payload[0] === 'string' && typeof payload[1] === 'number' && Number.isFinite(payload[1])) {
        applyFault(name, payload[0], payload[1]);
      }
      return;
    }
    if (typeof payload !== 'string') return;
    switch (kind) {
      case 'cd': {
        const state = parseCooldown(payload);
        if (state !== null) {
          observe(Math.max(state.clearStamp, ...state.sets.map((set) => set.setStamp)));
          applyCooldown(name, state);
        }
        return;
      }
      case 'dis':
        observeEntry(payload);
        applyDisabled(name, payload);
        return;
      case 'rt':
        if (name === 'pinned' || name === 'lastUsed') {
          observeEntry(payload);
          applyRouting(name, payload);
        }
        return;
      case 'st':
        observeEntry(payload);
        applySticky(name, payload);
        return;
      default:
    }
  };

  // ---------------------------------------------------------------------------------------------
  // Writing to Redis

  /**
   * A local record into the registers (the replica has taken it already): a field with a new value
   * sends the whole record on the next tick, a record that only re-stamps known values waits with
   * the lazy writes.
   */
  const recordRateLimits = (name: string, before: RateLimitInfo | null, after: RateLimitInfo, info: RateLimitInfo): void => {
    const registers = rateLimitRegisters.get(name);
    const delta = rateLimitDelta(before, after, info, stamp(), registers);
    const fresh = new Set<RateLimitField>();
    for (const [field, entry] of delta) {
      const known = registers?.get(field);
      if (field !== 'updatedMs' && (known === undefined || payloadText(known) !== payloadText(entry))) fresh.add(field);
    }
    const changed = applyRateLimits(name, delta);
    // A record older than what another instance already reported loses field by field: put the
    // replica back to what the registers say (applyRateLimits did when something changed).
    if (changed.length === 0) {
      syncReplicaRateLimits(name);
      return;
    }
    // A new value goes with the whole record (its updatedMs included: a first record needs it).
    if (changed.some((field) => fresh.has(field))) {
      addRateLimitFields(dirty, name, changed);
      scheduleFlush();
    } else {
      addRateLimitFields(lazy, name, changed);
      scheduleLazy();
    }
  };

  /** Put an account's held re-stamp into the registers (before a remote record for it is merged, or when lazy writes go). */
  const settleRestamp = (name: string): void => {
    const info = restamps.get(name);
    if (info === undefined) return;
    restamps.delete(name);
    const before = replica.rateLimits(name);
    replica.updateRateLimits(name, info);
    recordRateLimits(name, before, replica.rateLimits(name) as RateLimitInfo, info);
  };

  const pendingCount = (): number => dirtyCount(dirty) + dirtyCount(lazy) + restamps.size;

  /** Hand the lazy writes to the next flush. */
  const promoteLazy = (): void => {
    for (const name of [...restamps.keys()]) settleRestamp(name);
    if (lazyTimer !== null) clearTimeout(lazyTimer);
    lazyTimer = null;
    if (dirtyCount(lazy) === 0) return;
    const taken = lazy;
    lazy = emptyDirty();
    restoreDirty(taken);
  };

  const scheduleLazy = (): void => {
    if (lazyTimer !== null || closed) return;
    if (lazyWriteMs === 0) {
      promoteLazy();
      scheduleFlush();
      return;
    }
    lazyTimer = setTimeout(() => {
      lazyTimer = null;
      promoteLazy();
      scheduleFlush();
    }, lazyWriteMs);
    lazyTimer.unref();
  };

  const scheduleFlush = (): void => {
    if (flushScheduled || !connected || closed) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      void runFlush();
    });
  };

  const runFlush = (): Promise<void> => {
    if (flushing !== null) return flushing.then(() => runFlush());
    if (!connected || dirtyCount(dirty) === 0) return Promise.resolve();
    flushing = (async () => {
      while (connected && dirtyCount(dirty) > 0) {
        const taken = dirty;
        dirty = emptyDirty();
        try {
          await send(batchOf(taken), taken.roundRobin, false);
        } catch (error) {
          restoreDirty(taken);
          markDegraded(asError(error));
        }
      }
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  };

  /** Put writes back into `dirty` (a failed send, or the lazy ones whose time has come). */
  const restoreDirty = (taken: Dirty): void => {
    for (const [name, fields] of taken.rateLimits) addRateLimitFields(dirty, name, [...fields]);
    for (const name of taken.cooldowns) dirty.cooldowns.add(name);
    for (const name of taken.disabled) dirty.disabled.add(name);
    for (const field of taken.routing) dirty.routing.add(field);
    for (const fingerprint of taken.sticky) if (sticky.has(fingerprint)) dirty.sticky.add(fingerprint);
    // Older than anything recorded since: they go back first, and are the first to be dropped.
    const newer = [...dirty.faults.values()];
    dirty.faults.clear();
    for (const write of [...taken.faults.values(), ...newer]) queueFault(write);
    dirty.roundRobin += taken.roundRobin;
  };

  /** The current registers for the dirty keys (a key written twice is sent once, as it is now). */
  const batchOf = (taken: Dirty): Batch => {
    const batch = emptyBatch();
    for (const [name, fields] of taken.rateLimits) {
      const registers = rateLimitRegisters.get(name);
      const entries: Array<[RateLimitField, string]> = [];
      for (const field of fields) {
        const entry = registers?.get(field);
        if (entry !== undefined) entries.push([field, entry]);
      }
      if (entries.length > 0) batch.rateLimits.push([name, entries]);
    }
    for (const name of taken.cooldowns) {
      const state = cooldowns.get(name);
      if (state !== undefined) batch.cooldowns.push([name, encodeCooldown(state)]);
    }
    for (const name of taken.disabled) {
      const entry = disabled.get(name);
      if (entry !== undefined) batch.disabled.push([name, entry]);
    }
    for (const field of taken.routing) {
      const entry = routing.get(field);
      if (entry !== undefined) batch.routing.push([field, entry]);
    }
    for (const fingerprint of taken.sticky) {
      const register = sticky.get(fingerprint);
      if (register !== undefined) batch.sticky.push([fingerprint, register]);
    }
    batch.faults.push(...taken.faults.values());
    return batch;
  };

  /**
   * Everything this instance knows, for a push after (re)connecting: Redis may have lost it. Fault
   * counts last a minute or so: only the failures not yet sent go (`pendingFaults`).
   */
  const fullBatch = (pendingFaults: ReadonlyMap<string, FaultWrite>): Batch => {
    const batch = emptyBatch();
    batch.faults.push(...pendingFaults.values());
    for (const [name, registers] of rateLimitRegisters) batch.rateLimits.push([name, [...registers]]);
    for (const [name, state] of cooldowns) batch.cooldowns.push([name, encodeCooldown(state)]);
    for (const [name, entry] of disabled) batch.disabled.push([name, entry]);
    for (const [field, entry] of routing) batch.routing.push([field, entry]);
    for (const [fingerprint, register] of sticky) batch.sticky.push([fingerprint, register]);
    return batch;
  };

  /** Merge a batch into Redis with the Lua scripts, then announce it on the channel. */
  const send = async (batch: Batch, increments: number, full: boolean): Promise<void> => {
    const t = now();
    const pipeline = client.pipeline() as ScriptedPipeline;
    const ops: unknown[] = [];
    for (const group of chunks(batch.rateLimits, CHUNK)) {
      const args: string[] = [];
      for (const [name, entries] of group) {
        for (const [field, entry] of entries) args.push(`${field}:${name}`, entry);
        ops.push(['rl', name, Object.fromEntries(entries)]);
      }
      pipeline.shuntLwwHset(keys.rateLimits, ...args);
    }
    for (const group of chunks(batch.cooldowns, CHUNK)) {
      pipeline.shuntMergeCooldown(keys.cooldowns, ...group.flat());
      for (const [name, state] of group) ops.push(['cd', name, state]);
    }
    if (batch.disabled.length > 0) {
      pipeline.shuntLwwHset(keys.disabled, ...batch.disabled.flat());
      for (const [name, entry] of batch.disabled) ops.push(['dis', name, entry]);
    }
    if (batch.routing.length > 0) {
      pipeline.shuntLwwHset(keys.routing, ...batch.routing.flat());
      for (const [field, entry] of batch.routing) ops.push(['rt', field, entry]);
    }
    const live = batch.sticky.filter(([, register]) => register.expiresAtMs > t);
    for (const group of chunks(live, CHUNK)) {
      const args: string[] = [];
      for (const [, register] of group) args.push(stickyEntry(register), String(Math.max(1, Math.ceil(register.expiresAtMs - t))));
      pipeline.shuntLwwSetPx(group.length, ...group.map(([fingerprint]) => keys.sticky(fingerprint)), ...args);
      for (const [fingerprint, register] of group) ops.push(['st', fingerprint, stickyEntry(register)]);
    }
    if (batch.faults.length > 0) {
      // Redis keeps failures for the longest window any of them was counted in (at most a day).
      const keepMs = Math.min(FAULT_RETENTION_MS, Math.max(1, ...batch.faults.map((write) => write.windowMs)));
      for (const group of chunks(batch.faults, CHUNK)) {
        const args: string[] = [];
        for (const write of group) {
          args.push(asciiJson([write.name, write.requestKey]), String(write.atMs));
          ops.push(['ft', write.name, [write.requestKey, write.atMs]]);
        }
        pipeline.shuntRecordFaults(keys.faults, String(t - keepMs), String(MAX_SHARED_FAULTS), String(Math.ceil(keepMs)), ...args);
      }
    }
    let incrementAt = -1;
    if (increments > 0) {
      incrementAt = pipelineLength(pipeline);
      pipeline.incrby(keys.roundRobin, increments);
    }
    let maxSetAt = -1;
    if (full) {
      maxSetAt = pipelineLength(pipeline);
      pipeline.shuntMaxSet(keys.roundRobin, String(roundRobin));
    }
    for (const group of chunks(ops, CHUNK)) {
      pipeline.publish(channel, JSON.stringify({ v: 1, from: instanceId, ops: group }));
    }
    if (pipelineLength(pipeline) === 0) return;
    const results = await pipeline.exec();
    if (results === null) throw new Error('redisStore: pipeline aborted');
    for (const [error] of results) if (error !== null) throw error;
    for (const at of [incrementAt, maxSetAt]) {
      if (at >= 0) applyRoundRobin(Number(results[at]?.[1]));
    }
  };

  // ---------------------------------------------------------------------------------------------
  // Reading from Redis

  const load = async (): Promise<void> => {
    const results = await client
      .pipeline()
      .hgetall(keys.rateLimits)
      .hgetall(keys.cooldowns)
      .hgetall(keys.disabled)
      .hgetall(keys.routing)
      .get(keys.roundRobin)
      .zrange(keys.faults, 0, -1, 'WITHSCORES')
      .exec();
    if (results === null) throw new Error('redisStore: pipeline aborted');
    for (const [error] of results) if (error !== null) throw error;
    const hash = (i: number): Record<string, string> => (results[i]?.[1] ?? {}) as Record<string, string>;

    const byAccount = new Map<string, Map<RateLimitField, string>>();
    for (const [key, entry] of Object.entries(hash(0))) {
      const colon = key.indexOf(':');
      const field = key.slice(0, colon);
      if (colon < 0 || !isRateLimitField(field)) continue;
      const name = key.slice(colon + 1);
      const entries = byAccount.get(name) ?? new Map<RateLimitField, string>();
      entries.set(field, entry);
      byAccount.set(name, entries);
    }
    for (const [name, entries] of byAccount) applyOp(['rl', name, Object.fromEntries(entries)]);
    for (const [name, state] of Object.entries(hash(1))) applyOp(['cd', name, state]);
    for (const [name, entry] of Object.entries(hash(2))) applyOp(['dis', name, entry]);
    for (const [field, entry] of Object.entries(hash(3))) applyOp(['rt', field, entry]);
    applyRoundRobin(Number(results[4]?.[1] ?? 0));
    const faults = (results[5]?.[1] ?? []) as string[];
    for (let i = 0; i + 1 < faults.length; i += 2) {
      const member = parseJson(faults[i] as string);
      if (Array.isArray(member) && typeof member[0] === 'string') applyOp(['ft', member[0], [member[1], Number(faults[i + 1])]]);
    }

    const stickyPrefix = keys.sticky('');
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${globEscape(stickyPrefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length === 0) continue;
      const values = await client.mget(...found);
      found.forEach((key, i) => {
        const entry = values[i];
        if (typeof entry === 'string') applyOp(['st', key.slice(stickyPrefix.length), entry]);
      });
    } while (cursor !== '0');
  };

  /** Push everything, then load everything: after a (re)connect, Redis and the replica converge. */
  const resync = (): Promise<void> => {
    if (closed || !mainReady || !subscriberReady) return Promise.resolve();
    if (resyncing !== null) {
      resyncAgain = true;
      return resyncing;
    }
    resyncing = (async () => {
      try {
        do {
          resyncAgain = false;
          promoteLazy(); // the full push below carries them
          const taken = dirty;
          dirty = emptyDirty();
          try {
            await send(fullBatch(taken.faults), taken.roundRobin, true);
          } catch (error) {
            restoreDirty(taken);
            throw error;
          }
          await load();
        } while (resyncAgain && !closed);
        connected = true;
        lastSyncMs = now();
        clearTimeout(readyTimer);
        resolveReady();
        if (degradedSinceMs !== null) {
          const downMs = now() - degradedSinceMs;
          degradedSinceMs = null;
          logger?.info(`redisStore: Redis is reachable again after ${String(downMs)} ms; replica pushed and reloaded`);
          options.onRecovered?.({ downMs });
        }
        if (dirtyCount(dirty) > 0) scheduleFlush();
        if (dirtyCount(lazy) > 0) scheduleLazy();
      } catch (error) {
        markDegraded(asError(error));
      }
    })().finally(() => {
      resyncing = null;
    });
    return resyncing;
  };

  const reconcileNow = async (): Promise<void> => {
    if (!connected) {
      await resync();
      return;
    }
    await runFlush();
    try {
      await load();
      lastSyncMs = now();
    } catch (error) {
      markDegraded(asError(error));
    }
  };

  function markDegraded(cause: Error): void {
    connected = false;
    if (closed || degradedSinceMs !== null) return;
    degradedSinceMs = now();
    // ioredis says only "Command timed out": say which bound it was.
    const error = cause.message === 'Command timed out' ? new Error(`Redis did not answer within ${String(commandTimeoutMs)} ms (commandTimeoutMs)`) : cause;
    logger?.warn(`redisStore: Redis unreachable (${error.message}); serving from the local replica and keeping writes until it returns`);
    options.onDegraded?.(error);
  }

  /** A setting Redis refuses will not heal by reconnecting: stop, and say why in ready() and status(). */
  function giveUp(reason: string): void {
    if (closed) return;
    fatalError = `redisStore: ${reason}`;
    closed = true;
    connected = false;
    stopTimers();
    rejectReady(new Error(fatalError));
    client.disconnect();
    subscriber.disconnect();
  }

  function stopTimers(): void {
    clearInterval(reconcileTimer);
    clearInterval(heartbeatTimer);
    clearTimeout(readyTimer);
    if (lazyTimer !== null) clearTimeout(lazyTimer);
    lazyTimer = null;
  }

  // ---------------------------------------------------------------------------------------------
  // Locks

  const acquireLock = async (key: string, ttlMs: number): Promise<RedisLock | null> => {
    if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new RangeError(`acquireLock: ttlMs must be >= 1, got ${String(ttlMs)}`);
    const token = randomUUID();
    const lockKey = keys.lock(key);
    const ok = await client.set(lockKey, token, 'PX', Math.ceil(ttlMs), 'NX');
    if (ok !== 'OK') return null;
    return {
      key,
      token,
      release: async () => (await client.shuntReleaseLock(lockKey, token)) === 1,
    };
  };

  const leadOrFollow = async <T>(key: string, fn: () => Promise<T>, flight: SingleFlightOptions): Promise<SingleFlightResult<T>> => {
    const ttlMs = flight.ttlMs ?? 30_000;
    const waitMs = flight.waitMs ?? ttlMs + 5000;
    const pollMs = flight.pollMs ?? 25;
    const resultTtlMs = flight.resultTtlMs ?? 60_000;
    const reuseWithinMs = flight.reuseWithinMs ?? 0;
    const deadline = performance.now() + waitMs;
    const recent = async (): Promise<SingleFlightResult<T> | null> => {
      if (reuseWithinMs <= 0) return null;
      const latest = await client.get(keys.latest(key));
      return latest === null ? null : { value: (JSON.parse(latest) as { value: T }).value, leader: false };
    };
    for (;;) {
      let lock: RedisLock | null;
      let reused: SingleFlightResult<T> | null;
      try {
        reused = await recent();
        lock = reused === null ? await acquireLock(key, ttlMs) : null;
      } catch (error) {
        if (flight.whenUnreachable === 'throw') throw error;
        logger?.warn(`redisStore: singleFlight(${key}) runs locally, Redis is unreachable (${asError(error).message})`);
        return { value: await fn(), leader: true };
      }
      if (reused !== null) return reused;
      if (lock !== null) {
        const resultKey = keys.flight(key, lock.token);
        try {
          // Checked again under the lock: a flight may have finished between the first look and now.
          const finished = await recent();
          if (finished !== null) return finished;
          let value: T;
          try {
            value = await fn();
          } catch (error) {
            await client.set(resultKey, JSON.stringify({ error: asError(error).message }), 'PX', resultTtlMs).catch(() => null);
            throw error;
          }
          const published = client.multi().set(resultKey, JSON.stringify({ value }), 'PX', resultTtlMs);
          if (reuseWithinMs > 0) published.set(keys.latest(key), JSON.stringify({ value }), 'PX', Math.ceil(reuseWithinMs));
          await published.exec().catch(() => null);
          return { value, leader: true };
        } finally {
          await lock.release().catch(() => false);
        }
      }
      // Someone leads: wait for its result, or for its lock to vanish without one (it crashed,
      // or its lock expired), and then compete again.
      const holder = await client.get(keys.lock(key));
      if (holder === null) continue;
      for (;;) {
        if (performance.now() > deadline) throw new Error(`singleFlight(${key}): no result from the leading instance within ${String(waitMs)} ms`);
        await sleep(pollMs);
        const [result, current]: [string | null, string | null] = await Promise.all([
          client.get(keys.flight(key, holder)),
          client.get(keys.lock(key)),
        ]);
        if (result !== null) {
          const parsed = JSON.parse(result) as { value?: T; error?: string };
          if (parsed.error !== undefined) throw new Error(`singleFlight(${key}): the leading instance failed: ${parsed.error}`);
          return { value: parsed.value as T, leader: false };
        }
        if (current !== holder) break;
      }
    }
  };

  // ---------------------------------------------------------------------------------------------
  // The store

  const store: RedisStore = {
    instanceId,
    now: () => now(),

    isAvailable: (name) => replica.isAvailable(name),
    isExhausted: (name) => replica.isExhausted(name),
    utilization5h: (name) => replica.utilization5h(name),
    utilization7d: (name) => replica.utilization7d(name),
    reset5hSecs: (name) => replica.reset5hSecs(name),
    reset7dSecs: (name) => replica.reset7dSecs(name),
    rateLimits: (name) => replica.rateLimits(name),

    // Called after every response, and most responses repeat the values already known with a newer
    // `updatedMs`: such a record changes no pick anywhere. The replica takes it at once; the
    // registers (and Redis) get only the latest one per account, when the lazy writes go.
    updateRateLimits(name, info) {
      const before = replica.rateLimits(name);
      replica.updateRateLimits(name, info);
      const after = replica.rateLimits(name) as RateLimitInfo;
      if (lazyWriteMs > 0 && before !== null && rateLimitRegisters.has(name) && sameValues(before, after)) {
        const held = restamps.get(name);
        if (held === undefined || info.updatedMs >= held.updatedMs) restamps.set(name, info);
        scheduleLazy();
        return;
      }
      const held = restamps.get(name);
      if (held !== undefined && held.updatedMs <= info.updatedMs) restamps.delete(name); // superseded
      recordRateLimits(name, before, after, info);
    },

    setCooldown(name, ms) {
      atFrozenClock((t) => {
        replica.setCooldown(name, ms); // validates ms first
        // Capped as the replica caps it (and as merges expect): never more than a week plus margin.
        const untilMs = t + Math.min(Math.max(0, ms), MAX_COOLDOWN_MS);
        if (applyCooldown(name, { clearStamp: 0, sets: [{ untilMs, setStamp: stamp() }] })) {
          dirty.cooldowns.add(name);
          scheduleFlush();
        }
      });
    },
    clearCooldown(name) {
      replica.clearCooldown(name);
      if (applyCooldown(name, { clearStamp: stamp(), sets: [] })) {
        dirty.cooldowns.add(name);
        scheduleFlush();
      }
    },
    cooldownUntilMs: (name) => replica.cooldownUntilMs(name),
    // Counted on the replica, which has heard of other instances' failures by pub/sub; the
    // failure goes to Redis and to them asynchronously, like every write.
    recordFault(name, requestKey, windowMs) {
      const atMs = now();
      const outer = frozenMs;
      frozenMs = atMs;
      let count: number;
      try {
        count = replica.recordFault(name, requestKey, windowMs); // validates windowMs first
      } finally {
        frozenMs = outer;
      }
      queueFault({ name, requestKey, atMs, windowMs });
      scheduleFlush();
      return count;
    },

    disable(name, reason) {
      replica.disable(name, reason);
      applyDisabled(name, encodeEntry(stamp(), 0, asciiJson(replica.disabledReason(name))));
      dirty.disabled.add(name);
      scheduleFlush();
    },
    enable(name) {
      replica.enable(name);
      applyDisabled(name, encodeEntry(stamp(), 0, asciiJson(null)));
      dirty.disabled.add(name);
      scheduleFlush();
    },
    disabledReason: (name) => replica.disabledReason(name),

    getSticky: (fingerprint) => replica.getSticky(fingerprint),
    // The hot path of every pick with a conversation (sticky hits slide the TTL): the entry is
    // encoded only when sent, and a renewal that moves the same account's expiry by less than
    // STICKY_RENEW_MS (or 1 % of the TTL) stays local, so Redis sees a conversation at most
    // about once a second however busy it is.
    setSticky(fingerprint, name, ttlMs) {
      const t = now();
      const outer = frozenMs;
      frozenMs = t;
      try {
        replica.setSticky(fingerprint, name, ttlMs); // validates ttlMs first
      } finally {
        frozenMs = outer;
      }
      const expiresAtMs = t + ttlMs;
      const known = sticky.get(fingerprint);
      if (
        known !== undefined &&
        known.account === name &&
        expiresAtMs >= known.expiresAtMs &&
        expiresAtMs - known.expiresAtMs < Math.min(STICKY_RENEW_MS, ttlMs / 100)
      ) {
        return;
      }
      rememberSticky(fingerprint, { account: name, expiresAtMs, stamp: stamp(), entry: undefined });
      dirty.sticky.add(fingerprint);
      scheduleFlush();
    },

    getPinned: () => replica.getPinned(),
    setPinned(name) {
      applyRouting('pinned', encodeEntry(stamp(), 0, asciiJson(name)));
      dirty.routing.add('pinned');
      scheduleFlush();
    },
    getLastUsed: () => replica.getLastUsed(),
    // Shown in /status, read by no pick: sent lazily, and only when it names another account.
    setLastUsed(name) {
      const payload = asciiJson(name);
      const known = routing.get('lastUsed');
      if (known !== undefined && payloadText(known) === payload) return;
      applyRouting('lastUsed', encodeEntry(stamp(), 0, payload));
      lazy.routing.add('lastUsed');
      scheduleLazy();
    },

    // Handed out locally at once; the INCRBY's reply pulls the local counter up to the shared one,
    // so instances rotate through one sequence (two may briefly hand out the same value).
    nextRoundRobin() {
      dirty.roundRobin += 1;
      scheduleFlush();
      return roundRobin++;
    },

    ready: () => readyPromise,
    async close() {
      if (closed) return;
      stopTimers();
      promoteLazy();
      await Promise.race([runFlush(), sleep(1000)]);
      closed = true;
      rejectReady(new Error('redisStore: closed'));
      await Promise.allSettled([quit(client), quit(subscriber)]);
    },
    status: () => ({ connected, degradedSinceMs, lastSyncMs, pendingWrites: pendingCount(), lastHeartbeatMs, fatalError }),
    flush: () => {
      promoteLazy();
      return runFlush();
    },
    reconcile: () => reconcileNow(),
    acquireLock,
    singleFlight<T>(key: string, fn: () => Promise<T>, flight: SingleFlightOptions = {}): Promise<SingleFlightResult<T>> {
      const running = inflight.get(key) as Promise<SingleFlightResult<T>> | undefined;
      if (running !== undefined) return running.then(({ value }) => ({ value, leader: false }));
      const started = leadOrFollow(key, fn, flight).finally(() => inflight.delete(key));
      inflight.set(key, started);
      return started;
    },
  };
  return store;
}

type RoutingField = 'pinned' | 'lastUsed';

interface StickyRegister {
  readonly account: string;
  readonly expiresAtMs: number;
  readonly stamp: number;
  /** The encoded LWW entry, made on first use. */
  entry: string | undefined;
}

/** How far a sticky renewal of the same account may move its expiry before Redis is told. */
const STICKY_RENEW_MS = 1000;

function stickyEntry(register: StickyRegister): string {
  register.entry ??= encodeEntry(register.stamp, 0, asciiJson([register.account, register.expiresAtMs]));
  return register.entry;
}

/** A failing request to send: on which account, when, and the window it was counted in. */
interface FaultWrite {
  readonly name: string;
  readonly requestKey: string;
  readonly atMs: number;
  readonly windowMs: number;
}

/** Failures kept for Redis while it is away (the oldest go first). */
const MAX_PENDING_FAULTS = 1000;
/** Failures the shared sorted set keeps at most (the newest). */
const MAX_SHARED_FAULTS = 10_000;
/** The longest Redis keeps a failure, whatever window it was counted in. */
const FAULT_RETENTION_MS = 86_400_000;

interface Dirty {
  rateLimits: Map<string, Set<RateLimitField>>;
  cooldowns: Set<string>;
  disabled: Set<string>;
  routing: Set<RoutingField>;
  sticky: Set<string>;
  /** By member (`[account, requestKey]` as JSON): a request failing again is sent once. */
  faults: Map<string, FaultWrite>;
  roundRobin: number;
}

interface Batch {
  rateLimits: Array<[string, Array<[RateLimitField, string]>]>;
  cooldowns: Array<[string, string]>;
  disabled: Array<[string, string]>;
  routing: Array<[RoutingField, string]>;
  sticky: Array<[string, StickyRegister]>;
  faults: FaultWrite[];
}

interface ScriptCommands<R> {
  shuntLwwHset(key: string, ...fieldsAndEntries: string[]): R;
  shuntMergeCooldown(key: string, ...fieldsAndStates: string[]): R;
  shuntLwwSetPx(numKeys: number, ...keysThenEntriesAndPx: string[]): R;
  shuntMaxSet(key: string, value: string): R;
  shuntReleaseLock(key: string, token: string): R;
  shuntRecordFaults(key: string, cutoffMs: string, maxMembers: string, ttlMs: string, ...membersAndScores: string[]): R;
}

type ScriptedRedis = Redis & ScriptCommands<Promise<number>>;
type ScriptedPipeline = ChainableCommander & ScriptCommands<ScriptedPipeline>;

/** Keys or ops per script call or message, so no single command grows without bound. */
const CHUNK = 500;

function defineScripts(client: Redis): void {
  client.defineCommand('shuntLwwHset', { numberOfKeys: 1, lua: LWW_HSET });
  client.defineCommand('shuntMergeCooldown', { numberOfKeys: 1, lua: MERGE_COOLDOWN });
  client.defineCommand('shuntLwwSetPx', { lua: LWW_SET_PX });
  client.defineCommand('shuntMaxSet', { numberOfKeys: 1, lua: MAX_SET });
  client.defineCommand('shuntReleaseLock', { numberOfKeys: 1, lua: RELEASE_LOCK });
  client.defineCommand('shuntRecordFaults', { numberOfKeys: 1, lua: RECORD_FAULTS });
}

function emptyDirty(): Dirty {
  return { rateLimits: new Map(), cooldowns: new Set(), disabled: new Set(), routing: new Set(), sticky: new Set(), faults: new Map(), roundRobin: 0 };
}

/** True when two records hold the same values, whatever their `updatedMs`. */
function sameValues(x: RateLimitInfo, y: RateLimitInfo): boolean {
  for (const field of RATE_LIMIT_FIELDS) if (field !== 'updatedMs' && x[field] !== y[field]) return false;
  return true;
}

function dirtyCount(d: Dirty): number {
  let n = d.cooldowns.size + d.disabled.size + d.routing.size + d.sticky.size + d.faults.size + (d.roundRobin > 0 ? 1 : 0);
  for (const fields of d.rateLimits.values()) n += fields.size;
  return n;
}

function addRateLimitFields(d: Dirty, name: string, fields: readonly RateLimitField[]): void {
  if (fields.length === 0) return;
  const set = d.rateLimits.get(name) ?? new Set<RateLimitField>();
  for (const field of fields) set.add(field);
  d.rateLimits.set(name, set);
}

/** An LWW entry's payload as text (after `a:b:`): equal texts are equal values. */
function payloadText(entry: string): string {
  return entry.slice(entry.indexOf(':', entry.indexOf(':') + 1) + 1);
}

function emptyBatch(): Batch {
  return { rateLimits: [], cooldowns: [], disabled: [], routing: [], sticky: [], faults: [] };
}

function pipelineLength(pipeline: ChainableCommander): number {
  return pipeline.length;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

async function quit(connection: Redis): Promise<void> {
  try {
    if (connection.status === 'ready') await connection.quit();
  } catch {
    // fall through to disconnect
  }
  connection.disconnect();
}

/** The URL without its password, and its db index ("0" when it names none). */
function describeUrl(url: string): { readonly url: string; readonly db: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL (ioredis also takes a unix socket path): left to ioredis, and never echoed.
    return { url: 'the configured url', db: '0' };
  }
  const db = parsed.pathname.replace(/^\//, '');
  // ioredis reads "/abc" as db 0: a typo would silently share the wrong database.
  if (db !== '' && !/^\d+$/.test(db)) throw new RangeError(`redisStore: url names db ${JSON.stringify(db)}: the path must be a db index (redis://host:port/2)`);
  if (parsed.password !== '') parsed.password = '***';
  return { url: parsed.toString(), db: db === '' ? '0' : db };
}

/** Redis's answer to a SELECT of a db it does not have. */
function isRefusedDb(error: Error): boolean {
  return /DB index is out of range|invalid DB index/i.test(error.message);
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`redisStore: ${option} must be a positive number, got ${String(value)}`);
  return value;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
