/**
 * @module
 * The {@link StateStore} seam: everything the router remembers about accounts and conversations.
 */
import type { RateLimitInfo } from '../rate-limits.js';

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
export interface StateStore {
  /** The store's clock, in epoch milliseconds. */
  now(): number;

  /** True unless the account is disabled or cooling down. Exhaustion is checked separately. */
  isAvailable(name: string): boolean;
  /**
   * True when a window's status is `rejected` (or `exhausted`) and that window's reset is still
   * in the future, counting a reset at most the window's length + 10 min after the record's
   * `updatedMs`; false while `overageStatus` is `allowed`/`allowed_warning` (served on overage).
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
   * Cool the account for `ms` milliseconds from {@link StateStore.now}, at most 7 d + 10 min. When a
   * cooldown is already running, the later deadline wins, so a short cooldown never cuts a long one
   * short (`recordResponse` clears one first when it stood on a bogus reset).
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
  cooldownUntilMs(name: string): number | null;

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
