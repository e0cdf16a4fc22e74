// The public API of @shunt/core: written by `pnpm api:report`, checked by CI. Review every change.
/**
 * Conversation fingerprint of a Messages API request body: lowercase hex SHA-256 of
 * `system text + "\0" + first user message text + "\0" + tool names (sorted, comma-joined)`.
 *
 * Null when the body is not valid UTF-8 JSON, is not an object, has no `messages` array, or has neither
 * system text nor first-user text. Formatting, `model`, later messages and tool schemas do not matter.
 * @example
 * fingerprint('{"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}'); // 64 hex digits
 * fingerprint('{"messages":[]}'); // null: nothing identifies the conversation
 */
declare function fingerprint(body: string | Uint8Array): string | null;

/**
 * @module
 * Anthropic's unified rate-limit headers (`anthropic-ratelimit-unified-*`), parsed into a
 * {@link RateLimitInfo}, and the window arithmetic every strategy shares.
 */
/** Length of the rolling 5-hour window, in seconds. */
declare const WINDOW_5H_SECS = 18000;
/** Length of the weekly window, in seconds. */
declare const WINDOW_7D_SECS = 604800;
/**
 * A window's status as Anthropic reports it. Real values are `allowed`, `allowed_warning` and
 * `rejected`; `exhausted` is what the Rust shunt synthesised for other providers. Unknown strings
 * are kept as-is so a new value never breaks parsing.
 */
type WindowStatus = 'allowed' | 'allowed_warning' | 'rejected' | 'exhausted' | (string & {});
/**
 * What one upstream response said about an account's quota. Every field but `updatedMs` is
 * optional: a response may carry only some headers, and {@link mergeRateLimitInfo} keeps the rest.
 */
interface RateLimitInfo {
    /** Fraction of the 5-hour window used (0..1, may exceed 1). */
    utilization5h?: number;
    /** When the 5-hour window resets, in epoch seconds. */
    reset5h?: number;
    /** The 5-hour window's status. */
    status5h?: WindowStatus;
    /** Fraction of the weekly window used (0..1, may exceed 1). */
    utilization7d?: number;
    /** When the weekly window resets, in epoch seconds. */
    reset7d?: number;
    /** The weekly window's status. */
    status7d?: WindowStatus;
    /** `anthropic-ratelimit-unified-overage-status`. */
    overageStatus?: string;
    /** `anthropic-ratelimit-unified-overage-disabled-reason`. */
    overageDisabledReason?: string;
    /** Which window Anthropic considers binding (`five_hour`, `seven_day`, …). */
    representativeClaim?: string;
    /** When the response carrying these headers was received, in epoch milliseconds. */
    updatedMs: number;
}
/**
 * Anything headers come in: a fetch `Headers`, Node's `IncomingHttpHeaders`, or a plain record.
 * Record keys are matched case-insensitively.
 */
type HeaderSource = {
    get(name: string): string | null;
} | Readonly<Record<string, string | readonly string[] | number | undefined>>;
/**
 * Read the `anthropic-ratelimit-unified-*` headers of one response.
 *
 * Returns null when the response carries none of them. A header whose value does not parse is
 * left out rather than failing the whole record, and unknown windows (such as `7d_oi`) are
 * ignored, so a new header from Anthropic never breaks routing. Never throws.
 *
 * @example
 * ```ts
 * const info = parseRateLimitHeaders(response.headers, store.now());
 * if (info) store.updateRateLimits(account.name, info);
 * ```
 */
declare function parseRateLimitHeaders(headers: HeaderSource, nowMs: number): RateLimitInfo | null;
/**
 * Merge a newer record into an older one field by field: a response that carries only some
 * headers does not erase what earlier responses said about the rest. A window of `previous` whose
 * reset had already passed when `next` was received has rolled over, so its utilization, reset
 * and status are dropped rather than carried into the new window.
 */
declare function mergeRateLimitInfo(previous: RateLimitInfo | null | undefined, next: RateLimitInfo): RateLimitInfo;
/**
 * True when the account's `window` is rejected (or exhausted) and its reset is still ahead of
 * `nowMs`: routing there would only earn a 429.
 */
