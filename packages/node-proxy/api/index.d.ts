// The public API of @shunt/node-proxy: written by `pnpm api:report`, checked by CI. Review every change.
import { IncomingMessage, ServerResponse, OutgoingHttpHeaders, IncomingHttpHeaders } from 'node:http';
import { MemoryStore, StateStore, PickReason, ExplainValue, PickDecision, ResponseAction, FailoverReason, FailoverPolicy, RateLimitInfo } from '@shunt/core';
import * as nodeFsSync from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { TraceRecord } from '@shunt/core/trace';
import { Registry } from 'prom-client';

/** Log levels, least to most severe. */
type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Structured fields of one log record. */
type LogFields = Readonly<Record<string, unknown>>;
/** Where the proxy writes its log. Inject your own to route records elsewhere. */
interface Logger {
    /** Routing detail: every candidate's score, every attempt. */
    debug(message: string, fields?: LogFields): void;
    /** One line per request, listener start and stop. */
    info(message: string, fields?: LogFields): void;
    /** Something worth a look: a failover, an in-stream error, an ignored config key. */
    warn(message: string, fields?: LogFields): void;
    /** Something failed. */
    error(message: string, fields?: LogFields): void;
    /**
     * False when records of `level` are dropped, so a call site can skip building their fields.
     * Absent: every record is built and passed on.
     */
    isLevelEnabled?(level: LogLevel): boolean;
}
/** Options for {@link jsonLogger}. */
interface JsonLoggerOptions {
    /**
     * Where each line goes (the line ends with its newline).
     * @default stderr, in batches (4 KiB or 250 ms) and flushed at exit
     */
    readonly write?: ((line: string) => void) | undefined;
    /**
     * Records below this level are dropped.
     * @default "info"
     */
    readonly level?: LogLevel | undefined;
    /**
     * The clock for the `time` field, in epoch milliseconds.
     * @default Date.now
     */
    readonly now?: (() => number) | undefined;
}
/** Ranks of {@link LogLevel}, for filtering. */
declare const LOG_LEVELS: Readonly<Record<LogLevel, number>>;
/**
 * A logger writing JSON lines through pino: `{"level":"info","time":"…",…fields,"msg":"…"}`.
 *
 * @example
 * ```ts
 * const logger = jsonLogger({ level: 'debug' });
 * logger.info('listening', { url: 'http://127.0.0.1:8082' });
 * ```
 */
declare function jsonLogger(options?: JsonLoggerOptions): Logger;
/** A logger that drops everything. */
declare const silentLogger: Logger;

/** The `[server]` table, with every default applied. */
interface ServerConfig {
    /**
     * Address both listeners bind. Anything but loopback requires `remoteKey` and `controlToken`.
     * @default "127.0.0.1"
     */
    readonly host: string;
    /**
     * The proxy's port (0 picks a free one).
     * @default 8082
     */
    readonly port: number;
    /**
     * The control API's port (0 picks a free one).
     * @default 19081
     */
    readonly controlPort: number;
    /**
     * The routing strategy's canonical name (`maximus`, `cushion`, `reaper`, `carousel`).
     * @default "maximus"
     */
    readonly routingStrategy: string;
    /**
     * How long a conversation stays on its account after its last request, in minutes.
     * @default 10
     */
    readonly stickyTtlMinutes: number;
    /**
     * Reaper's "expiring soon" horizon, in minutes.
     * @default 30
     */
    readonly expirySoonMinutes: number;
    /**
     * The longest one upstream attempt may wait for its response headers, and the longest silence
     * allowed inside a response body, in seconds. An attempt that runs out fails over.
     * @default 600
     */
    readonly requestTimeoutSecs: number;
    /**
     * The longest a request may take until its answer starts, in seconds: holds and every upstream
     * attempt included, so a request against black-holed accounts ends after this, not after
     * accounts × `request_timeout_secs`. A streamed answer that has started is not cut by it.
     * @default 600
     */
    readonly requestDeadlineSecs: number;
    /**
     * The longest `retry-after` a client is invited to wait out, in seconds. When the pool is spent
     * for longer, the 429 carries `x-should-retry: false`, so the Anthropic SDKs and Claude Code
     * stop and show the message instead of sleeping silently.
     * @default 60
     */
    readonly clientRetryLimitSecs: number;
    /**
     * Where requests go unless an account names its own upstream.
     * @default "https://api.anthropic.com"
     */
    readonly upstreamUrl: string;
    /**
     * When set, clients must present it (`x-api-key` or `authorization: Bearer`). Required to bind
     * anything but loopback.
     * @default null
     */
    readonly remoteKey: string | null;
    /**
     * When set, control API calls must send `authorization: Bearer <token>`. Required to bind
     * anything but loopback.
     * @default null
     */
    readonly controlToken: string | null;
    /**
     * Where the memory backend saves routing state between runs (`[state] backend = "memory"`).
     * @default "$XDG_DATA_HOME/shunt/state.json" (else "~/.local/share/shunt/state.json")
     */
    readonly statePath: string;
    /**
     * Largest request body accepted, in MiB; larger ones get a 413.
     * @default 32
     */
    readonly maxBodyMb: number;
    /**
     * Least severe log level written.
     * @default "info"
     */
    readonly logLevel: LogLevel;
    /**
     * Append one trace row per upstream response to this file (`record_trace`, or `shunt start
     * --record FILE`), in the simulator's trace format v1; null records nothing.
     * @default null
     */
    readonly recordTrace: string | null;
    /**
     * Size at which the trace file is rotated (`FILE` → `FILE.1` …), in MiB (`record_trace_max_mb`).
     * @default 64
     */
    readonly recordTraceMaxMb: number;
    /**
     * Trace files kept, the live one included (`record_trace_keep`); older ones are deleted.
     * @default 4
     */
    readonly recordTraceKeep: number;
}
/** The `[state]` table: where the routing state lives. */
interface StateConfig {
    /**
     * `memory`: in this process, saved to `server.state_path`; `redis`: shared with other proxies
     * through Redis (`@shunt/store-redis`).
     * @default "memory"
     */
    readonly backend: 'memory' | 'redis';
    /** The Redis server (`redis://` or `rediss://`), required when `backend` is `redis`; null otherwise. */
    readonly url: string | null;
    /**
     * Prefix of every Redis key; proxies that share state use the same one.
     * @default "shunt:"
     */
    readonly keyPrefix: string;
}
/** The `[state]` defaults. */
declare const DEFAULT_STATE_CONFIG: StateConfig;
/** One `[[accounts]]` entry. */
interface AccountConfig {
    /** Unique name, used in logs, status, `x-shunt-account` and `shunt pin`. */
    readonly name: string;
    /**
     * Display only (`pro`, `max`, `team`, …).
     * @default "pro"
     */
    readonly planType: string;
    /** This account's upstream, or null for `server.upstream_url`. */
    readonly upstreamUrl: string | null;
    /** The API key (from `api_key`, else from the variable `api_key_env` names), or null when none. */
    readonly apiKey: string | null;
    /** Why {@link AccountConfig.apiKey} is null, for the status view and the log; null when a key was found. */
    readonly missingCredential: string | null;
    /** `oauth` when the file says `auth = "oauth"`: a subscription account whose tokens are in the credentials file. */
    readonly auth?: 'oauth';
}
/** Subscription (OAuth) settings, from `[server]`. */
interface OAuthConfig {
    /**
     * The credentials file (`server.credentials_path`): OAuth tokens and API keys by account name.
     * @default "$XDG_CONFIG_HOME/shunt/credentials.json" (else "~/.config/shunt/credentials.json")
     */
    readonly credentialsPath: string;
    /**
     * The token endpoint (`server.oauth_token_url`).
     * @default "https://platform.claude.com/v1/oauth/token"
     */
    readonly tokenUrl: string;
    /**
     * The login page (`server.oauth_authorize_url`).
     * @default "https://claude.ai/oauth/authorize"
     */
    readonly authorizeUrl: string;
    /**
     * The OAuth client id (`server.oauth_client_id`).
     * @default Claude Code's client id
     */
    readonly clientId: string;
}
/** A validated configuration. */
interface ShuntConfig {
    /** The file it was read from (or a label such as `<inline>`), used in error messages. */
    readonly file: string;
    /** The `[server]` table with defaults applied. */
    readonly server: ServerConfig;
    /** The `[state]` table with defaults applied. */
    readonly state: StateConfig;
    /** The Anthropic accounts, in file order (routing ties go to the first). */
    readonly accounts: readonly AccountConfig[];
    /** Subscription (OAuth) settings. */
    readonly oauth: OAuthConfig;
    /** Non-fatal problems (unknown keys, inline secrets, accounts without a key), one line each. */
    readonly warnings: readonly string[];
}
/** Options for {@link parseConfig}, {@link parseConfigText} and {@link loadConfig}. */
interface ConfigOptions {
    /**
     * Environment for `api_key_env`, `SHUNT_UPSTREAM_URL` and the default `state_path`.
     * @default process.env
     */
    readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}
