/**
 * @module
 * `memoryStore()`: the in-process {@link StateStore}, on an injected clock, bounded, and
 * serialisable to plain JSON.
 */
import { mergeRateLimitInfo, type RateLimitInfo } from '../rate-limits.js';
import type { StateStore } from './types.js';

/** Options for {@link memoryStore}. */
export interface MemoryStoreOptions {
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
export interface MemoryStoreSnapshot {
  /** Format version; bumped on incompatible changes. */
  readonly version: 1;
  /** Per-account state; only accounts with something to remember appear. */
  readonly accounts: Readonly<
    Record<
      string,
      {
        readonly cooldownUntilMs?: number;
        readonly disabledReason?: string;
        readonly rateLimits?: RateLimitInfo;
      }
    >
  >;
  /** Live sticky entries: fingerprint → account and expiry (epoch ms). */
  readonly sticky: Readonly<Record<string, { readonly account: string; readonly expiresAtMs: number }>>;
  /** The pinned account, or null. */
  readonly pinned: string | null;
  /** The last account that served a request successfully, or null. */
  readonly lastUsed: string | null;
  /** The round-robin counter's next value. */
  readonly roundRobin: number;
}

/** A {@link StateStore} that lives in process memory and can be saved and restored as JSON. */
export interface MemoryStore extends StateStore {
  /** A plain-JSON copy of everything worth keeping (expired sticky entries and cooldowns dropped). */
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
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const maxSticky = options.maxStickyEntries ?? 10_000;
  if (!Number.isInteger(maxSticky) || maxSticky < 1) {
    throw new RangeError(`memoryStore: maxStickyEntries must be a positive integer, got ${String(maxSticky)}`);
  }

  let accounts = new Map<string, AccountState>();
  // Map iteration order is insertion order; re-inserting on every write keeps it least-recently-routed
  // first, which makes eviction O(1).
  let sticky = new Map<string, StickyEntry>();
  // A lower bound on the earliest sticky expiry: while it is in the future nothing has expired,
  // so a full store evicts without scanning for expired entries.
  let stickyEarliestExpiry = Infinity;
  let pinned: string | null = null;
  let lastUsed: string | null = null;
  let roundRobin = 0;

  const entry = (name: string): AccountState => {
    let state = accounts.get(name);
    if (state === undefined) {
      state = {};
      accounts.set(name, state);
    }
    return state;
  };

  const liveReset = (reset: number | undefined): number | null =>
    reset !== undefined && reset * 1000 > now() ? reset : null;

  const windowUtilization = (utilization: number | undefined, reset: number | undefined): number => {
    if (utilization === undefined) return 0;
    // A window whose reset has passed has rolled over: whatever it said is stale.
    if (reset !== undefined && reset * 1000 <= now()) return 0;
    return utilization;
  };

  const store: MemoryStore = {
    now: () => now(),

    isAvailable(name) {
      const state = accounts.get(name);
      if (state === undefined) return true;
      if (state.disabledReason !== undefined) return false;
      return state.cooldownUntilMs === undefined || now() >= state.cooldownUntilMs;
    },

    isExhausted(name) {
      const info = accounts.get(name)?.rateLimits;
      if (info === undefined) return false;
      return (
        (isRejected(info.status5h) && liveReset(info.reset5h) !== null) ||
        (isRejected(info.status7d) && liveReset(info.reset7d) !== null)
      );
    },

    utilization5h: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return windowUtilization(info?.utilization5h, info?.reset5h);
    },
    utilization7d: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return windowUtilization(info?.utilization7d, info?.reset7d);
    },
    reset5hSecs: (name) => liveReset(accounts.get(name)?.rateLimits?.reset5h),
    reset7dSecs: (name) => liveReset(accounts.get(name)?.rateLimits?.reset7d),
    rateLimits(name) {
      const info = accounts.get(name)?.rateLimits;
      // A copy: a caller editing the record must not edit the store behind its back.
      return info === undefined ? null : { ...info };
    },