declare function isWindowRejected(info: RateLimitInfo, window: '5h' | '7d', nowMs: number): boolean;
/** True when the headers carry any rate-limit header at all (`anthropic-ratelimit-*` or `x-ratelimit-*`). */
declare function hasRateLimitHeaders(headers: HeaderSource): boolean;
/**
 * Read one header, case-insensitively, from any {@link HeaderSource}. Repeated headers are joined
 * with ", " as fetch does. Returns undefined when absent.
 */
declare function readHeader(headers: HeaderSource, name: string): string | undefined;

/**
 * @module
 * The {@link StateStore} seam: everything the router remembers about accounts and conversations.
 */

/**
 * What the router remembers: rate-limit records, cooldowns, disabled flags, the sticky map, the
 * pinned account and the round-robin counter.
 *
 * Every method is synchronous so that `pickAccount` stays a pure, synchronous decision. A store
 * shared across machines keeps a local replica that reads are served from and writes through to
 * the shared backend (see docs/architecture.md). All time comes from {@link StateStore.now}, so a
 * simulator can drive a store on a virtual clock.
 *
 * Account names are opaque strings; a store never needs to know the account list.
 */
interface StateStore {
    /** The store's clock, in epoch milliseconds. */
    now(): number;
    /** True unless the account is disabled or cooling down. Exhaustion is checked separately. */
    isAvailable(name: string): boolean;
    /**
     * True when a window's status is `rejected` (or `exhausted`) and that window's reset is still
     * in the future.
     */
    isExhausted(name: string): boolean;
    /** 5-hour utilization; 0 when unknown or when the window's reset has passed. */
    utilization5h(name: string): number;
    /** Weekly utilization; 0 when unknown or when the window's reset has passed. */
    utilization7d(name: string): number;
    /** The 5-hour reset in epoch seconds, or null when unknown or already past. */
    reset5hSecs(name: string): number | null;
    /** The weekly reset in epoch seconds, or null when unknown or already past. */
    reset7dSecs(name: string): number | null;
    /** The stored rate-limit record as last merged, or null when none was ever seen. */
    rateLimits(name: string): RateLimitInfo | null;
    /** Merge a freshly parsed record into the stored one, field by field. */
    updateRateLimits(name: string, info: RateLimitInfo): void;
    /**
     * Cool the account for `ms` milliseconds from {@link StateStore.now}. When a cooldown is already
     * running, the later deadline wins, so a short cooldown never cuts a long one short.
     */
    setCooldown(name: string, ms: number): void;
    /**
     * Optional. Record that the request `requestKey` failed on the account now, and return how many
     * distinct requests failed on it within the last `windowMs` milliseconds (this one included; a
     * failure exactly `windowMs` old still counts). A request that fails again counts once, at its
     * latest failure. Changes nothing else: `recordResponse` decides whether the count cools the
     * account. Memory stays bounded: a store may forget all but the 64 most recent requests per
     * account, and may forget failures older than the window. A store shared across machines counts
     * what its replica has heard of so far.
     */
    recordFault?(name: string, requestKey: string, windowMs: number): number;
    /** End any cooldown now. */
    clearCooldown(name: string): void;
    /** The running cooldown's deadline in epoch milliseconds, or null when not cooling. */
    cooldownUntil(name: string): number | null;
    /** Take the account out of routing until {@link StateStore.enable}; `reason` is kept for status views. */
    disable(name: string, reason?: string): void;
    /** Put a disabled account back into routing. */
    enable(name: string): void;
    /** Why the account is disabled, or null when it is not. */
    disabledReason(name: string): string | null;
    /** The account a conversation is stuck to, or null when none or expired. */
    getSticky(fingerprint: string): string | null;
    /** Stick a conversation to an account for `ttlMs` from now (replacing any earlier entry). */
    setSticky(fingerprint: string, name: string, ttlMs: number): void;
    /** The pinned account name, or null for automatic routing. */
    getPinned(): string | null;
    /** Pin every request to one account, or pass null to return to automatic routing. */
    setPinned(name: string | null): void;
    /** The last account that served a request successfully, or null. */
    getLastUsed(): string | null;
    /** Record the account that just served a request successfully. */
    setLastUsed(name: string): void;
    /** Fetch-and-increment the round-robin counter (starts at 0). */
    nextRoundRobin(): number;
}

/**
 * @module
 * `memoryStore()`: the in-process {@link StateStore}, on an injected clock, bounded, and
 * serialisable to plain JSON.
 */