/** A configuration problem: which file, which key, what is wrong. */
declare class ConfigError extends Error {
    /** The file (or label) the configuration came from. */
    readonly file: string;
    /** The key at fault, as a path (`server.port`, `accounts[1].name`), or "" for the whole file. */
    readonly key: string;
    /** What is wrong, in one sentence. */
    readonly reason: string;
    constructor(file: string, key: string, reason: string);
}
/** The `[server]` defaults (the Rust shunt's, plus the keys only this proxy has). */
declare const DEFAULT_SERVER_CONFIG: Omit<ServerConfig, 'statePath'>;
/**
 * Where the configuration file is looked for, most preferred first: `$SHUNT_CONFIG`, then
 * `$XDG_CONFIG_HOME/shunt/config.toml` (else `~/.config/shunt/config.toml`), then, on macOS, the
 * Rust shunt's `~/Library/Application Support/shunt/config.toml`.
 */
declare function configPathCandidates(env?: Readonly<Record<string, string | undefined>>, home?: string, platform?: string): string[];
/** The configuration file to read: the first candidate that exists, else the first candidate. */
declare function defaultConfigPath(env?: Readonly<Record<string, string | undefined>>): string;
/**
 * Read and validate a configuration file: TOML, or JSON when the name ends in `.json`.
 * Throws a {@link ConfigError} when the file is missing, unreadable or invalid.
 */
declare function loadConfig(file?: string, options?: ConfigOptions): Promise<ShuntConfig>;
/** Validate configuration text; `format` defaults to JSON for a `.json` file, else TOML. */
declare function parseConfigText(text: string, options: ConfigOptions & {
    readonly file: string;
    readonly format?: 'toml' | 'json' | undefined;
}): ShuntConfig;
/**
 * Validate an already parsed configuration (the object a TOML or JSON parser returns, with the
 * file's snake_case keys). Throws a {@link ConfigError} for the first problem found.
 *
 * @example
 * ```ts
 * const config = parseConfig({ accounts: [{ name: 'work', api_key_env: 'WORK_KEY' }] }, { file: '<inline>' });
 * config.server.port; // 8082
 * ```
 */
declare function parseConfig(raw: unknown, options?: ConfigOptions & {
    readonly file?: string | undefined;
}): ShuntConfig;

/**
 * @module
 * `persistentStore()`: a `memoryStore` whose contents survive a restart. Every mutation marks the
 * store dirty; a debounced save writes `snapshot()` to a file atomically (a temp file in the same
 * directory, fsync, rename; mode 0600). A mutation that changes routing for minutes (a long
 * cooldown, a rejected window, disable/enable, the pin) is written at once instead, synchronously,
 * so a crash or `kill -9` right after it cannot lose it. `load()` restores the file at start, and
 * moves a corrupt or unreadable file aside (`<file>.corrupt-<timestamp>`) instead of refusing to start.
 */

