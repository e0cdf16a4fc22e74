/**
 * @module
 * The {@link Strategy} seam: how one account is chosen among the eligible candidates.
 */
import type { CompleteStateStore } from '../store/types.js';

/** Anything with a name can be routed to; the router hands the same object back. */
export interface Account {
  /** Unique account name (the key every store uses). */
  readonly name: string;
}

/** What a strategy may look at when it chooses. */
export interface StrategyContext {
  /**
   * The store holding every account's windows, cooldowns and the round-robin counter, with every
   * optional method present (`pickAccount` hands strategies `completeStore(store)`).
   */
  readonly store: CompleteStateStore;
  /** The decision's instant, in epoch milliseconds (the store's clock). */
  readonly nowMs: number;
  /** Horizon under which a window counts as "expiring soon" (Reaper), in seconds. */
  readonly expirySoonSecs: number;
}

/** One value a strategy reports about a candidate, for logs and the simulator. */
export type ExplainValue = number | string | boolean | null;

/**
 * A routing strategy. `pick` receives only eligible candidates (not tried, not cooling, not
 * disabled, not exhausted), in config order, never empty, and returns one of them.
 *
 * @example
 * ```ts
 * const firstFit: Strategy = {
 *   name: 'first-fit',
 *   pick: (candidates) => candidates[0],
 * };
 * ```
 */
export interface Strategy {
  /** Name used in config, logs and simulator reports. */
  readonly name: string;
  /** Choose one of `candidates` (never empty). Returning anything else is a bug the router reports. */
  pick<A extends Account>(candidates: readonly [A, ...A[]], context: StrategyContext): A;
  /**
   * The inputs this strategy weighed for one candidate (a score, the binding window, …), shown in
   * decision explanations. Optional; must not change any state.
   */
  explain?(account: Account, context: StrategyContext): Readonly<Record<string, ExplainValue>>;
}
