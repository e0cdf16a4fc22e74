/**
 * @module
 * `@shunt/core/testing`: the suites and property laws every built-in strategy and store passes,
 * published so that a gateway's own CI can hold its custom {@link Strategy} or its own
 * {@link StateStore} (Durable Objects, SQLite, DynamoDB, …) to the same invariants.
 *
 * Needs `vitest` (4.1) and `fast-check` (4.x) as peer dependencies; the main `@shunt/core` entry
 * needs neither.
 *
 * @example
 * ```ts
 * // weekly-first.test.ts
 * import { describeStrategy } from '@shunt/core/testing';
 * import { weeklyFirst } from './weekly-first.js';
 *
 * describeStrategy(weeklyFirst);
 * ```
 */
import type { StateStore } from '../store/types.js';
import type { Strategy } from '../strategies/types.js';

export { describeStrategy } from './strategy-conformance.js';
export { describeStateStore } from './store-conformance.js';
export type { DescribeStateStoreOptions, TestClock } from './store-conformance.js';
export { cloneStore, eligibleNames, poolScenarioArb, rateLimitsArb, storeFor } from './pool-arbitraries.js';
export type { AccountState, PoolScenario } from './pool-arbitraries.js';
export {
  lawNeverPicksIneligible,
  lawNullIffNoneEligible,
  lawPickAndExplainAgree,
  lawPinnedWinsWhenEligible,
  lawSameStateSamePick,
  lawStickyStaysPut,
  optionsFor,
} from './laws.js';

/** Only here so the module's JSDoc links resolve. */
export type { StateStore, Strategy };