/** Options for {@link memoryStore}. */
interface MemoryStoreOptions {
    /**
     * The clock, in epoch milliseconds. Inject a virtual clock to replay time (the simulator does).
     * @default Date.now
     */
    readonly now?: (() => number) | undefined;
    /**
     * Most conversations remembered at once. When full, expired entries go first, then the entries
     * least recently routed.
     * @default 10000
     */
    readonly maxStickyEntries?: number | undefined;
}
/** Plain-JSON image of a memory store, for persistence (`snapshot()` / `restore()`). */
interface MemoryStoreSnapshot {
    /** Format version; bumped on incompatible changes. */
    readonly version: 1;
    /** Per-account state; only accounts with something to remember appear. */
    readonly accounts: Readonly<Record<string, {
        readonly cooldownUntilMs?: number;
        readonly disabledReason?: string;
        readonly rateLimits?: RateLimitInfo;
    }>>;
    /** Live sticky entries: fingerprint → account and expiry (epoch ms). */
    readonly sticky: Readonly<Record<string, {
        readonly account: string;
        readonly expiresAtMs: number;
    }>>;
    /** The pinned account, or null. */
    readonly pinned: string | null;
    /** The last account that served a request successfully, or null. */
    readonly lastUsed: string | null;
    /** The round-robin counter's next value. */
    readonly roundRobin: number;
}
/** A {@link StateStore} that lives in process memory and can be saved and restored as JSON. */
interface MemoryStore extends StateStore {
    /** Always present on a memory store (see {@link StateStore.recordFault}). */
    recordFault(name: string, requestKey: string, windowMs: number): number;
    /**
     * A plain-JSON copy of everything worth keeping (expired sticky entries and cooldowns dropped;
     * fault counts, which matter for a minute at most, are left out).
     */
    snapshot(): MemoryStoreSnapshot;
    /**
     * Replace the store's contents with a snapshot (for example one read back from disk).
     * Throws a `TypeError` naming the offending field when `snapshot` is not a valid snapshot,
     * and leaves the store unchanged in that case.
     */
    restore(snapshot: unknown): void;
}
/**
 * Create an in-memory {@link StateStore}.
 *
 * @example
 * ```ts
 * let t = Date.parse('2026-01-01T00:00:00Z');
 * const store = memoryStore({ now: () => t });
 * store.setCooldown('work', 30_000);
 * store.isAvailable('work'); // false
 * t += 30_000;
 * store.isAvailable('work'); // true
 * ```
 */
declare function memoryStore(options?: MemoryStoreOptions): MemoryStore;

/**
 * @module
 * The {@link Strategy} seam: how one account is chosen among the eligible candidates.
 */

/** Anything with a name can be routed to; the router hands the same object back. */
interface Account {
    /** Unique account name (the key every store uses). */
    readonly name: string;
}
/** What a strategy may look at when it chooses. */
interface StrategyContext {
    /** The store holding every account's windows, cooldowns and the round-robin counter. */
    readonly store: StateStore;
    /** The decision's instant, in epoch milliseconds (the store's clock). */
    readonly nowMs: number;
    /** Horizon under which a window counts as "expiring soon" (Reaper), in seconds. */
    readonly expirySoonSecs: number;
}
/** One value a strategy reports about a candidate, for logs and the simulator. */
type ExplainValue = number | string | boolean | null;
/**
 * A routing strategy. `pick` receives only eligible candidates (not tried, not cooling, not
 * disabled, not exhausted), in config order, never empty, and returns one of them.
 *
 * @example
 * ```ts
 * const firstFit: Strategy = {
 *   name: 'first-fit',
 *   pick: (candidates) => candidates[0],
 * };
 * ```
 */
interface Strategy {
    /** Name used in config, logs and simulator reports. */
    readonly name: string;
    /** Choose one of `candidates` (never empty). Returning anything else is a bug the router reports. */
    pick<A extends Account>(candidates: readonly [A, ...A[]], context: StrategyContext): A;
    /**
     * The inputs this strategy weighed for one candidate (a score, the binding window, …), shown in
     * decision explanations. Optional; must not change any state.
     */
    explain?(account: Account, context: StrategyContext): Readonly<Record<string, ExplainValue>>;
}

/**
 * @module
 * Carousel: plain round-robin over the eligible candidates.
 */

/**
 * `candidates[counter mod candidates.length]`, where `counter` is the store's round-robin
 * counter, advanced once per strategy decision. Quota is ignored. The rotation runs over the
 * *eligible* list, so it shifts whenever an account leaves or rejoins it.
 */
