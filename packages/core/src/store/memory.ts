/**
 * @module
 * `memoryStore()`: the in-process `StateStore`, with every optional method,, on an injected clock, bounded, and
 * serialisable to plain JSON.
 */
import { MAX_COOLDOWN_MS, mergeRateLimitInfo, type RateLimitInfo } from '../rate-limits.js';
import { isExhaustedAt, resetSecsAt, utilizationAt } from './readings.js';
import type { CompleteStateStore } from './types.js';

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

/** A {@link CompleteStateStore} that lives in process memory and can be saved and restored as JSON. */
export interface MemoryStore extends CompleteStateStore {
  /**
   * A plain-JSON copy of everything worth keeping (expired sticky entries and cooldowns dropped;
   * fault counts, which matter for a minute at most, are left out).
   */
  snapshot(): MemoryStoreSnapshot;
  /**
   * Replace the store's contents with a snapshot (for example one read back from disk). A
   * cooldown ending more than 7 d + 10 min from now (one no response can justify) is dropped.
   * Throws a `TypeError` naming the offending field when `snapshot` is not a valid snapshot,
   * and leaves the store unchanged in that case.
   */
  restore(snapshot: unknown): void;
}

/**
 * Create an in-memory {@link MemoryStore}: every `StateStore` method, plus snapshot and restore.
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
  // Sticky entries by fingerprint, each also linked into a list in least-recently-routed order
  // (oldest first), which makes eviction O(1). Routing a conversation again (the usual case) moves
  // its entry to the newest end by relinking it: re-inserting into the Map instead (delete + set)
  // cost several times more on a large map, whose hash table fills with deleted slots and rehashes.
  let sticky = new Map<string, StickyEntry>();
  let oldest: StickyEntry | null = null;
  let newest: StickyEntry | null = null;
  // A lower bound on the earliest sticky expiry: while it is in the future nothing has expired,
  // so a full store evicts without scanning for expired entries.
  let stickyEarliestExpiry = Infinity;
  let pinned: string | null = null;
  let lastUsed: string | null = null;
  let roundRobin = 0;
  // Failing requests per account: request key → when it last failed, in the order last recorded.
  // Kept small: pruned to the window on every call and capped at MAX_FAULTS_PER_ACCOUNT.
  let faults = new Map<string, Map<string, number>>();

  const entry = (name: string): AccountState => {
    let state = accounts.get(name);
    if (state === undefined) {
      state = {};
      accounts.set(name, state);
    }
    return state;
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
      return info !== undefined && isExhaustedAt(info, now());
    },

    utilization5h: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return info === undefined ? 0 : utilizationAt(info, '5h', now());
    },
    utilization7d: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return info === undefined ? 0 : utilizationAt(info, '7d', now());
    },
    reset5hSecs: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return info === undefined ? null : resetSecsAt(info, '5h', now());
    },
    reset7dSecs: (name) => {
      const info = accounts.get(name)?.rateLimits;
      return info === undefined ? null : resetSecsAt(info, '7d', now());
    },
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
        mergeInPlace(previous, info);
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
      // No response justifies more than a week (plus margin): a longer cooldown is a bug upstream.
      const until = now() + Math.min(Math.max(0, ms), MAX_COOLDOWN_MS);
      if (state.cooldownUntilMs === undefined || until > state.cooldownUntilMs) state.cooldownUntilMs = until;
    },
    recordFault(name, requestKey, windowMs) {
      if (Number.isNaN(windowMs) || windowMs < 0) throw new RangeError(`recordFault: windowMs must be >= 0, got ${String(windowMs)}`);
      const t = now();
      let failed = faults.get(name);
      if (failed === undefined) {
        failed = new Map();
        faults.set(name, failed);
      }
      const previous = failed.get(requestKey);
      failed.delete(requestKey);
      failed.set(requestKey, previous === undefined || t > previous ? t : previous);
      for (const [key, atMs] of failed) if (t - atMs > windowMs) failed.delete(key);
      if (failed.size > MAX_FAULTS_PER_ACCOUNT) {
        // By time, not by Map order: a replica merges other instances' failures out of order.
        let oldestKey = requestKey;
        let oldestMs = Infinity;
        for (const [key, atMs] of failed) {
          if (atMs < oldestMs) {
            oldestKey = key;
            oldestMs = atMs;
          }
        }
        failed.delete(oldestKey);
      }
      return failed.size;
    },
    clearCooldown(name) {
      const state = accounts.get(name);
      if (state !== undefined) delete state.cooldownUntilMs;
    },
    cooldownUntilMs(name) {
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
        forgetSticky(hit);
        return null;
      }
      return hit.account;
    },
    setSticky(fingerprint, name, ttlMs) {
      // NaN would never expire and Infinity would not survive a JSON snapshot.
      if (!Number.isFinite(ttlMs)) throw new RangeError(`setSticky: ttlMs must be finite, got ${String(ttlMs)}`);
      let hit = sticky.get(fingerprint);
      // Only a restored snapshot larger than maxStickyEntries holds more than the cap: the entry
      // routed again then goes through eviction like a new one, as if it had been removed first.
      if (hit !== undefined && sticky.size > maxSticky) {
        forgetSticky(hit);
        hit = undefined;
      }
      if (hit === undefined) {
        if (sticky.size >= maxSticky) evictSticky();
        hit = { fingerprint, account: name, expiresAtMs: now() + ttlMs, older: null, newer: null };
        sticky.set(fingerprint, hit);
        linkNewest(hit);
      } else {
        // A conversation routed again: updated and moved in place, no Map write and no allocation.
        hit.account = name;
        hit.expiresAtMs = now() + ttlMs;
        if (hit !== newest) {
          unlink(hit);
          linkNewest(hit);
        }
      }
      if (hit.expiresAtMs < stickyEarliestExpiry) stickyEarliestExpiry = hit.expiresAtMs;
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
      // Fresh objects: the store's entries are mutable and must not leak out.
      const stickyOut: Array<[string, { account: string; expiresAtMs: number }]> = [];
      for (let hit = oldest; hit !== null; hit = hit.newer) {
        if (hit.expiresAtMs > t) stickyOut.push([hit.fingerprint, { account: hit.account, expiresAtMs: hit.expiresAtMs }]);
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
      const parsed = parseSnapshot(snapshot, now());
      accounts = parsed.accounts;
      faults = new Map();
      sticky = new Map();
      oldest = null;
      newest = null;
      // In snapshot order, which is least-recently-routed order.
      for (const hit of parsed.sticky) {
        sticky.set(hit.fingerprint, hit);
        linkNewest(hit);
      }
      stickyEarliestExpiry = -Infinity; // unknown: the next eviction rescans
      pinned = parsed.pinned;
      lastUsed = parsed.lastUsed;
      roundRobin = parsed.roundRobin;
    },
  };

  function evictSticky(): void {
    const t = now();
    // With one TTL for every entry (the usual case) expired entries sit at the oldest end: drop
    // them in O(1) each before considering a full sweep.
    while (oldest !== null && oldest.expiresAtMs <= t) forgetSticky(oldest);
    if (sticky.size < maxSticky) return;
    // TTLs may differ per entry, so expired entries can sit anywhere in the list: sweep them all,
    // but only when one may exist (the sweep also makes the lower bound exact again).
    if (stickyEarliestExpiry <= t) {
      let earliest = Infinity;
      for (let hit = oldest; hit !== null; ) {
        const newer: StickyEntry | null = hit.newer;
        if (hit.expiresAtMs <= t) forgetSticky(hit);
        else if (hit.expiresAtMs < earliest) earliest = hit.expiresAtMs;
        hit = newer;
      }
      stickyEarliestExpiry = earliest;
    }
    // Then the least recently routed live entries.
    while (sticky.size >= maxSticky && oldest !== null) forgetSticky(oldest);
  }

  function forgetSticky(hit: StickyEntry): void {
    sticky.delete(hit.fingerprint);
    unlink(hit);
  }

  function linkNewest(hit: StickyEntry): void {
    hit.older = newest;
    hit.newer = null;
    if (newest === null) oldest = hit;
    else newest.newer = hit;
    newest = hit;
  }

  function unlink(hit: StickyEntry): void {
    if (hit.older === null) oldest = hit.newer;
    else hit.older.newer = hit.newer;
    if (hit.newer === null) newest = hit.older;
    else hit.newer.older = hit.older;
  }

  return store;
}

/** Distinct failing requests remembered per account (the most `accountFaultRequests` may ask for). */
const MAX_FAULTS_PER_ACCOUNT = 64;