    updateRateLimits(name, info) {
      const state = entry(name);
      const previous = state.rateLimits;
      // The store owns its record (`rateLimits()` hands out copies), so the usual case, where no
      // window has rolled over, merges in place: the same fields in the same order as
      // mergeRateLimitInfo's copy, without a new object per response. A rollover (which drops the
      // old window's fields) goes through mergeRateLimitInfo itself.
      if (previous !== undefined && !rolledOver(previous, info.updatedMs)) {
        assignDefined(previous, info);
        return;
      }
      // mergeRateLimitInfo drops a rolled-over window with `delete`, which leaves a slow
      // (dictionary-mode) object; copied, the record stays fast for the in-place merges to come.
      const merged = mergeRateLimitInfo(previous, info);
      state.rateLimits = previous === undefined ? merged : fastCopy(merged);
    },

    setCooldown(name, ms) {
      if (!Number.isFinite(ms)) throw new RangeError(`setCooldown: ms must be finite, got ${String(ms)}`);
      const state = entry(name);
      const until = now() + Math.max(0, ms);
      if (state.cooldownUntilMs === undefined || until > state.cooldownUntilMs) state.cooldownUntilMs = until;
    },
    clearCooldown(name) {
      const state = accounts.get(name);
      if (state !== undefined) delete state.cooldownUntilMs;
    },
    cooldownUntil(name) {
      const until = accounts.get(name)?.cooldownUntilMs;
      return until !== undefined && until > now() ? until : null;
    },

    disable(name, reason = 'disabled') {
      entry(name).disabledReason = reason;
    },
    enable(name) {
      const state = accounts.get(name);
      if (state !== undefined) delete state.disabledReason;
    },
    disabledReason: (name) => accounts.get(name)?.disabledReason ?? null,

    getSticky(fingerprint) {
      const hit = sticky.get(fingerprint);
      if (hit === undefined) return null;
      if (hit.expiresAtMs <= now()) {
        sticky.delete(fingerprint);
        return null;
      }
      return hit.account;
    },
    setSticky(fingerprint, name, ttlMs) {
      // NaN would never expire and Infinity would not survive a JSON snapshot.
      if (!Number.isFinite(ttlMs)) throw new RangeError(`setSticky: ttlMs must be finite, got ${String(ttlMs)}`);
      sticky.delete(fingerprint);
      if (sticky.size >= maxSticky) evictSticky();
      const expiresAtMs = now() + ttlMs;
      sticky.set(fingerprint, { account: name, expiresAtMs });
      if (expiresAtMs < stickyEarliestExpiry) stickyEarliestExpiry = expiresAtMs;
    },

    getPinned: () => pinned,
    setPinned(name) {
      pinned = name;
    },
    getLastUsed: () => lastUsed,
    setLastUsed(name) {
      lastUsed = name;
    },

    nextRoundRobin: () => roundRobin++,

    snapshot() {
      const t = now();
      // Entries are collected and turned into objects with Object.fromEntries, which defines own
      // properties: plain assignment would drop an account or fingerprint named `__proto__`.
      const accountsOut: Array<[string, MemoryStoreSnapshot['accounts'][string]]> = [];
      for (const [name, state] of accounts) {
        const out: { cooldownUntilMs?: number; disabledReason?: string; rateLimits?: RateLimitInfo } = {};
        if (state.cooldownUntilMs !== undefined && state.cooldownUntilMs > t) out.cooldownUntilMs = state.cooldownUntilMs;
        if (state.disabledReason !== undefined) out.disabledReason = state.disabledReason;
        if (state.rateLimits !== undefined) out.rateLimits = { ...state.rateLimits };
        if (Object.keys(out).length > 0) accountsOut.push([name, out]);
      }
      const stickyOut: Array<[string, { account: string; expiresAtMs: number }]> = [];
      for (const [fp, hit] of sticky) {
        if (hit.expiresAtMs > t) stickyOut.push([fp, { account: hit.account, expiresAtMs: hit.expiresAtMs }]);
      }
      return {
        version: 1,
        accounts: Object.fromEntries(accountsOut),
        sticky: Object.fromEntries(stickyOut),
        pinned,
        lastUsed,
        roundRobin,
      };
    },