declare const carousel: Strategy;

/**
 * @module
 * Cushion: the account with the most room left in its tightest window.
 */

/**
 * Lowest `(max(u5, u7), min(u5, u7))` wins, compared lexicographically: the binding (fuller)
 * window decides, the other window breaks ties. Reset times are ignored. Ties go to the first
 * candidate in config order.
 */
declare const cushion: Strategy;

/**
 * Highest `score = (1 − tf5·u5) · (1 − tf7·u7)` wins, where `tf = min(1, max(0, reset − now) / window)`
 * (0 when the reset is unknown) and `u` is the window's utilization clamped into [0, 1].
 *
 * A nearly used-up window costs little when it is about to reset, so an account at 90 % that
 * resets in 10 minutes beats one at 60 % that resets in 3 hours. Fresh accounts score 1; every
 * score is in [0, 1]. Ties go to the first candidate in config order.
 */
declare const maximus: Strategy;

/**
 * @module
 * Reaper: use it or lose it. Drains the quota that is about to reset unused.
 */

/**
 * Per account, the binding window is the fuller one: `eff = max(u5, u7)`, `rb = r5` if `u5 ≥ u7`
 * else `r7`. The account is *expiring* when `rb` is known and `rb − now ≤ expirySoonSecs`.
 *
 * Order (first wins): expiring accounts, earliest `rb` first; then accounts with a known `rb`,
 * earliest `rb` first, then lowest `eff`; then accounts with no reset at all (fresh accounts are
 * saved for last, since using them starts a new window). Ties go to the first candidate in config
 * order.
 */
declare const reaper: Strategy;

/**
 * @module
 * The built-in strategies, and how a configured name becomes a {@link Strategy}.
 */

/** Names of the built-in strategies. */
type StrategyName = 'maximus' | 'cushion' | 'reaper' | 'carousel';
/** The built-in strategies by name. */
declare const strategies: Readonly<Record<StrategyName, Strategy>>;
/**
 * A strategy object as-is, or a built-in strategy by name, case-insensitively. The seed's older
 * names are accepted too: `round-robin` / `round_robin` (Carousel), `most-available` /
 * `most_available` (Cushion), `earliest-expiry` / `earliest_expiry` (Reaper).
 *
 * Throws a `RangeError` listing the valid names for an unknown name: the seed silently fell back
 * to Maximus, which hid typos in config files.
 */
declare function resolveStrategy(strategy: Strategy | string): Strategy;

