/**
 * @module
 * Where each conversation's prompt cache is live: per conversation, each account's expiry. The
 * replay and the self-check keep one each, so a request that lands where its conversation's cache
 * is live reads its prefix, and one that lands elsewhere writes it again.
 */

/** No prompt cache outlives this (the longest TTL Anthropic offers is 1 hour). */
const LONGEST_CACHE_TTL_MS = 60 * 60_000;

/** Per conversation, the instant each account's copy of its cache expires (0: never cached there). */
export interface PromptCacheState {
  /** The expiries of `session`'s cache by account index, to read and update in place. */
  get(session: string, nowMs: number): Float64Array;
}

/**
 * Create the state for a pool of `accounts` accounts. Two generations of maps, the older dropped
 * whole once every cache in it has expired, bound memory to the conversations of the last two hours.
 */
export function createPromptCacheState(accounts: number): PromptCacheState {
  let current = new Map<string, Float64Array>();
  let older = new Map<string, Float64Array>();
  let rotateAtMs = Number.NaN;
  return {
    get(session, nowMs) {
      if (Number.isNaN(rotateAtMs)) rotateAtMs = nowMs + LONGEST_CACHE_TTL_MS;
      if (nowMs >= rotateAtMs) {
        older = nowMs - rotateAtMs >= LONGEST_CACHE_TTL_MS ? new Map() : current;
        current = new Map();
        rotateAtMs = nowMs + LONGEST_CACHE_TTL_MS;
      }
      let expiries = current.get(session);
      if (expiries === undefined) {
        expiries = older.get(session) ?? new Float64Array(accounts);
        current.set(session, expiries);
      }
      return expiries;
    },
  };
}
