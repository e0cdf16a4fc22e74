/**
 * A `StateStore` with only the required methods, on three Maps: the starting point for a store of
 * your own (Durable Objects storage, SQLite, DynamoDB, …). Core fills in every optional method
 * (`completeStore`); `describeStateStore` from `@shunt/core/testing` holds it to the contract.
 * docs/architecture.md ("Write your own store") shows this file.
 */
import { mergeRateLimitInfo, type RateLimitInfo, type StateStore } from '@shunt/core';

/** No response justifies a cooldown longer than a week plus 10 minutes. */
const MAX_COOLDOWN_MS = 7 * 86_400_000 + 600_000;

/** A store on plain Maps, reading time from `now`. */
export function mapStore(now: () => number = Date.now): StateStore {
  const limits = new Map<string, RateLimitInfo>();
  const cooldowns = new Map<string, number>();
  const sticky = new Map<string, { account: string; expiresAtMs: number }>();
  return {
    now,

    rateLimits: (name) => {
      const info = limits.get(name);
      return info === undefined ? null : { ...info };
    },
    updateRateLimits: (name, info) => {
      limits.set(name, mergeRateLimitInfo(limits.get(name), info));
    },

    cooldownUntilMs: (name) => {
      const untilMs = cooldowns.get(name);
      return untilMs !== undefined && untilMs > now() ? untilMs : null;
    },
    setCooldown: (name, ms) => {
      if (!Number.isFinite(ms)) throw new RangeError(`setCooldown: ms must be finite, got ${String(ms)}`);
      const untilMs = now() + Math.min(Math.max(0, ms), MAX_COOLDOWN_MS);
      // The later deadline wins: a short cooldown never cuts a long one short.
      if (untilMs > (cooldowns.get(name) ?? Number.NEGATIVE_INFINITY)) cooldowns.set(name, untilMs);
    },
    clearCooldown: (name) => {
      cooldowns.delete(name);
    },

    getSticky: (fingerprint) => {
      const hit = sticky.get(fingerprint);
      return hit !== undefined && hit.expiresAtMs > now() ? hit.account : null;
    },
    setSticky: (fingerprint, account, ttlMs) => {
      if (!Number.isFinite(ttlMs)) throw new RangeError(`setSticky: ttlMs must be finite, got ${String(ttlMs)}`);
      sticky.set(fingerprint, { account, expiresAtMs: now() + ttlMs });
    },
  };
}