/** Options for {@link pickAccount} and {@link explainPick}. */
interface PickOptions {
    /** The conversation's fingerprint (see `fingerprint`); null or absent disables stickiness. */
    readonly fingerprint?: string | null | undefined;
    /** Accounts already tried for this request; never picked again. */
    readonly tried?: ReadonlySet<string> | undefined;
    /**
     * The strategy, as an object or a built-in name (aliases such as `round-robin` accepted).
     * @default "maximus"
     */
    readonly strategy?: Strategy | StrategyName | (string & {}) | undefined;
    /**
     * How long a conversation stays on its account after its last routed request.
     * @default 600000
     */
    readonly stickyTtlMs?: number | undefined;
    /**
     * Reaper's "expiring soon" horizon, in seconds.
     * @default 1800
     */
    readonly expirySoonSecs?: number | undefined;
    /**
     * Renew a conversation's sticky TTL on every sticky hit. `false` keeps the Rust shunt's
     * behaviour (the TTL counts from the last strategy decision, so long conversations are re-routed
     * every `stickyTtlMs` and lose their prompt cache).
     * @default true
     */
    readonly slidingSticky?: boolean | undefined;
}
/** Why an account was chosen: the pin, the conversation's sticky entry, or the strategy. */
type PickReason = 'pinned' | 'sticky' | 'strategy' | 'none';
/** Why an account was not a candidate. */
type ExclusionReason = 'tried' | 'disabled' | 'cooling' | 'exhausted';
/** A routing decision with everything needed to explain it in a log line or a report. */
interface PickDecision<A extends Account> {
    /** The chosen account (the same object as in `accounts`), or null when none is eligible. */
    readonly account: A | null;
    /** What decided: the pin, stickiness, the strategy, or nothing was eligible. */
    readonly reason: PickReason;
    /** Name of the strategy in force (even when the pin or stickiness decided). */
    readonly strategy: string;
    /** Eligible candidates in config order, with what the strategy weighed for each (when it explains). */
    readonly candidates: ReadonlyArray<{
        readonly name: string;
        readonly explain: Readonly<Record<string, ExplainValue>>;
    }>;
    /** Accounts that were not candidates, and why. */
    readonly excluded: ReadonlyArray<{
        readonly name: string;
        readonly why: ExclusionReason;
    }>;
}
/**
 * Choose the account for one request: the pinned account if it is eligible, else the
 * conversation's sticky account if it is eligible, else the strategy's pick among the eligible
 * accounts (which then becomes the conversation's sticky account). Returns null when no account is
 * eligible. Eligible means: not in `tried`, not disabled, not cooling down and not exhausted.
 *
 * This is the hot path: it computes no explanation. {@link explainPick} makes the same decision
 * (with the same writes) and says why.
 *
 * Differences from the seed, on purpose: a pinned account that is exhausted is skipped (the seed
 * routed to it anyway, earning a 429 per request); a sticky hit renews the TTL unless
 * `slidingSticky` is false; an unknown strategy name throws instead of falling back to Maximus;
 * every built-in strategy breaks ties towards the first account in config order.
 *
 * Throws a `TypeError` when two accounts share a name (the store keys all state by name, so they
 * would silently share cooldowns and quota), a `RangeError` for an invalid option or strategy
 * name, and an `Error` when the strategy returns something that is not one of the candidates.
 *
 * @example
 * ```ts
 * const account = pickAccount(accounts, store, { fingerprint: fingerprint(body), tried });
 * if (account === null) {
 *   const back = soonestAvailableMs(accounts, store); // hold the request until then, or answer 503
 * }
 * ```
 */
declare function pickAccount<A extends Account>(accounts: readonly A[], store: StateStore, options?: PickOptions): A | null;
/**
 * Make the same decision as {@link pickAccount}, with the same side effects (sticky write,
 * round-robin counter), and report why: what decided, every candidate with what the strategy
 * weighed for it, and every excluded account with the first reason that applies (`tried`,
 * `disabled`, `cooling`, `exhausted`).
 */
declare function explainPick<A extends Account>(accounts: readonly A[], store: StateStore, options?: PickOptions): PickDecision<A>;
/**
 * The earliest instant, in epoch milliseconds, at which some account that is not disabled becomes
 * eligible again: per account, the later of its cooldown's end and, when it is exhausted, the
 * reset of its rejected window(s). Returns `store.now()` when an account is eligible right now,
 * and null when every account is disabled (or the list is empty): waiting brings nothing back.
 *
 * Accounts in a request's `tried` set are not considered unavailable here: a held request starts
 * over with a fresh `tried` set.
 */
declare function soonestAvailableMs(accounts: readonly Account[], store: StateStore): number | null;

/**
 * @module
 * The failover policy: one pure function that turns an upstream outcome into what to do next.
 * The proxy and the simulator share it, so what the simulator predicts is what the proxy does.
 */