    restore(snapshot) {
      // Validate everything before touching anything, so a bad snapshot leaves the store as it was.
      const parsed = parseSnapshot(snapshot);
      accounts = parsed.accounts;
      sticky = parsed.sticky;
      stickyEarliestExpiry = -Infinity; // unknown: the next eviction rescans
      pinned = parsed.pinned;
      lastUsed = parsed.lastUsed;
      roundRobin = parsed.roundRobin;
    },
  };

  function evictSticky(): void {
    const t = now();
    // With one TTL for every entry (the usual case) expired entries sit at the head: drop them in
    // O(1) each before considering a full sweep.
    for (const [fp, hit] of sticky) {
      if (hit.expiresAtMs > t) break;
      sticky.delete(fp);
    }
    if (sticky.size < maxSticky) return;
    // TTLs may differ per entry, so expired entries can sit anywhere in the map: sweep them all,
    // but only when one may exist (the sweep also makes the lower bound exact again).
    if (stickyEarliestExpiry <= t) {
      let earliest = Infinity;
      for (const [fp, hit] of sticky) {
        if (hit.expiresAtMs <= t) sticky.delete(fp);
        else if (hit.expiresAtMs < earliest) earliest = hit.expiresAtMs;
      }
      stickyEarliestExpiry = earliest;
    }
    // Then the least recently routed live entries (the head of the insertion order).
    while (sticky.size >= maxSticky) {
      const oldest = sticky.keys().next();
      if (oldest.done === true) return;
      sticky.delete(oldest.value);
    }
  }

  return store;
}

interface AccountState {
  cooldownUntilMs?: number;
  disabledReason?: string;
  rateLimits?: RateLimitInfo;
}

interface StickyEntry {
  readonly account: string;
  readonly expiresAtMs: number;
}

/** Whether a window of `previous` had reset by `updatedMs` (mergeRateLimitInfo drops such a window). */
function rolledOver(previous: RateLimitInfo, updatedMs: number): boolean {
  return (
    (previous.reset5h !== undefined && previous.reset5h * 1000 <= updatedMs) ||
    (previous.reset7d !== undefined && previous.reset7d * 1000 <= updatedMs)
  );
}

/** `next`'s own enumerable fields that are not undefined, written into `target` (as mergeRateLimitInfo does). */
function assignDefined(target: RateLimitInfo, next: RateLimitInfo): void {
  for (const key in next) {
    if (!Object.hasOwn(next, key)) continue;
    const value = next[key as keyof RateLimitInfo];
    if (value !== undefined) (target as unknown as Record<string, unknown>)[key] = value;
  }
}

/** The same own enumerable properties in the same order (as `{ ...info }`), as a fast-mode object. */
function fastCopy(info: RateLimitInfo): RateLimitInfo {
  const out: Record<PropertyKey, unknown> = {};
  for (const key of Reflect.ownKeys(info)) {
    if (!Object.prototype.propertyIsEnumerable.call(info, key)) continue;
    const value = (info as unknown as Record<PropertyKey, unknown>)[key];
    if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    else out[key] = value;
  }
  return out as unknown as RateLimitInfo;
}

function isRejected(status: string | undefined): boolean {
  // Anthropic sends `rejected`; the Rust shunt synthesised `exhausted` for other providers.
  return status === 'rejected' || status === 'exhausted';
}

