/**
 * @module
 * `@shunt/core`: pool several Claude accounts and send each request to the account with the most
 * rate-limit headroom. Zero dependencies; time, randomness and I/O are injected, so it runs
 * unchanged in Node, Bun, Deno, Workers and browsers, and in the simulator's virtual time.
 */
export { fingerprint, type FingerprintOptions } from './fingerprint.js';

export {
  WINDOW_5H_SECS,
  WINDOW_7D_SECS,
  hasRateLimitHeaders,
  isWindowExhausted,
  mergeRateLimitInfo,
  parseRateLimitHeaders,
  readHeader,
} from './rate-limits.js';
export type { HeaderSource, RateLimitInfo, WindowStatus } from './rate-limits.js';

export type { CompleteStateStore, StateStore } from './store/types.js';
export { completeStore } from './store/complete.js';
export { memoryStore } from './store/memory.js';
export type { MemoryStore, MemoryStoreOptions, MemoryStoreSnapshot } from './store/memory.js';

export type { Account, ExplainValue, Strategy, StrategyContext } from './strategies/types.js';
export { carousel, cushion, maximus, reaper, resolveStrategy, strategies } from './strategies/index.js';
export type { StrategyName } from './strategies/index.js';

export { explainPick, pickAccount, soonestAvailableMs } from './pick.js';
export type { ExclusionReason, ExplainPickOptions, PickDecision, PickOptions, PickReason } from './pick.js';

export { classifyResponse, classifyStreamError, defaultFailoverPolicy, recordResponse } from './failover.js';
export type {
  ClassifyContext,
  FailoverPolicy,
  FailoverReason,
  FaultConfirmation,
  FaultScope,
  RecordOptions,
  ResponseAction,
  UpstreamOutcome,
} from './failover.js';
