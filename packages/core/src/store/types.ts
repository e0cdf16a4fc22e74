/**
 * @module
 * The {@link StateStore} seam: everything the router remembers about accounts and conversations.
 */
import type { RateLimitInfo } from '../rate-limits.js';

/**
 * What the router remembers: rate-limit records, cooldowns and the sticky map are **required**;
 * everything else is **optional**, with a fallback that core implements once (see
 * `completeStore`), so a third-party store (Durable Objects, SQLite, DynamoDB, …) can be eight
 * methods long.
 *
 * - Optional *readings* (`isAvailable`, `isExhausted`, `utilization5h`, `utilization7d`,
 *   `reset5hSecs`, `reset7dSecs`) are derived from `rateLimits`, `cooldownUntilMs` and `now` when
 *   absent. A store that has one must return exactly what the fallback would (it is a shortcut,
 *   not a policy); `describeStateStore` checks this.
 * - Optional *state* (the disabled flags, the pin, the last-used account, the round-robin
 *   counter, the fault counts) falls back to this process's memory when absent: correct for one
 *   process, not shared between several. Paired methods come as a whole group or not at all
 *   (`disable` + `enable` + `disabledReason`, `getPinned` + `setPinned`, `getLastUsed` +
 *   `setLastUsed`).
 *
 * Every method is synchronous so that `pickAccount` stays a pure, synchronous decision. A store
 * shared across machines keeps a local replica that reads are served from and writes through to
 * the shared backend (see docs/architecture.md). All time comes from {@link StateStore.now}, so a
 * simulator can drive a store on a virtual clock.
 *
 * Account names are opaque strings; a store never needs to know the account list.
 */
export interface StateStore {
  /** Required. The store's clock, in epoch milliseconds. */
  now(): number;

  /** Required. The stored rate-limit record as last merged, or null when none was ever seen. */
  rateLimits(name: string): RateLimitInfo | null;
  /**
   * Required. Merge a freshly parsed record into the stored one, field by field, as
   * `mergeRateLimitInfo` does (a window whose reset has passed by `info.updatedMs` is dropped).
   */
  updateRateLimits(name: string, info: RateLimitInfo): void;

  /** Required. The running cooldown's deadline in epoch milliseconds, or null when not cooling. */
  cooldownUntilMs(name: string): number | null;
  /**
   * Required. Cool the account for `ms` milliseconds from {@link StateStore.now}, at most
   * 7 d + 10 min; a non-finite `ms` throws a `RangeError`. When a cooldown is already running,
   * the later deadline wins, so a short cooldown never cuts a long one short (`recordResponse`
   * clears one first when it stood on a bogus reset).
   */
  setCooldown(name: string, ms: number): void;
  /**
   * Required. End any cooldown now. `recordResponse` calls it when a cooldown stood on a bogus reset
   * that a later response corrects (the later-deadline rule would otherwise keep it).
   */
  clearCooldown(name: string): void;

  /** Required. The account a conversation is stuck to, or null when none or expired. */
  getSticky(fingerprint: string): string | null;
  /**
   * Required. Stick a conversation to an account for `ttlMs` from now (replacing any earlier
   * entry); a non-finite `ttlMs` throws a `RangeError`. A store may forget entries early to bound
   * its memory (the memory store keeps the 10 000 most recently routed).
   */
  setSticky(fingerprint: string, name: string, ttlMs: number): void;

  /**
   * Optional. True unless the account is disabled or cooling down (exhaustion is checked
   * separately). Fallback: `disabledReason(name) === null && cooldownUntilMs(name) === null`.
   */
  isAvailable?(name: string): boolean;
  /**
   * Optional. True when a window's status is `rejected` (or `exhausted`) and that window's reset
   * is still in the future, counting a reset at most the window's length + 10 min after the
   * record's `updatedMs`; false while `overageStatus` is `allowed`/`allowed_warning` (served on
   * overage). Fallback: computed from `rateLimits(name)` and `now()`.
   */
  isExhausted?(name: string): boolean;
  /**
   * Optional. 5-hour utilization; 0 when unknown or when the window's (capped) reset has passed;
   * at least 1 while the window is rejected but served on overage. Fallback: computed from
   * `rateLimits(name)` and `now()`.
   */
  utilization5h?(name: string): number;
  /** Optional. Weekly utilization, as {@link StateStore.utilization5h}. Fallback: computed from `rateLimits(name)` and `now()`. */
  utilization7d?(name: string): number;
  /**
   * Optional. The 5-hour reset in epoch seconds (capped at the window's length + 10 min after the
   * record's `updatedMs`), or null when unknown or already past. Fallback: computed from
   * `rateLimits(name)` and `now()`.
   */
  reset5hSecs?(name: string): number | null;
  /** Optional. The weekly reset in epoch seconds, as {@link StateStore.reset5hSecs}. Fallback: computed from `rateLimits(name)` and `now()`. */
  reset7dSecs?(name: string): number | null;

  /**
   * Optional. Record that the request `requestKey` failed on the account now, and return how many
   * distinct requests failed on it within the last `windowMs` milliseconds (this one included; a
   * failure exactly `windowMs` old still counts). A request that fails again counts once, at its
   * latest failure. Changes nothing else: `recordResponse` decides whether the count cools the
   * account. Memory stays bounded: a store may forget all but the 64 most recent requests per
   * account, and may forget failures older than the window. A store shared across machines counts
   * what its replica has heard of so far. Fallback: counted in this process's memory.
   */
  recordFault?(name: string, requestKey: string, windowMs: number): number;

  /**
   * Optional, with {@link StateStore.enable} and {@link StateStore.disabledReason}. Take the
   * account out of routing until `enable`; `reason` is kept for status views. Fallback: kept in
   * this process's memory.
   */
  disable?(name: string, reason?: string): void;
  /** Optional, with `disable` and `disabledReason`. Put a disabled account back into routing. Fallback: this process's memory. */
  enable?(name: string): void;
  /** Optional, with `disable` and `enable`. Why the account is disabled, or null when it is not. Fallback: this process's memory. */
  disabledReason?(name: string): string | null;

  /** Optional, with {@link StateStore.setPinned}. The pinned account name, or null for automatic routing. Fallback: this process's memory. */
  getPinned?(): string | null;
  /** Optional, with `getPinned`. Pin every request to one account, or pass null to return to automatic routing. Fallback: this process's memory. */
  setPinned?(name: string | null): void;

  /** Optional, with {@link StateStore.setLastUsed}. The last account that served a request successfully, or null. Fallback: this process's memory. */
  getLastUsed?(): string | null;
  /** Optional, with `getLastUsed`. Record the account that just served a request successfully. Fallback: this process's memory. */
  setLastUsed?(name: string): void;

  /** Optional. Fetch-and-increment the round-robin counter (starts at 0). Fallback: a counter in this process's memory. */
  nextRoundRobin?(): number;
}

/**
 * A {@link StateStore} with every optional method present: what `completeStore` returns, what
 * strategies read through `StrategyContext.store`, and what `memoryStore()` already is.
 */
export type CompleteStateStore = Required<StateStore>;