interface AccountState {
  cooldownUntilMs?: number;
  disabledReason?: string;
  rateLimits?: RateLimitInfo;
}

/** A remembered conversation, and its place in the store's least-recently-routed list. */
interface StickyEntry {
  readonly fingerprint: string;
  account: string;
  expiresAtMs: number;
  /** The entry routed just before this one, or null for the oldest. */
  older: StickyEntry | null;
  /** The entry routed just after this one, or null for the newest. */
  newer: StickyEntry | null;
}

/** Whether a window of `previous` had reset by `updatedMs` (mergeRateLimitInfo drops such a window). */
function rolledOver(previous: RateLimitInfo, updatedMs: number): boolean {
  return (
    (previous.reset5hSecs !== undefined && previous.reset5hSecs * 1000 <= updatedMs) ||
    (previous.reset7dSecs !== undefined && previous.reset7dSecs * 1000 <= updatedMs)
  );
}

/**
 * Merge `next` into `target`, where no window of `target` has rolled over, leaving `target` equal
 * to `mergeRateLimitInfo(target, next)`: the same keys with the same values, in the same order.
 *
 * Runs for every upstream response. Usually the response carries the same headers as the last
 * one, so every field it defines is already on the record: each is overwritten with a named
 * property write, which keeps the record's key order and hidden class, and costs a fraction of
 * the generic loop's keyed reads and writes. A field new to the record, or a key RateLimitInfo
 * does not declare (a caller may pass a wider object; `mergeRateLimitInfo` copies such keys, so
 * this does too), ends in the generic loop, which appends keys in `next`'s order as
 * `mergeRateLimitInfo` does; the fields already written are written again with the same values.
 * Assumes own enumerable data properties, as parseRateLimitHeaders and object literals make.
 */
