/**
 * @module
 * `@shunt/sim`: replay a recorded rate-limit trace through `@shunt/core`'s strategies in virtual
 * time. The CLIs are `cli.ts` (`pnpm sim`) and `gen-cli.ts` (`pnpm sim:gen`); this barrel is for
 * code that records or replays traces itself. One row is written by `formatTraceRow` from
 * `@shunt/core` (re-exported here), which the proxy's recorder uses too.
 */
export { TRACE_COLUMNS, TRACE_FORMAT_MARKER, TRACE_FORMAT_VERSION, WINDOW_STATUSES } from './trace/columns.js';
export type { TraceColumn, TraceRecord, TraceRow } from './trace/columns.js';
export { TraceError } from './trace/errors.js';
export type { TracePosition } from './trace/errors.js';
export { readTrace } from './trace/reader.js';
export type { ReadRow, ReadTraceOptions, TraceHeader, TraceReadResult } from './trace/reader.js';
export { TRACE_PREAMBLE, createTraceWriter, formatTraceRow } from './trace/writer.js';
export type { TraceWriter } from './trace/writer.js';
export { DEFAULT_REORDER_WINDOW_MS, createRequestAssembler } from './trace/assemble.js';
export type { RequestAssembler, RequestAssemblerOptions, TokenCounts, TraceRequest } from './trace/assemble.js';

export { PLAN_NAMES, PLAN_RELATIVE_CAPACITY, nearestPlan, parsePlan, planCapacity } from './model/plans.js';
export type { Capacity, PlanName } from './model/plans.js';
export { DEFAULT_REQUEST_CREDITS, DEFAULT_TOKEN_WEIGHTS, modelFamily, tokenCredits } from './model/costs.js';
export type { ModelFamily, TokenWeights } from './model/costs.js';
export { WARNING_UTILIZATION, createAccountModel } from './model/account.js';
export type { AccountModel, AccountStart, AccountStats, ModelHeaders, ModelResponse } from './model/account.js';
export { calibrate } from './model/calibrate.js';
export type { Calibration, GroupCalibration } from './model/calibrate.js';
export { CACHE_TTL_1H_MS, CACHE_TTL_5M_MS, COST_MODEL_MODES, createCostAssigner, detectCostModel } from './model/cost-model.js';
export { createPromptCacheState } from './model/prompt-cache.js';
export type { PromptCacheState } from './model/prompt-cache.js';
export { createAttemptClock } from './model/attempt-time.js';
export type { AttemptClock } from './model/attempt-time.js';
export type { CostAssigner, CostModelMode, RequestCost } from './model/cost-model.js';

export { createReplayer } from './replay/replayer.js';
export type { AttemptEvent, PoolAccount, ReplayRequest, ReplayResult, Replayer, ReplayerOptions, RoutingSettings } from './replay/replayer.js';
export { DEFAULT_WARMUP_ROWS, UNCALIBRATED_CAPACITY_ERROR, simulate } from './replay/simulate.js';
export type { AccountSpec, PoolSource, Robustness, SimulateOptions, SimulationResult, TraceSummary, WhatIf } from './replay/simulate.js';
export { FIDELITY_BOUNDS, createSelfCheck } from './replay/self-check.js';
export type { Fidelity, FidelityContext, SelfCheck } from './replay/self-check.js';
export { readAccountsFile } from './replay/accounts-file.js';
export { loadStrategy } from './replay/load-strategy.js';

export { toJsonReport, formatJsonReport, REPORT_SCHEMA } from './report/json.js';
export type { JsonReport } from './report/json.js';
export { formatTable } from './report/table.js';
export { formatHtmlReport } from './report/html.js';
export type { StrategyReport, AccountReport, HoldSummary } from './report/metrics.js';
export { assess } from './report/assessment.js';
export type { Assessment } from './report/assessment.js';
export { compareReports, formatVerdict, rankStrategies, verdict } from './report/verdict.js';
export type { Verdict } from './report/verdict.js';

export { TRUTH_SCHEMA, generateTrace } from './generate/record.js';
export type { GenerateOptions, GenerateSummary, GroundTruth, PoolOverride } from './generate/record.js';
export { readGroundTruth, replayTruth } from './generate/truth.js';