/** What came back from one upstream attempt: a response, or a transport error before any byte. */
type UpstreamOutcome = {
    readonly status: number;
    readonly headers: HeaderSource;
} | {
    readonly transportError: unknown;
};
/** What the caller knows about the attempt beyond the response itself. */
interface ClassifyContext {
    /** Now, in epoch milliseconds (cooldowns until a reset are computed from it). */
    readonly nowMs: number;
    /**
     * Whether this account's credentials can be refreshed (OAuth) at all.
     * @default true
     */
    readonly canRefresh?: boolean | undefined;
    /**
     * Whether this account's credentials were already refreshed during this request.
     * @default false
     */
    readonly alreadyRefreshed?: boolean | undefined;
}
/** The cooldowns the policy applies, in milliseconds. */
interface FailoverPolicy {
    /**
     * Added to a rejected window's reset before the account is tried again (resets jitter by ~1 s).
     * @default 500
     */
    readonly resetMarginMs: number;
    /**
     * A 429 that says nothing about how long to wait (no rejected window, no retry-after).
     * @default 60000
     */
    readonly rateLimitFallbackMs: number;
    /**
     * Upper bound for a cooldown taken from `retry-after` / `retry-after-ms` (a burst limit), so a
     * bogus multi-day value cannot lock an account out. Rejected windows are not capped: their
     * reset is the truth.
     * @default 300000
     */
    readonly maxRetryAfterMs: number;
    /**
     * 529 overloaded (and an `overloaded_error` inside a stream).
     * @default 30000
     */
    readonly overloadedMs: number;
    /**
     * 401 after a refresh (or on an account that cannot refresh).
     * @default 300000
     */
    readonly unauthorizedMs: number;
    /**
     * 403 forbidden.
     * @default 1800000
     */
    readonly forbiddenMs: number;
    /**
     * 500/502/503/504 and transport errors, once they are confirmed as the account's fault (see
     * `accountFaultRequests`).
     * @default 10000
     */
    readonly serverErrorMs: number;
    /**
     * How many distinct requests must fail with a 5xx or a transport error on one account within
     * `accountFaultWindowMs` before the fault counts as the account's and it cools for
     * `serverErrorMs`. One request that fails everywhere is the request's fault: it fails over but
     * cools nothing. An integer from 0 to 64; 0 or 1 cools at the first failure (the old behaviour).
     * @default 2
     */
    readonly accountFaultRequests: number;
    /**
     * The window, in milliseconds, in which `accountFaultRequests` failures must fall.
     * @default 60000
     */
    readonly accountFaultWindowMs: number;
}
/**
 * Whose fault a failover is.
 * - `account`: the account's (a rejected window, 529, 401, 403, …): it cools at once.
 * - `request`: this request's alone (a request-scoped 429): nothing cools.
 * - `unconfirmed`: a 5xx or a transport error, which one poison request causes on every account as
 *   surely as a broken account causes it for every request: the account cools only once
 *   `confirmAfter.requests` distinct requests failed on it within `confirmAfter.windowMs`.
 */
type FaultScope = 'account' | 'request' | 'unconfirmed';
/** When an `unconfirmed` fault becomes the account's: the policy's `accountFault*` values. */
interface FaultConfirmation {
    /** Distinct failing requests that confirm the fault (≥ 2). */
    readonly requests: number;
    /** The window they must fall in, in milliseconds. */
    readonly windowMs: number;
}
/** Options for {@link recordResponse}. */
interface RecordOptions {
    /**
     * Identifies the request the response answered (the proxy's request id, the trace's
     * `request_id`), so that an `unconfirmed` fault is counted once per distinct request. Without it
     * an unconfirmed fault never cools the account.
     */
    readonly requestKey?: string | undefined;
}
/** Why a request fails over to another account. */
type FailoverReason = 'window_rejected' | 'retry_after' | 'request_scoped' | 'rate_limited' | 'overloaded' | 'unauthorized' | 'forbidden' | 'server_error' | 'transport_error';
/**
 * What to do with an upstream outcome.
 * - `success`: hand the response to the client.
 * - `failover`: add the account to `tried` and pick again. Cool the account for `cooldownMs`
 *   (0 = do not cool): at once when `fault` is `account`, only once confirmed when it is
 *   `unconfirmed` ({@link recordResponse} decides both).
 * - `refresh`: refresh the account's credentials, then retry the same account once.
 * - `return`: hand the response to the client as-is (a client error no other account would fix).
 *
 * `rateLimits` carries the response's parsed headers (or null); store them whatever the kind.
 */