function mergeInPlace(target: RateLimitInfo, next: RateLimitInfo): void {
  // mergeRateLimitInfo ignores inherited keys, but reading a field by name would see them.
  const proto: unknown = Object.getPrototypeOf(next);
  if (proto !== Object.prototype && proto !== null) return assignDefined(target, next);
  let written = 0;
  if (next.utilization5h !== undefined) {
    if (target.utilization5h === undefined) return assignDefined(target, next);
    target.utilization5h = next.utilization5h;
    written++;
  }
  if (next.reset5hSecs !== undefined) {
    if (target.reset5hSecs === undefined) return assignDefined(target, next);
    target.reset5hSecs = next.reset5hSecs;
    written++;
  }
  if (next.status5h !== undefined) {
    if (target.status5h === undefined) return assignDefined(target, next);
    target.status5h = next.status5h;
    written++;
  }
  if (next.utilization7d !== undefined) {
    if (target.utilization7d === undefined) return assignDefined(target, next);
    target.utilization7d = next.utilization7d;
    written++;
  }
  if (next.reset7dSecs !== undefined) {
    if (target.reset7dSecs === undefined) return assignDefined(target, next);
    target.reset7dSecs = next.reset7dSecs;
    written++;
  }
  if (next.status7d !== undefined) {
    if (target.status7d === undefined) return assignDefined(target, next);
    target.status7d = next.status7d;
    written++;
  }
  if (next.overageStatus !== undefined) {
    if (target.overageStatus === undefined) return assignDefined(target, next);
    target.overageStatus = next.overageStatus;
    written++;
  }
  if (next.overageDisabledReason !== undefined) {
    if (target.overageDisabledReason === undefined) return assignDefined(target, next);
    target.overageDisabledReason = next.overageDisabledReason;
    written++;
  }
  if (next.representativeClaim !== undefined) {
    if (target.representativeClaim === undefined) return assignDefined(target, next);
    target.representativeClaim = next.representativeClaim;
    written++;
  }
  if (next.updatedMs !== undefined) {
    if (target.updatedMs === undefined) return assignDefined(target, next);
    target.updatedMs = next.updatedMs;
    written++;
  }
  // More keys than defined fields: a key RateLimitInfo does not declare (or one set to undefined).
  let keys = 0;
  for (const _ in next) keys++;
  if (keys !== written) assignDefined(target, next);
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

function parseSnapshot(input: unknown, nowMs: number): {
  accounts: Map<string, AccountState>;
  /** Unlinked, in snapshot order. */
  sticky: StickyEntry[];
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
      const until = finite(account['cooldownUntilMs'], `${at}.cooldownUntilMs`, fail);
      // A deadline further ahead than any response can justify was made from a bogus reset (older
      // versions did not cap them): it says nothing, so it is dropped. A rejected window in the
      // record still keeps the account out, until its capped reset.
      if (until <= nowMs + MAX_COOLDOWN_MS) state.cooldownUntilMs = until;
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

  const sticky: StickyEntry[] = [];
  const rawSticky = input['sticky'] ?? {};
  if (!isRecord(rawSticky)) fail('.sticky', 'must be an object');
  for (const [fp, raw] of Object.entries(rawSticky as Record<string, unknown>)) {
    const at = `.sticky[${JSON.stringify(fp)}]`;
    if (!isRecord(raw) || typeof raw['account'] !== 'string') fail(at, 'must be { account: string, expiresAtMs: number }');
    const hit = raw as Record<string, unknown>;
    const expiresAtMs = finite(hit['expiresAtMs'], `${at}.expiresAtMs`, fail);
    sticky.push({ fingerprint: fp, account: hit['account'] as string, expiresAtMs, older: null, newer: null });
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
  for (const key of ['utilization5h', 'reset5hSecs', 'utilization7d', 'reset7dSecs'] as const) {
    if (raw[key] !== undefined) info[key] = finite(raw[key], `${at}.${key}`, fail);
  }
  // Snapshots written before 1.0 named the resets `reset5h` / `reset7d`.
  for (const [legacy, key] of LEGACY_RESET_KEYS) {
    if (raw[legacy] !== undefined && info[key] === undefined) info[key] = finite(raw[legacy], `${at}.${legacy}`, fail);
  }
  for (const key of ['status5h', 'status7d', 'overageStatus', 'overageDisabledReason', 'representativeClaim'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') fail(`${at}.${key}`, 'must be a string');
    info[key] = value as string;
  }
  // A bogus reset saved by an older version is kept as Anthropic sent it: every read caps it
  // relative to `updatedMs` (see cappedResetSecs), so a snapshot still round-trips exactly.
  return info;
}

const LEGACY_RESET_KEYS = [
  ['reset5h', 'reset5hSecs'],
  ['reset7d', 'reset7dSecs'],
] as const;

function finite(value: unknown, at: string, fail: (path: string, what: string) => never): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(at, `must be a finite number, got ${JSON.stringify(value)}`);
  return value as number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
