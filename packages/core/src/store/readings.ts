/**
 * @module
 * What a stored rate-limit record says at an instant: the readings behind the optional
 * `StateStore` methods. `memoryStore` answers with them, and `completeStore` derives them for a
 * store that has only `rateLimits`, so both give the same answers by construction.
 *
 * Internal: not exported from the package's barrel.
 */
import { cappedResetSecs, isOnOverage, isWindowExhausted, type RateLimitInfo } from '../rate-limits.js';

/** Whether the record keeps the account out at `nowMs` (see `StateStore.isExhausted`). */
export function isExhaustedAt(info: RateLimitInfo, nowMs: number): boolean {
  // isWindowExhausted reads the status first: the usual record needs no reset arithmetic.
  if (!isWindowExhausted(info, '5h', nowMs) && !isWindowExhausted(info, '7d', nowMs)) return false;
  // A rejected window Anthropic still serves on overage: the account answers (at a cost), so it
  // stays eligible, and reads as full (utilization ≥ 1) so every strategy leaves it for last.
  return !isOnOverage(info, nowMs);
}

/**
 * A window's utilization at `nowMs`: 0 once its (capped) reset has passed, at least 1 while it is
 * rejected but served on overage. Runs for every candidate of every pick: the usual record (no
 * overage) costs the capped reset and three comparisons.
 */
export function utilizationAt(info: RateLimitInfo, window: '5h' | '7d', nowMs: number): number {
  // A window whose reset has passed has rolled over: whatever it said is stale. An unknown reset
  // never passes.
  if ((cappedResetSecs(info, window) ?? Number.POSITIVE_INFINITY) * 1000 <= nowMs) return 0;
  const utilization = (window === '5h' ? info.utilization5h : info.utilization7d) ?? 0;
  const overage = info.overageStatus;
  // No overage status (the usual record) is neither of the two that serve a rejected window.
  if (utilization >= 1 || (overage !== 'allowed' && overage !== 'allowed_warning')) return utilization;
  return isWindowExhausted(info, window, nowMs) ? 1 : utilization;
}

/** A window's (capped) reset in epoch seconds, or null when unknown or no longer ahead of `nowMs`. */
export function resetSecsAt(info: RateLimitInfo, window: '5h' | '7d', nowMs: number): number | null {
  const reset = cappedResetSecs(info, window);
  if (reset === undefined || reset * 1000 <= nowMs) return null;
  return reset;
}