/** The file operations the store uses (node:fs/promises by default; tests inject failures). */
type PersistFs = Pick<typeof nodeFs, 'readFile' | 'open' | 'rename' | 'mkdir' | 'rm'>;
/** The synchronous file operations of the writes that cannot wait (node:fs by default; tests inject failures). */
type PersistFsSync = Pick<typeof nodeFsSync, 'mkdirSync' | 'openSync' | 'fchmodSync' | 'writeFileSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync'>;
/** Timers, injectable so tests drive the debounce by hand. */
interface PersistTimers {
    setTimeout(fn: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
}
/** Options for {@link persistentStore}. */
interface PersistentStoreOptions {
    /** The state file. Its directory is created (mode 0700) when missing. */
    readonly path: string;
    /**
     * How long after the last mutation the state is saved, in milliseconds.
     * @default 1000
     */
    readonly debounceMs?: number | undefined;
    /**
     * The longest a mutation waits to be saved while mutations keep coming (a busy proxy slides
     * every conversation's sticky TTL on every request), in milliseconds.
     * @default 10000
     */
    readonly maxDelayMs?: number | undefined;
    /**
     * A cooldown that now ends more than this much later than before (or a cleared one that had more
     * than this left) is written at once rather than debounced, in milliseconds.
     * @default 60000
     */
    readonly durableCooldownMs?: number | undefined;
    /** @default node:fs/promises */
    readonly fs?: PersistFs | undefined;
    /** @default node:fs */
    readonly fsSync?: PersistFsSync | undefined;
    /** @default the global setTimeout / clearTimeout (unref'd: a pending save never keeps the process alive) */
    readonly timers?: PersistTimers | undefined;
    /** Where warnings go (a save that fails, a corrupt file moved aside). */
    readonly logger?: Logger | undefined;
}
/** What `/status` shows about the file. */
interface PersistenceStatus {
    /** The state file. */
    readonly path: string;
    /** When the state was last written (epoch ms on the store's clock), or null when not yet. */
    readonly lastSavedMs: number | null;
    /** True when mutations are waiting to be saved. */
    readonly dirty: boolean;
    /** Why the last save failed, or null when it succeeded (or none was tried). */
    readonly lastError: string | null;
}
/** What {@link PersistentStore.load} found. */
type LoadResult = {
    readonly kind: 'restored';
    readonly accounts: number;
    readonly sticky: number;
} | {
    readonly kind: 'missing';
} | {
    readonly kind: 'corrupt';
    readonly reason: string;
    readonly movedTo: string | null;
};
/** A memory store saved to a file. */
interface PersistentStore extends MemoryStore {
    /** Read the file into the store (call once, before serving). Never throws. */
    load(): Promise<LoadResult>;
    /** Save now if anything changed since the last save (or `force`). Never throws; see `status().lastError`. */
    save(force?: boolean): Promise<void>;
    /** Cancel the pending timer and save what is dirty: call at shutdown. */
    close(): Promise<void>;
    status(): PersistenceStatus;
}
/**
 * Wrap a memory store so its contents are saved to `path` after every burst of mutations, and at
 * once (before the next I/O) after a mutation that changes routing for minutes.
 *
 * @example
 * ```ts
 * const store = persistentStore(memoryStore(), { path: '/home/me/.local/share/shunt/state.json' });
 * await store.load();
 * store.setCooldown('work', 60_000);  // saved about a second later
 * store.setCooldown('work', 900_000); // saved at once
 * await store.close();               // at shutdown
 * ```
 */
declare function persistentStore(inner: MemoryStore, options: PersistentStoreOptions): PersistentStore;

/**
 * @module
 * Where the routing state lives, from the `[state]` table: `memory` (in this process, saved to
 * `server.state_path`) or `redis` (shared with other proxies through `@shunt/store-redis`).
 * `openState()` returns the store with its lifecycle and health, which the proxy shows in
 * `/status` and `/metrics` and closes at shutdown.
 */

/** The `state` section of `/status`. */
type StateStatus = {
    readonly backend: 'memory';
    /** The state file, or null when the state is not saved (an embedded proxy without one). */
    readonly path: string | null;
    /** When the state was last written, epoch ms, or null. */
    readonly last_saved_ms: number | null;
    /** Why the last save failed, or null. */
    readonly last_error: string | null;
} | {
    readonly backend: 'redis';
    readonly key_prefix: string;
    readonly connected: boolean;
    readonly degraded_since_ms: number | null;
    readonly last_sync_ms: number | null;
    readonly pending_writes: number;
} | {
    readonly backend: 'custom';
};
/** A state store with its lifecycle: what the proxy needs beyond the `StateStore` itself. */
interface StateBackend {
    /** The store the router reads and writes. */
    readonly store: StateStore;
    /** `memory`, `redis`, or `custom` (a store passed in by an embedder). */
    readonly kind: StateStatus['backend'];
    /** For `/status`. */
    status(): StateStatus;
    /** For `/metrics`: false while Redis is unreachable, or while the state file cannot be written. */
    up(): boolean;
    /** Save or flush what is pending and release connections (the proxy calls it in `close()`). */
    close(): Promise<void>;
}
/** Options for {@link openState}. */
interface OpenStateOptions {
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
    /** Redis backend: how long to wait for the first load before serving from the local replica. @default 10000 */
    readonly readyTimeoutMs?: number | undefined;
    /** Redis backend: how often the replica is reloaded from Redis. @default 10000 */
    readonly reconcileIntervalMs?: number | undefined;
}
/**
 * Open the configured state backend, ready to serve: the memory store with the saved state
 * restored, or the Redis store loaded from Redis (or, if Redis cannot be reached within
 * `readyTimeoutMs`, serving from its local replica and syncing once Redis answers: logged once).
 */
declare function openState(config: ShuntConfig, options?: OpenStateOptions): Promise<StateBackend>;
/** The backend of a persistent memory store (for embedders who build the store themselves). */
declare function fileBackend(store: PersistentStore): StateBackend;
/** The backend of a store the proxy did not open: no persistence, always up, nothing to close. */
declare function plainBackend(store: StateStore, kind: 'memory' | 'custom'): StateBackend;

/** One account in the `/status` report. */
interface AccountStatus {
    readonly name: string;
    readonly plan_type: string;
    /** The credential's kind (`api_key`, …), or null when the account has none. */
    readonly credential: string | null;
    /**
     * `available`, `cooling`, `exhausted` (a rejected window), `disabled`, or `needs_login` (a
     * subscription account whose token refresh was refused: run `shunt login`).
     */
    readonly status: 'available' | 'cooling' | 'exhausted' | 'disabled' | 'needs_login';
    /** True when a request could be routed here now. */
    readonly available: boolean;
    readonly disabled: boolean;
    readonly disabled_reason: string | null;
    /** End of the running cooldown in epoch milliseconds, 0 when none (as in the Rust shunt). */
    readonly cooldown_until_ms: number;
    /** 5-hour utilization (0 when unknown or reset). */
    readonly utilization_5h: number;
    /** 5-hour reset in epoch seconds, or null. */
    readonly reset_5h: number | null;
    readonly status_5h: string | null;
    readonly utilization_7d: number;
    readonly reset_7d: number | null;
    readonly status_7d: string | null;
    /** The stored rate-limit record as last merged, or null when none was seen yet. */
    readonly rate_limit: {
        readonly utilization_5h: number | null;
        readonly reset_5h: number | null;
        readonly status_5h: string | null;
        readonly utilization_7d: number | null;
        readonly reset_7d: number | null;
        readonly status_7d: string | null;
        readonly representative_claim: string | null;
        readonly updated_ms: number;
    } | null;
}
/** The `/status` report. */
interface ProxyStatus {
    readonly version: string;
    readonly started_ms: number;
    readonly strategy: {
        readonly name: string;
        readonly source: 'config' | 'override';
    };
    readonly pinned_account: string | null;
    readonly last_used_account: string | null;
    /** Requests under way (held ones included). */
    readonly in_flight: number;
    /** Requests held, waiting for an account to come back. */
    readonly held: number;
    /**
     * Where the routing state lives and its health: `{backend: "memory", path, last_saved_ms,
     * last_error}` or `{backend: "redis", key_prefix, connected, degraded_since_ms, last_sync_ms,
     * pending_writes}` (`{backend: "custom"}` for a store passed in by an embedder).
     */
    readonly state: StateStatus;
    readonly accounts: readonly AccountStatus[];
}
/** Everything {@link statusReport} reads. */
interface StatusInput {
    readonly version: string;
    readonly startedMs: number;
    readonly store: StateStore;
    readonly accounts: readonly ProxyAccount[];
    readonly strategy: {
        readonly name: string;
        readonly source: 'config' | 'override';
    };
    readonly inFlight: number;
    readonly held: number;
    /** The state backend's health. @default { backend: 'custom' } */
    readonly state?: StateStatus | undefined;
}
/** Build the `/status` report from the store. */
declare function statusReport(input: StatusInput): ProxyStatus;

/**
 * @module
 * The seam where an account's credential meets the upstream request. An API key is a fixed
 * header; a subscription (OAuth) account adds a refresh. The proxy only ever asks for headers,
 * so a new kind of credential slots in without touching the request path.
 */
/** The reason an account is disabled with when its refresh was refused (see `oauthCredential`'s `onNeedsLogin`). */
declare const NEEDS_LOGIN: string;
/** What the proxy needs from an account's credential. */
interface Credential {
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
declare function apiKeyCredential(key: string): Credential;

/** The file operations the recorder uses (tests swap in failing ones). */
interface TraceRecorderFs {
    /** Append `data`, creating the file with `mode` when it does not exist. */
    appendFile(path: string, data: string, options: {
        readonly mode: number;
    }): Promise<void>;
    /** Rename `from` to `to`, replacing `to`. */
    rename(from: string, to: string): Promise<void>;
    /** Delete a file; no error when it does not exist. */
    rm(path: string, options: {
        readonly force: true;
    }): Promise<void>;
    /** The file's size in bytes; rejects (ENOENT) when it does not exist. */
    stat(path: string): Promise<{
        readonly size: number;
    }>;
}
/** Options for {@link createTraceRecorder}. */
interface TraceRecorderOptions {
    /** The trace file. Created (mode 0600) with the marker and header if missing; appended to otherwise. */
    readonly path: string;
    /**
     * Size at which the file is rotated: `path` becomes `path.1`, `path.1` becomes `path.2`, …
     * @default 67108864 (64 MiB)
     */
    readonly maxBytes?: number | undefined;
    /**
     * Files kept, the live one included; the oldest beyond this is deleted at rotation.
     * @default 4
     */
    readonly keep?: number | undefined;
    /** Where the one warning about a failing write goes. */
    readonly logger?: Logger | undefined;
    /**
     * How often buffered rows are appended, in milliseconds (and on close).
     * @default 1000
     */
    readonly flushIntervalMs?: number | undefined;
    /** File operations. @default node:fs/promises */
    readonly fs?: TraceRecorderFs | undefined;
}
/** An open trace file. */
interface TraceRecorder {
    /** The file rows go to. */
    readonly path: string;
    /** Queue one row; it reaches the file at the next flush. Never throws, never waits. */
    record(record: TraceRecord): void;
    /** Append everything queued now. Resolves when it is written (or the write failed and was logged). */
    flush(): Promise<void>;
    /** Flush and stop the timer. Later rows are dropped. */
    close(): Promise<void>;
    /** Rows queued so far, rows dropped (failing disk or an over-full buffer), and rotations done. */
    stats(): {
        readonly rows: number;
        readonly dropped: number;
        readonly rotations: number;
    };
}
/** Thrown when the file exists but is not a v1 trace (the recorder never appends to someone else's file). */
declare class TraceFileError extends Error {
    /** The file. */
    readonly path: string;
    constructor(path: string, reason: string);
}
/** Default rotation size: 64 MiB, about 300,000 rows. */
declare const DEFAULT_TRACE_MAX_BYTES: number;
/** Default number of files kept (the live one and three rotated ones). */
declare const DEFAULT_TRACE_KEEP = 4;
/**
 * Open (or create) a trace file for appending. Throws a {@link TraceFileError} at once when `path`
 * exists, is not empty and does not start with the v1 marker and header: point the recorder at a
 * new file, or move the old one away.
 *
 * @example
 * ```ts
 * const recorder = createTraceRecorder({ path: 'week.csv' });
 * recorder.record({ tsMs: Date.now(), requestId: 'r1', account: 'work', status: 200 });
 * await recorder.close();
 * ```
 */
declare function createTraceRecorder(options: TraceRecorderOptions): TraceRecorder;
/** The unified rate-limit headers of a response, as trace fields (values that do not parse are left out). */
declare function traceRateLimitFields(headers: Readonly<Record<string, string | string[] | undefined>>): Partial<TraceRecord>;
/**
 * The `model` of a request body, when it is named near the start (where every client puts it).
 * A cheap look at the first 4 KiB with a model-id alphabet; nothing else of the body is read.
 */
declare function requestModel(body: Uint8Array): string | undefined;
/** Token counts read from a response's `usage`, as trace fields. */
interface UsageTokens {
    inputTokens?: number;
    outputTokens?: number;
    cacheReadTokens?: number;
    cacheCreationTokens?: number;
}
/** Watches response bytes go by (unchanged) and reads the token usage out of them. */
interface UsageScanner {
    /** Look at the next chunk. */
    push(chunk: Uint8Array): void;
    /** The body ended. */
    end(): void;
    /** What was found so far (empty when nothing was). */
    tokens(): UsageTokens;
}
/**
 * A scanner for a streamed answer: the `usage` of `message_start` (input and cache tokens) and of
 * each `message_delta` (output tokens, cumulative; input and cache tokens when the API repeats
 * them). Only those events' `data:` lines are decoded; every other line is skipped unread.
 */
declare function sseUsageScanner(): UsageScanner;
/**
 * A scanner for a JSON answer: keeps the body (up to 4 MiB; larger answers record no tokens) and
 * reads `usage` from it once it has ended, after the client has it.
 */
declare function jsonUsageScanner(): UsageScanner;

/** An account as the proxy routes it: its config and its credential. */
interface ProxyAccount {
    /** Unique name (the store keys everything by it). */
    readonly name: string;
    /** Display only. */
    readonly planType: string;
    /** Base URL requests for this account go to. */
    readonly upstreamUrl: string;
    /** How requests are authenticated, or null when the account has none (it is then disabled). */
    readonly credential: Credential | null;
}
/** Options for {@link createProxy}. Only `config` is required. */
interface ProxyOptions {
    /** The validated configuration (see `loadConfig` / `parseConfig`). */
    readonly config: ShuntConfig;
    /**
     * What the router remembers.
     * @default `state.store`, else memoryStore({ now })
     */
    readonly store?: StateStore | undefined;
    /**
     * The state backend from `openState(config)`: its store is the router's, its health shows in
     * `/status` and `/metrics`, and `close()` saves or flushes it. Takes precedence over `store`.
     * @default none: `store` (or a fresh memory store) is used as it is, unsaved
     */
    readonly state?: StateBackend | undefined;
    /**
     * The clock, in epoch milliseconds: deadlines, holds and the default store.
     * @default Date.now
     */
    readonly now?: (() => number) | undefined;
    /**
     * How a held request waits: resolve after `ms`, reject when `signal` aborts (the client left).
     * @default a timer from node:timers/promises
     */
    readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
    /**
     * Where log records go.
     * @default JSON lines on stderr at `server.log_level`
     */
    readonly logger?: Logger | undefined;
    /** Overrides of core's failover cooldowns. */
    readonly policy?: Partial<FailoverPolicy> | undefined;
    /**
     * The credential of each account (`context` lets an OAuth credential mark its account
     * `needs_login` in the store; see `oauthCredentials()`).
     * @default an API-key credential when the account has a key, else null (account disabled)
     */
    readonly credential?: ((account: AccountConfig, context: CredentialContext) => Credential | null) | undefined;
    /** Called once per finished request with what happened, for reports and tests. */
    readonly onRequest?: ((record: RequestRecord) => void) | undefined;
    /**
     * Where trace rows go (one per upstream response, see docs/recording.md); null records nothing.
     * A recorder passed here is the caller's to close.
     * @default a recorder for `server.recordTrace` (closed with the proxy), else none
     */
    readonly recorder?: TraceRecorder | null | undefined;
}
/** What a credential factory may use: the proxy's store, log and clock. */
interface CredentialContext {
    readonly store: StateStore;
    readonly logger: Logger;
    readonly now: () => number;
}
/** One upstream attempt of a request. */
interface RequestAttempt {
    /** The account tried. */
    readonly account: string;
    /** Why it was picked. */
    readonly reason: PickReason;
    /** The upstream status, or null for a transport error. */
    readonly status: number | null;
    /** What core's failover policy made of it. */
    readonly action: ResponseAction['kind'];
    /** For a failover: why (`window_rejected`, `retry_after`, …). */
    readonly failover?: FailoverReason | 'stream_error';
    /** For a failover: how long the account cools down, in milliseconds. */
    readonly cooldownMs?: number;
}
/** What happened to one request, reported to `onRequest` when it ends. */
interface RequestRecord {
    /** Short request id (also in the log). */
    readonly id: string;
    readonly method: string;
    /** The path, without the query string. */
    readonly path: string;
    /** When the request arrived, in epoch milliseconds (the proxy's clock). */
    readonly startedMs: number;
    /** From arrival to the end of the response. */
    readonly durationMs: number;
    /** Status sent to the client (0 when none was). */
    readonly status: number;
    /** The account whose answer the client got, or null when the proxy answered itself. */
    readonly account: string | null;
    /** Why that account was picked. */
    readonly reason: PickReason | null;
    /** The strategy in force. */
    readonly strategy: string;
    /** What the strategy weighed for the chosen account (its score, …), when it was a candidate. */
    readonly explain: Readonly<Record<string, ExplainValue>> | null;
    /** Every candidate of the final pick with what the strategy weighed for it, in config order. */
    readonly candidates: PickDecision<ProxyAccount>['candidates'];
    /** True when the answer was a server-sent-event stream. */
    readonly stream: boolean;
    /** Every upstream attempt, in order. */
    readonly attempts: readonly RequestAttempt[];
    /** Time spent held waiting for an account to come back, in milliseconds. */
    readonly heldMs: number;
    /**
     * - `served`: an account's answer reached the client (any status it should see as-is).
     * - `failed_over_out`: every account failed for a reason waiting would not fix; the last
     *   failure was passed on.
     * - `spent`: nothing came back in time; the proxy answered 503.
     * - `rejected`: the proxy refused the request itself (404, 401, 403, 413).
     * - `client_gone`: the client disconnected first.
     * - `stream_failed`: the upstream broke off a response already under way.
     */
    readonly outcome: 'served' | 'failed_over_out' | 'spent' | 'rejected' | 'client_gone' | 'stream_failed';
    /** The `error.type` of an error event inside the streamed answer, if one came. */
    readonly streamError: string | null;
}
/** Where the listeners are. */
interface ProxyAddresses {
    /** Base URL of the proxy (what `ANTHROPIC_BASE_URL` points at). */
    readonly proxyUrl: string;
    /** Base URL of the control API. */
    readonly controlUrl: string;
}
/** A proxy: two listeners around one store. */
interface ShuntProxy {
    /** Bind the proxy and control listeners; resolves once both accept connections. */
    listen(): Promise<ProxyAddresses>;
    /**
     * Stop accepting, wait up to `graceMs` for requests under way, then abort the rest and release
     * every connection.
     */
    close(options?: {
        readonly graceMs?: number;
    }): Promise<void>;
    /** The routing state (rate limits, cooldowns, stickiness, pin). */
    readonly store: StateStore;
    /** The accounts, in config order. */
    readonly accounts: readonly ProxyAccount[];
    /** The configuration it runs with. */
    readonly config: ShuntConfig;
    /** The proxy listener's request handler (mount it in your own server if you like). */
    handleRequest(req: IncomingMessage, res: ServerResponse): void;
    /** The control listener's request handler. */
    handleControl(req: IncomingMessage, res: ServerResponse): void;
    /** The strategy in force and where it comes from. */
    strategy(): {
        readonly name: string;
        readonly source: 'config' | 'override';
    };
    /** Override the strategy (a name or alias), or pass null to return to the configured one. */
    setStrategy(name: string | null): string;
    /** The `/status` report. */
    status(): ProxyStatus;
    /** The state backend (memory, redis or custom) and its health. */
    readonly state: StateBackend;
    /** The `/metrics` exposition, in Prometheus text format. */
    metrics(): Promise<{
        readonly contentType: string;
        readonly body: string;
    }>;
}
/**
 * Create a proxy from a validated configuration. Nothing listens until {@link ShuntProxy.listen}.
 *
 * Throws a `ConfigError` when `server.host` is not a loopback address and `remote_key` or
 * `control_token` is missing: the proxy would hand anyone who can reach it the pooled accounts.
 *
 * @example
 * ```ts
 * const proxy = createProxy({ config: await loadConfig() });
 * const { proxyUrl } = await proxy.listen();
 * console.log(`ANTHROPIC_BASE_URL=${proxyUrl}`);
 * ```
 */
declare function createProxy(options: ProxyOptions): ShuntProxy;

/**
 * @module
 * `GET /metrics`: the proxy's Prometheus series, on a registry of its own (never prom-client's
 * global one, so several proxies in one process do not collide).
 *
 * Two kinds of series:
 * - **gauges read from the store at scrape time**: one entry in {@link SCRAPE_GAUGES} each (a
 *   name, a help text, label names and a function returning the samples). Adding a series is adding
 *   an entry.
 * - **counters fed by the request path**: `observeRequest()` is called once per finished request
 *   with its {@link RequestRecord} (the same record `onRequest` gets); add counters there.
 */

/** What the scrape-time gauges read. */
interface MetricsSource {
    /** The account names, in config order. */
    readonly accounts: readonly {
        readonly name: string;
    }[];
    readonly store: StateStore;
    readonly state: StateBackend;
}
/** One sample: label values and the value. */
type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];
/** A gauge computed from the store at every scrape. */
interface ScrapeGauge {
    readonly name: string;
    readonly help: string;
    readonly labelNames: readonly string[];
    /** The samples at this instant (`nowMs` is the store's clock). */
    samples(source: MetricsSource, nowMs: number): Iterable<Sample>;
}
/** Every scrape-time gauge, in the order they are exposed. */
declare const SCRAPE_GAUGES: readonly ScrapeGauge[];
/** A proxy's metrics. */
interface ProxyMetrics {
    /** The proxy's own registry (add series to it if you embed the proxy). */
    readonly registry: Registry;
    /** Count one finished request (called by the proxy with its record's account, outcome, attempts and hold). */
    observeRequest(record: Pick<RequestRecord, 'account' | 'outcome' | 'attempts' | 'heldMs'>): void;
    /** Time one upstream attempt: from sending the request to its response headers (or the transport error). */
    observeUpstream(account: string, latencyMs: number): void;
    /** The exposition, in Prometheus text format. */
    render(): Promise<{
        readonly contentType: string;
        readonly body: string;
    }>;
}
/** Create the metrics of one proxy. */
declare function createMetrics(source: MetricsSource): ProxyMetrics;

/** A subscription (OAuth) login. */
interface OAuthEntry {
    readonly type: 'oauth';
    readonly access_token: string;
    readonly refresh_token: string;
    /** When the access token expires, in epoch milliseconds. */
    readonly expires_at: number;
    readonly email?: string;
    readonly id_token?: string;
    /** Display only (Claude Code's `subscriptionType`). */
    readonly plan_type?: string;
}
/** An API key kept in the credentials file instead of the config. */
interface ApiKeyEntry {
    readonly type: 'apikey';
    readonly key: string;
}
/** One account's stored credential. */
type CredentialEntry = OAuthEntry | ApiKeyEntry;
/** The credentials file, read and written one entry at a time. */
interface CredentialsFile {
    /** Where it lives. */
    readonly path: string;
    /** Every valid entry (an unreadable or invalid file reads as empty). */
    readAll(): Promise<ReadonlyMap<string, CredentialEntry>>;
    /** One account's entry, or null. */
    get(name: string): Promise<CredentialEntry | null>;
    /**
     * Store one account's entry, keeping every other entry as it was. Writes are queued, so two
     * concurrent `put`s never lose one another; the promise settles once the file is renamed into place.
     */
    put(name: string, entry: CredentialEntry): Promise<void>;
}
/** `$XDG_CONFIG_HOME/shunt/credentials.json` (else `~/.config/shunt/credentials.json`). */
declare function defaultCredentialsPath(env?: Readonly<Record<string, string | undefined>>, home?: string): string;
/** Validate one raw entry; null when it is not a usable credential. */
declare function parseCredentialEntry(raw: unknown): CredentialEntry | null;
/** Open the credentials file at `path` (nothing is read until asked). */
declare function credentialsFile(path: string): CredentialsFile;
/**
 * Write `text` to `path` so that a reader sees the old file or the new one, never a part: a
 * temporary file in the same directory (created 0600, flushed), then a rename. The directory is
 * created 0700 when missing.
 */
declare function writeFileAtomic(path: string, text: string): Promise<void>;

/** The claude.ai OAuth client (Claude Code's), as the Rust shunt uses it. */
declare const ANTHROPIC_OAUTH: {
    readonly clientId: string;
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly redirectUri: string;
    readonly scope: string;
};
/** The beta flag an OAuth access token needs on the Messages API. */
declare const OAUTH_BETA: string;
/** Refresh this long before the access token expires. */
declare const REFRESH_MARGIN_MS: number;
/** The `fetch` this module uses (inject one in tests). */
type FetchLike = (url: string, init: {
    method: string;
    headers: Record<string, string>;
    body: string;
    signal: AbortSignal;
}) => Promise<{
    readonly status: number;
    text(): Promise<string>;
}>;
/**
 * A failed call to the token endpoint. `permanent` is true when the endpoint refused the grant
 * (a 4xx other than 408/429): trying again will not help, the account needs a new login. The
 * message carries only the status and the OAuth `error` code, never a token.
 */
declare class OAuthError extends Error {
    /** True when the grant was refused (log in again); false for a network error, 5xx, 429. */
    readonly permanent: boolean;
    /** The HTTP status, or null for a network error. */
    readonly status: number | null;
    /** The OAuth `error` code (`invalid_grant`, …), when the endpoint sent one. */
    readonly code: string | null;
    constructor(message: string, options: {
        permanent: boolean;
        status: number | null;
        code: string | null;
    });
}
/** A PKCE pair and the `state`, for one login. */
interface PkceLogin {
    readonly verifier: string;
    readonly challenge: string;
    readonly state: string;
}
/** A fresh PKCE S256 pair (verifier: 32 random bytes, base64url) and a random `state` (16 bytes, hex). */
declare function pkce(): PkceLogin;
/** The URL the user opens to log in. */
declare function authorizeUrl(login: PkceLogin, options?: {
    readonly authorizeUrl?: string;
    readonly clientId?: string;
}): string;
/** Where the token endpoint is and who asks. */
interface TokenEndpoint {
    readonly tokenUrl: string;
    readonly clientId: string;
    /** @default globalThis.fetch */
    readonly fetch?: FetchLike | undefined;
    /** @default Date.now */
    readonly now?: (() => number) | undefined;
}
/** Exchange the code the user pasted (`CODE#STATE`, state optional) for tokens. */
declare function exchangeCode(pasted: string, login: PkceLogin, endpoint: TokenEndpoint): Promise<OAuthEntry>;
/**
 * Spend a refresh token (form POST `grant_type=refresh_token`). The old refresh token is kept
 * when the endpoint returns none; `email` is preserved, `id_token` dropped.
 */
declare function refreshTokens(previous: OAuthEntry, endpoint: TokenEndpoint): Promise<OAuthEntry>;
/** True when the token should be refreshed before use: now ≥ expires_at − 5 minutes. */
declare function needsRefresh(entry: Pick<OAuthEntry, 'expires_at'>, nowMs: number): boolean;
/**
 * Runs `fn` once per `key` across every caller (and, with a shared implementation such as
 * `@shunt/store-redis`'s `singleFlight`, across instances); callers arriving while it runs get
 * its result. The result passes through JSON when shared.
 */
type SingleFlight = <T>(key: string, fn: () => Promise<T>) => Promise<T>;
/** Options for {@link oauthCredential}. */
interface OAuthCredentialOptions extends TokenEndpoint {
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
interface OAuthCredential extends Credential {
    readonly kind: 'oauth';
    readonly canRefresh: true;
    refresh(signal: AbortSignal, used?: Readonly<Record<string, string>>): Promise<void>;
    ensureFresh(signal: AbortSignal): Promise<void> | undefined;
    /** When the access token in use expires, in epoch milliseconds. */
    expiresAt(): number;
    /** True once a refresh was refused (until the process restarts after a new login). */
    needsLogin(): boolean;
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
declare function oauthCredential(options: OAuthCredentialOptions): OAuthCredential;

/**
 * @module
 * Each account's credential, resolved as the Rust shunt does: the `credentials.json` entry
 * (OAuth tokens or an API key), else `api_key`, else the variable `api_key_env` names.
 */

/** Options for {@link accountCredentials}. */
interface AccountCredentialsOptions {
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
declare function accountCredentials(options: AccountCredentialsOptions): (account: AccountConfig, context: CredentialContext) => Credential | null;
/**
 * Read the credentials file and build the factory; `fromFile` names the accounts whose credential
 * comes from it (their "no key" configuration warnings no longer apply).
 */
declare function loadAccountCredentials(config: Pick<ShuntConfig, 'oauth' | 'accounts'>, options?: Omit<AccountCredentialsOptions, 'config' | 'entries' | 'file'>): Promise<{
    readonly credential: ReturnType<typeof accountCredentials>;
    readonly fromFile: ReadonlySet<string>;
}>;
/**
 * The store's cross-instance single-flight (`@shunt/store-redis`'s `singleFlight`), when it has
 * one: a refresh result reused for 10 s, so an instance arriving just after another refreshed
 * takes its token instead of spending the rotated refresh token.
 */
declare function storeSingleFlight(store: unknown): SingleFlight | undefined;
/** The configuration's warnings, minus "no key" ones for accounts whose credential is in the credentials file. */
declare function configWarnings(config: Pick<ShuntConfig, 'warnings'>, fromFile: ReadonlySet<string>): string[];

/** Where Claude Code keeps its login on Linux (and on macOS when not in the Keychain). */
declare function defaultClaudeCodeCredentialsPath(home?: string): string;
/** Why an import failed, in one sentence without any secret. */
declare class ClaudeCodeImportError extends Error {
    constructor(message: string);
}
/** Turn the text of Claude Code's credentials file into an OAuth entry; throws a {@link ClaudeCodeImportError}. */
declare function parseClaudeCodeCredentials(text: string): OAuthEntry;
/** Read and parse Claude Code's credentials file. */
declare function readClaudeCodeCredentials(file?: string): Promise<OAuthEntry>;

/**
 * @module
 * The errors the proxy answers itself, in Anthropic's error shape
 * (`{"type":"error","error":{"type":…,"message":…}}`), so every client and SDK reads them as it
 * reads the API's own.
 */

/** The error types of Anthropic's API that the proxy itself can produce. */
type AnthropicErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'request_too_large' | 'rate_limit_error' | 'api_error' | 'overloaded_error';
/** A response the proxy produces on its own: status, headers and a JSON body. */
interface ProxyErrorResponse {
    /** HTTP status code. */
    readonly status: number;
    /** Response headers (content-type and, where it applies, retry-after). */
    readonly headers: Readonly<Record<string, string>>;
    /** The body, already serialised. */
    readonly body: string;
}
/**
 * The body of an Anthropic-shaped error.
 *
 * @example
 * ```ts
 * anthropicErrorBody('not_found_error', 'no such route');
 * // '{"type":"error","error":{"type":"not_found_error","message":"no such route"}}'
 * ```
 */
declare function anthropicErrorBody(type: AnthropicErrorType, message: string): string;
/** A complete error response: `status`, JSON content type, optional `retry-after` in seconds. */
declare function anthropicError(status: number, type: AnthropicErrorType, message: string, retryAfterSecs?: number): ProxyErrorResponse;
/**
 * The answer for a request that no account can serve within its wait limit, as Anthropic answers
 * a spent account: 429 `rate_limit_error`, an honest `retry-after` (whole seconds until the first
 * account is back, at least 1) and the unified rate-limit headers (`…-unified-status: rejected`,
 * `…-unified-reset`, and the windows of the account that comes back first, from `soonest`).
 * When the wait is longer than `clientRetryLimitMs`, `x-should-retry: false` tells the SDKs and
 * Claude Code to stop and show the message rather than sleep through it.
 */
declare function allAccountsSpent(soonestMs: number, nowMs: number, soonest: RateLimitInfo | null, clientRetryLimitMs: number): ProxyErrorResponse;

/**
 * @module
 * Which headers cross the proxy. Requests: an allow-list (nothing else reaches the upstream, so
 * a client credential never does), then the account's credential. Responses: everything but
 * hop-by-hop headers, cookies and CORS grants, plus `x-shunt-account`.
 */

/** Request headers copied from the client to the upstream, besides every `anthropic-*` header. */
declare const FORWARDED_REQUEST_HEADERS: ReadonlySet<string>;
/** Response headers never passed back to the client. */
declare const DROPPED_RESPONSE_HEADERS: ReadonlySet<string>;
/** The response header naming the account that served the request. */
declare const ACCOUNT_HEADER = "x-shunt-account";
/** True when a client request header (lower-case) may be forwarded to the upstream. */
declare function isForwardedRequestHeader(name: string): boolean;
/**
 * The headers of the upstream request: the allow-listed client headers, then the account's
 * credential headers. A credential's `anthropic-beta` is merged into the client's (an OAuth
 * account needs its beta flag without losing the client's); any other credential header replaces
 * the client's.
 */
declare function upstreamRequestHeaders(incoming: IncomingHttpHeaders, credential: Readonly<Record<string, string>>): Record<string, string>;
/**
 * The headers of the client response: the upstream's, minus {@link DROPPED_RESPONSE_HEADERS} and
 * any header the upstream's `connection` header names, plus `x-shunt-account`.
 * `content-length` is kept: the body is passed through byte for byte.
 */
declare function clientResponseHeaders(upstream: Readonly<Record<string, string | readonly string[] | undefined>>, account: string): OutgoingHttpHeaders;

/**
 * @module
 * Spotting `event: error` frames in a server-sent-event stream as it passes through, without
 * touching a byte of it. Chunks may split a frame anywhere (even inside `\r\n`); the sniffer keeps
 * only the unfinished line between chunks, and nothing at all of the ordinary events' data.
 */
/** An error frame found in a stream: its `error.type` (`rate_limit_error`, …) and message. */
interface SseError {
    /** The `error.type` field of the frame's JSON data, or `"unknown"` when it has none. */
    readonly type: string;
    /** The `error.message` field, when present. */
    readonly message?: string;
}
/** Feeds stream chunks in, reports error frames out. */
interface SseErrorSniffer {
    /** Look at the next chunk (the caller forwards the same bytes unchanged). */
    push(chunk: Uint8Array): void;
    /** The stream ended: a last frame without its closing blank line is still reported. */
    end(): void;
}
/** Options for {@link sseErrorSniffer}. */
interface SseErrorSnifferOptions {
    /**
     * Longest line kept while looking for its end, in characters. Longer lines are skipped (error
     * frames are short; long lines are content deltas).
     * @default 65536
     */
    readonly maxLineChars?: number;
}
/** True when a `content-type` header names a server-sent-event stream. */
declare function isEventStream(contentType: string | readonly string[] | undefined): boolean;
/**
 * Watch a server-sent-event stream for error frames: an `event: error` frame, or a data-only
 * frame whose JSON says `"type": "error"` (both are what Anthropic sends). Calls `onError` once per
 * frame. Never throws on malformed input.
 *
 * @example
 * ```ts
 * const sniffer = sseErrorSniffer((error) => console.log(error.type));
 * sniffer.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error"}}\n\n'));
 * // logs "overloaded_error"
 * ```
 */
declare function sseErrorSniffer(onError: (error: SseError) => void, options?: SseErrorSnifferOptions): SseErrorSniffer;

/**
 * @module
 * Telling this machine's addresses from everyone else's: which binds need keys, and which
 * requests come from a web page rather than a local program.
 */
/** True for addresses only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`). */
declare function isLoopbackHost(host: string): boolean;

/**
 * How the mock cuts a reply's bytes into writes (each write is flushed before the next one starts,
 * so the client sees roughly one read per write):
 * - `per-event`: one write per server-sent event, as the API does (JSON bodies in one write);
 * - `one-write`: the status line, the headers and the whole body in a single write;
 * - `byte-by-byte`: one byte of the body per write;
 * - `{ cuts }`: the body split at these byte offsets (out-of-range and repeated offsets ignored).
 */
type MockDelivery = 'per-event' | 'one-write' | 'byte-by-byte' | {
    readonly cuts: readonly number[];
};
/** What the mock answers to one request (`delivery` overrides the mock's for this reply). */
type MockReply = MockReplyKind & {
    readonly delivery?: MockDelivery;
};
/** The behaviours of {@link MockReply}. */
type MockReplyKind = 
/** JSON, or a stream when the body asks for `"stream": true` (the default reply). */
{
    readonly kind: 'auto';
    readonly delayMs?: number;
}
/** 429 whose window is `rejected` until `resetInSecs` from now. */
 | {
    readonly kind: 'window-429';
    readonly window?: '5h' | '7d';
    readonly resetInSecs?: number;
    readonly delayMs?: number;
}
/** 429 with `retry-after` and the ordinary (allowed) window headers: a burst limit. */
 | {
    readonly kind: 'burst-429';
    readonly retryAfterSecs: number;
    readonly delayMs?: number;
}
/** 429 with `x-should-retry: true` and no rate-limit header: about this request only. */
 | {
    readonly kind: 'request-scoped-429';
    readonly delayMs?: number;
}
/** Any other status with an Anthropic error body (529, 401, 403, 500, 400, …). */
 | {
    readonly kind: 'status';
    readonly status: number;
    readonly retryAfterSecs?: number;
    readonly delayMs?: number;
}
/**
 * A 200 stream that sends `afterEvents` events, then (after `errorDelayMs`) an `event: error` of
 * `errorType`, then ends.
 */
 | {
    readonly kind: 'stream-error';
    readonly errorType: string;
    readonly afterEvents?: number;
    readonly errorDelayMs?: number;
    readonly delayMs?: number;
}
/** A 200 stream that sends `afterEvents` events and then nothing, until the connection closes. */
 | {
    readonly kind: 'stall';
    readonly afterEvents?: number;
}
/** No answer at all until the connection closes. */
 | {
    readonly kind: 'stall-headers';
}
/** Destroy the connection: before the headers, or after `afterEvents` events of a stream. */
 | {
    readonly kind: 'drop';
    readonly afterEvents?: number;
};
/** One account the mock knows. */
interface MockAccountOptions {
    /** Name, echoed in the reply text ("served by …") and in the request log. */
    readonly name: string;
    /** The API key that selects this account (`x-api-key`, or an OAuth `authorization: Bearer` token). */
    readonly key: string;
    /**
     * 5-hour utilization at start (0..1).
     * @default 0
     */
    readonly utilization5h?: number;
    /**
     * Weekly utilization at start (0..1).
     * @default 0
     */
    readonly utilization7d?: number;
}
/** Options for {@link createMockUpstream}. */
interface MockUpstreamOptions {
    /** The accounts, each selected by its key. */
    readonly accounts: readonly MockAccountOptions[];
    /**
     * The clock for window resets, in epoch milliseconds.
     * @default Date.now
     */
    readonly now?: () => number;
    /**
     * 5-hour utilization each served request adds (the weekly window gets a tenth of it).
     * @default 0.001
     */
    readonly usagePerRequest?: number;
    /**
     * Text deltas in a streamed reply.
     * @default 3
     */
    readonly streamDeltas?: number;
    /**
     * How replies' bytes are cut into writes (see {@link MockDelivery}).
     * @default 'per-event'
     */
    readonly delivery?: MockDelivery;
}
/** One request as the mock received it. */
interface MockRequest {
    /** Sequence number, from 1. */
    readonly seq: number;
    /** The account its key selected, or null for an unknown key. */
    readonly account: string | null;
    readonly method: string;
    /** Path and query string, as received. */
    readonly url: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    /** The body bytes, as received. */
    readonly body: Buffer;
    /** What the mock answered. */
    readonly reply: MockReply['kind'] | 'unauthorized' | 'bad-request' | 'not-found';
    /** Settles when the exchange ends: `finished`, or `aborted` when the client went away first. */
    readonly closed: Promise<'finished' | 'aborted'>;
    /** What the mock sent back: the status (null before the headers) and every body byte written so far. */
    readonly sent: {
        status: number | null;
        readonly body: Buffer[];
    };
}
/** A running (or ready to run) mock upstream. */
interface MockUpstream {
    /** Start listening on 127.0.0.1; resolves to the base URL. */
    listen(port?: number): Promise<string>;
    /** Stop listening and drop every open connection. */
    close(): Promise<void>;
    /** The base URL (after {@link MockUpstream.listen}). */
    readonly url: string;
    /** Queue replies for an account's next requests (then it answers `auto` again). */
    script(account: string, ...replies: MockReply[]): void;
    /** Every request received, in order. */
    readonly requests: MockRequest[];
    /** An account's current windows (mutable: tests set utilization directly). */
    window(account: string): MockWindow;
    /** Forget the request log and every queued reply. */
    reset(): void;
    /** Make `key` the only key that selects `account` (an OAuth token rotated: the old one now gets a 401). */
    setKey(account: string, key: string): void;
    /** How later replies are cut into writes (a reply's own `delivery` still wins). */
    setDelivery(delivery: MockDelivery): void;
}
/** One account's windows in the mock. */
interface MockWindow {
    utilization5h: number;
    utilization7d: number;
    /** Epoch seconds. */
    reset5hSecs: number;
    /** Epoch seconds. */
    reset7dSecs: number;
}
/**
 * Create a mock Anthropic upstream.
 *
 * @example
 * ```ts
 * const mock = createMockUpstream({ accounts: [{ name: 'work', key: 'k-work' }] });
 * const url = await mock.listen();
 * mock.script('work', { kind: 'burst-429', retryAfterSecs: 30 });
 * ```
 */
declare function createMockUpstream(options: MockUpstreamOptions): MockUpstream;

/** This package's version. */
declare const VERSION: string;

export { ACCOUNT_HEADER, ANTHROPIC_OAUTH, type AccountConfig, type AccountCredentialsOptions, type AccountStatus, type AnthropicErrorType, type ApiKeyEntry, ClaudeCodeImportError, ConfigError, type ConfigOptions, type Credential, type CredentialContext, type CredentialEntry, type CredentialsFile, DEFAULT_SERVER_CONFIG, DEFAULT_STATE_CONFIG, DEFAULT_TRACE_KEEP, DEFAULT_TRACE_MAX_BYTES, DROPPED_RESPONSE_HEADERS, FORWARDED_REQUEST_HEADERS, type FetchLike, type JsonLoggerOptions, LOG_LEVELS, type LoadResult, type LogFields, type LogLevel, type Logger, type MetricsSource, type MockAccountOptions, type MockReply, type MockRequest, type MockUpstream, type MockUpstreamOptions, type MockWindow, NEEDS_LOGIN, OAUTH_BETA, type OAuthConfig, type OAuthCredential, type OAuthCredentialOptions, type OAuthEntry, OAuthError, type OpenStateOptions, type PersistFs, type PersistFsSync, type PersistTimers, type PersistenceStatus, type PersistentStore, type PersistentStoreOptions, type PkceLogin, type ProxyAccount, type ProxyAddresses, type ProxyErrorResponse, type ProxyMetrics, type ProxyOptions, type ProxyStatus, REFRESH_MARGIN_MS, type RequestAttempt, type RequestRecord, SCRAPE_GAUGES, type Sample, type ScrapeGauge, type ServerConfig, type ShuntConfig, type ShuntProxy, type SingleFlight, type SseError, type SseErrorSniffer, type SseErrorSnifferOptions, type StateBackend, type StateConfig, type StateStatus, type TokenEndpoint, TraceFileError, type TraceRecorder, type TraceRecorderFs, type TraceRecorderOptions, type UsageScanner, type UsageTokens, VERSION, accountCredentials, allAccountsSpent, anthropicError, anthropicErrorBody, apiKeyCredential, authorizeUrl, clientResponseHeaders, configPathCandidates, configWarnings, createMetrics, createMockUpstream, createProxy, createTraceRecorder, credentialsFile, defaultClaudeCodeCredentialsPath, defaultConfigPath, defaultCredentialsPath, exchangeCode, fileBackend, isEventStream, isForwardedRequestHeader, isLoopbackHost, jsonLogger, jsonUsageScanner, loadAccountCredentials, loadConfig, needsRefresh, oauthCredential, openState, parseClaudeCodeCredentials, parseConfig, parseConfigText, parseCredentialEntry, persistentStore, pkce, plainBackend, readClaudeCodeCredentials, refreshTokens, requestModel, silentLogger, sseErrorSniffer, sseUsageScanner, statusReport, storeSingleFlight, traceRateLimitFields, upstreamRequestHeaders, writeFileAtomic };
