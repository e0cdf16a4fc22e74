/**
 * @module
 * When an attempt reached its account. A recorder writes the request's arrival as `ts` on every
 * row (the proxy does), but a request held until a window reset was charged later, in the window
 * its reading reports. That window opened no earlier than its reset minus its length; resets are
 * rounded up and jittered by a second or two, so the rows of one window carry slightly different
 * resets. Each account's first reset seen for a window stands for all of them: the requests
 * released together from a hold then share one instant, and their readings give their order.
 */
import { WINDOW_5H_SECS, WINDOW_7D_SECS } from '@shunt/core';

/** Resets further apart than this belong to different windows. */
const SAME_WINDOW_SECS = 600;


/** Maps a row to the instant its attempt was charged. */
export interface AttemptClock {
  /** The attempt time of a row of `account` with arrival `tsMs` and the resets it reports. */
  at(account: string, tsMs: number, reset5hSecs: number | undefined, reset7dSecs: number | undefined): number;
}

/**
 * Create a clock (rows should come roughly in arrival order, as a reorder buffer hands them out).
 * `openedByRowMs`: a window that opened at most this long after a row's ts counts as opened by
 * that row (kept at ts). 0 maps every row before its window's opening to the opening, which
 * orders a window's rows by their readings alone. @default 0
 */
export function createAttemptClock(openedByRowMs = 0): AttemptClock {
  const canonical = new Map<string, { r5: number; r7: number }>();
  const settle = (known: number, reset: number | undefined): number =>
    reset === undefined ? known : Number.isNaN(known) || Math.abs(reset - known) > SAME_WINDOW_SECS ? reset : known;
  return {
    at(account, tsMs, reset5hSecs, reset7dSecs) {
      let resets = canonical.get(account);
      if (resets === undefined) {
        resets = { r5: Number.NaN, r7: Number.NaN };
        canonical.set(account, resets);
      }
      resets.r5 = settle(resets.r5, reset5hSecs);
      resets.r7 = settle(resets.r7, reset7dSecs);
      let atMs = tsMs;
      if (reset5hSecs !== undefined) atMs = later(atMs, tsMs, (resets.r5 - WINDOW_5H_SECS) * 1000, openedByRowMs);
      if (reset7dSecs !== undefined) atMs = later(atMs, tsMs, (resets.r7 - WINDOW_7D_SECS) * 1000, openedByRowMs);
      return atMs;
    },
  };
}

/** `openedMs` when the window opened more than `toleranceMs` after `tsMs` (the request waited), else `atMs`. */
function later(atMs: number, tsMs: number, openedMs: number, toleranceMs: number): number {
  return openedMs - tsMs > toleranceMs ? Math.max(atMs, openedMs) : atMs;
}