function parseSnapshot(input: unknown): {
  accounts: Map<string, AccountState>;
  sticky: Map<string, StickyEntry>;
  pinned: string | null;
  lastUsed: string | null;
  roundRobin: number;
} {
  const fail = (path: string, what: string): never => {
    throw new TypeError(`memoryStore.restore: snapshot${path} ${what}`);
  };
  if (!isRecord(input)) return fail('', 'must be an object');
  if (input['version'] !== 1) fail('.version', `must be 1, got ${JSON.stringify(input['version'])}`);

  const accounts = new Map<string, AccountState>();
  const rawAccounts = input['accounts'] ?? {};
  if (!isRecord(rawAccounts)) fail('.accounts', 'must be an object');
  for (const [name, raw] of Object.entries(rawAccounts as Record<string, unknown>)) {
    const at = `.accounts[${JSON.stringify(name)}]`;
    if (!isRecord(raw)) fail(at, 'must be an object');
    const state: AccountState = {};
    const account = raw as Record<string, unknown>;
    if (account['cooldownUntilMs'] !== undefined) {
      state.cooldownUntilMs = finite(account['cooldownUntilMs'], `${at}.cooldownUntilMs`, fail);
    }
    if (account['disabledReason'] !== undefined) {
      if (typeof account['disabledReason'] !== 'string') fail(`${at}.disabledReason`, 'must be a string');
      state.disabledReason = account['disabledReason'] as string;
    }
    if (account['rateLimits'] !== undefined) {
      state.rateLimits = parseRateLimits(account['rateLimits'], `${at}.rateLimits`, fail);
    }
    accounts.set(name, state);
  }

  const sticky = new Map<string, StickyEntry>();
  const rawSticky = input['sticky'] ?? {};
  if (!isRecord(rawSticky)) fail('.sticky', 'must be an object');
  for (const [fp, raw] of Object.entries(rawSticky as Record<string, unknown>)) {
    const at = `.sticky[${JSON.stringify(fp)}]`;
    if (!isRecord(raw) || typeof raw['account'] !== 'string') fail(at, 'must be { account: string, expiresAtMs: number }');
    const hit = raw as Record<string, unknown>;
    sticky.set(fp, { account: hit['account'] as string, expiresAtMs: finite(hit['expiresAtMs'], `${at}.expiresAtMs`, fail) });
  }

  const nullableString = (key: string): string | null => {
    const value = input[key] ?? null;
    if (value !== null && typeof value !== 'string') fail(`.${key}`, 'must be a string or null');
    return value as string | null;
  };
  const roundRobin = input['roundRobin'] ?? 0;
  if (typeof roundRobin !== 'number' || !Number.isSafeInteger(roundRobin) || roundRobin < 0) {
    fail('.roundRobin', 'must be a non-negative integer');
  }
  return {
    accounts,
    sticky,
    pinned: nullableString('pinned'),
    lastUsed: nullableString('lastUsed'),
    roundRobin: roundRobin as number,
  };
}

function parseRateLimits(
  raw: unknown,
  at: string,
  fail: (path: string, what: string) => never,
): RateLimitInfo {
  if (!isRecord(raw)) return fail(at, 'must be an object');
  const info: { -readonly [K in keyof RateLimitInfo]: RateLimitInfo[K] } = {
    updatedMs: finite(raw['updatedMs'], `${at}.updatedMs`, fail),
  };
  for (const key of ['utilization5h', 'reset5h', 'utilization7d', 'reset7d'] as const) {
    if (raw[key] !== undefined) info[key] = finite(raw[key], `${at}.${key}`, fail);
  }
  for (const key of ['status5h', 'status7d', 'overageStatus', 'overageDisabledReason', 'representativeClaim'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') fail(`${at}.${key}`, 'must be a string');
    info[key] = value as string;
  }
  return info;
}

function finite(value: unknown, at: string, fail: (path: string, what: string) => never): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(at, `must be a finite number, got ${JSON.stringify(value)}`);
  return value as number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