type ResponseAction = {
    readonly kind: 'success';
    readonly rateLimits: RateLimitInfo | null;
} | ({
    readonly kind: 'failover';
    readonly reason: FailoverReason;
    readonly cooldownMs: number;
    /** For `window_rejected`: which window was rejected (the later reset when both were). */
    readonly window?: '5h' | '7d';
    readonly rateLimits: RateLimitInfo | null;
} & ({
    /** Whose fault the failure is (see {@link FaultScope}). */
    readonly fault: Exclude<FaultScope, 'unconfirmed'>;
} | {
    /** Whose fault the failure is (see {@link FaultScope}). */
    readonly fault: 'unconfirmed';
    /** How many distinct failing requests, within what window, make it the account's. */
    readonly confirmAfter: FaultConfirmation;
})) | {
    readonly kind: 'refresh';
    readonly reason: 'unauthorized';
    readonly rateLimits: RateLimitInfo | null;
} | {
    readonly kind: 'return';
    readonly status: number;
    readonly rateLimits: RateLimitInfo | null;
};
/** The policy {@link classifyResponse} applies when no override is given (see each field's `@default`). */
declare const defaultFailoverPolicy: FailoverPolicy;
/**
 * Decide what to do with one upstream outcome. Pure: the same outcome, context and policy always
 * give the same action, so the simulator predicts exactly what the proxy does.
 *
 * A 429 is read most specific first:
 * 1. a window whose status is `rejected`/`exhausted` with a future reset ⇒ cool until that reset
 *    plus `resetMarginMs` (the later reset when both windows are blocked);
 * 2. `retry-after-ms` or `retry-after` (seconds or an HTTP-date) ⇒ cool that long, at most
 *    `maxRetryAfterMs`: a burst limit, not the end of the quota window;
 * 3. `x-should-retry: true` with no rate-limit header at all ⇒ request-scoped: fail over, no cooldown;
 * 4. a window at utilization ≥ 1 with a future reset but no status ⇒ as in 1;
 * 5. otherwise `rateLimitFallbackMs`.
 *
 * Never throws for any status or headers; throws a `RangeError` for a policy value that is not a
 * finite number ≥ 0, or a `context.nowMs` that is not finite.
 *
 * A 500/502/503/504 or a transport error is an `unconfirmed` fault (see {@link FaultScope}).
 *
 * @example
 * ```ts
 * const action = classifyResponse({ status: res.status, headers: res.headers }, { nowMs: store.now() });
 * recordResponse(store, account.name, action, { requestKey: requestId });
 * if (action.kind === 'failover') tried.add(account.name);
 * ```
 */
declare function classifyResponse(outcome: UpstreamOutcome, context: ClassifyContext, policy?: Partial<FailoverPolicy>): ResponseAction;
/**
 * Decide what to do with an SSE `event: error` that arrives inside a stream already sent to the
 * client with status 200. The request itself cannot fail over any more; the point is to cool the
 * account so that the next request goes elsewhere.
 *
 * - `rate_limit_error` ⇒ `failover` / `rate_limited`, cooling `rateLimitFallbackMs` (an in-stream
 *   error carries no headers to say how long).
 * - `overloaded_error` ⇒ `failover` / `overloaded`, cooling `overloadedMs`.
 * - anything else (`api_error`, …) ⇒ `{ kind: 'return', status: 200 }`: pass the stream through
 *   as it is and record nothing, since the error says nothing about the account.
 *
 * `rateLimits` is always null. `context` is accepted (and validated) so both classifiers take the
 * same arguments. Throws a `RangeError` for an invalid policy value.
 */
declare function classifyStreamError(errorType: string, context: ClassifyContext, policy?: Partial<FailoverPolicy>): ResponseAction;
/**
 * Apply an action to a store: merge its rate limits (whatever the kind), remember the account as
 * last used (`success`), and cool the account (a `failover` with `cooldownMs > 0`). An
 * `unconfirmed` fault cools it only when the store counts (`StateStore.recordFault`) at least
 * `confirmAfter.requests` distinct requests that failed on it within `confirmAfter.windowMs`, this
 * one included; without `options.requestKey`, or on a store without `recordFault`, it never does,
 * so one poison request cannot take the pool out. The proxy and the simulator both go through
 * here, so they change state identically.
 *
 * Returns the cooldown it started, in milliseconds (0 when it cooled nothing), for logs.
 */
declare function recordResponse(store: StateStore, account: string, action: ResponseAction, options?: RecordOptions): number;

export { type Account, type ClassifyContext, type ExclusionReason, type ExplainValue, type FailoverPolicy, type FailoverReason, type FaultConfirmation, type FaultScope, type HeaderSource, type MemoryStore, type MemoryStoreOptions, type MemoryStoreSnapshot, type PickDecision, type PickOptions, type PickReason, type RateLimitInfo, type RecordOptions, type ResponseAction, type StateStore, type Strategy, type StrategyContext, type StrategyName, type UpstreamOutcome, WINDOW_5H_SECS, WINDOW_7D_SECS, type WindowStatus, carousel, classifyResponse, classifyStreamError, cushion, defaultFailoverPolicy, explainPick, fingerprint, hasRateLimitHeaders, isWindowRejected, maximus, memoryStore, mergeRateLimitInfo, parseRateLimitHeaders, pickAccount, readHeader, reaper, recordResponse, resolveStrategy, soonestAvailableMs, strategies };
