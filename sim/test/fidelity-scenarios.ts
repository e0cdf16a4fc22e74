/**
 * The fidelity scenarios (issue 11): each one is a situation where a naive model of Anthropic
 * gives a different answer from the truth.
 */
import { DEFAULT_TOKEN_WEIGHTS, type TokenWeights } from '../src/model/costs.js';
import type { Scenario } from './fidelity-harness.js';

const DAY = 86_400_000;
const MONDAY = Date.UTC(2026, 0, 5);

/** Every family priced like Sonnet, and Haiku's output dearer: nothing like list prices. */
const FLAT_FAMILY_WEIGHTS: TokenWeights = {
  opus: DEFAULT_TOKEN_WEIGHTS.sonnet,
  sonnet: DEFAULT_TOKEN_WEIGHTS.sonnet,
  haiku: { ...DEFAULT_TOKEN_WEIGHTS.haiku, output: DEFAULT_TOKEN_WEIGHTS.haiku.output * 3 },
};

/** The scenarios, by name. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'unequal-plans': { seed: 11, days: 2, users: 4, pool: [{ plan: 'pro' }, { plan: 'max20' }] },
  'weekly-expiring': {
    seed: 12,
    days: 2,
    users: 3,
    pool: [
      { plan: 'max5', weeklyResetInMs: 1.2 * DAY, startUtilization7d: 0.3 },
      { plan: 'max5', weeklyResetInMs: 5.5 * DAY, startUtilization7d: 0.6 },
    ],
  },
  'busy-zero-tokens': { seed: 13, days: 1, users: 7, accounts: 4, capacityScale: { window5h: 0.2, window7d: 0.5 }, rateLimitedTokens: 'zero' },
  'cache-1h-round-robin': { seed: 14, days: 2, users: 4, accounts: 3, cacheTtl: '1h', strategy: 'carousel', capacityScale: { window5h: 0.3, window7d: 0.6 } },
  'cache-1h-sticky': { seed: 15, days: 2, users: 4, accounts: 3, cacheTtl: '1h', strategy: 'maximus', stickyTtlMs: 3_600_000, capacityScale: { window5h: 0.3, window7d: 0.6 } },
  'family-weights': { seed: 16, days: 2, users: 4, accounts: 2, weights: FLAT_FAMILY_WEIGHTS, capacityScale: { window5h: 0.35, window7d: 0.7 } },
  'one-hour': {
    seed: 17,
    days: 1,
    users: 6,
    accounts: 2,
    capacityScale: { window5h: 0.06, window7d: 0.5 },
    recordWindow: { fromMs: MONDAY + 8.5 * 3_600_000, toMs: MONDAY + 9.5 * 3_600_000 },
  },
  'out-of-order': { seed: 18, days: 2, users: 4, accounts: 3, writeDelayMs: 8 * 60_000, capacityScale: { window5h: 0.35, window7d: 0.7 } },
};
