/**
 * @module
 * `@shunt/node-proxy`: the local proxy that pools several Claude accounts behind one endpoint.
 * Point Claude Code or the Anthropic SDK at it; every request goes to the account with the most
 * headroom, fails over silently when one hits a limit, and waits for capacity when all are spent.
 * Routing, header parsing and the failover policy come from `@shunt/core`.
 */
export { createProxy } from './proxy.js';
export type {
  CredentialContext,
  ProxyAccount,
  ProxyAddresses,
  ProxyOptions,
  RequestAttempt,
  RequestRecord,
  ShuntProxy,
} from './proxy.js';

export {
  ConfigError,
  DEFAULT_SERVER_CONFIG,
  DEFAULT_STATE_CONFIG,
  configPathCandidates,
  defaultConfigPath,
  loadConfig,
  parseConfig,
  parseConfigText,
} from './config.js';
export type { AccountConfig, ConfigOptions, OAuthConfig, ServerConfig, ShuntConfig, StateConfig } from './config.js';

export { fileBackend, openState, plainBackend } from './state.js';
export type { OpenStateOptions, StateBackend, StateStatus } from './state.js';

export { persistentStore } from './persistent-store.js';
export type { LoadResult, PersistFs, PersistFsSync, PersistTimers, PersistenceStatus, PersistentStore, PersistentStoreOptions } from './persistent-store.js';

export { createMetrics, SCRAPE_GAUGES } from './metrics.js';
export type { MetricsSource, ProxyMetrics, Sample, ScrapeGauge } from './metrics.js';

export { apiKeyCredential } from './credentials.js';
export type { Credential } from './credentials.js';

export { credentialsFile, defaultCredentialsPath, parseCredentialEntry, writeFileAtomic } from './credentials-file.js';
export type { ApiKeyEntry, CredentialEntry, CredentialsFile, OAuthEntry } from './credentials-file.js';

export {
  ANTHROPIC_OAUTH,
  OAUTH_BETA,
  OAuthError,
  REFRESH_MARGIN_MS,
  authorizeUrl,
  exchangeCode,
  needsRefresh,
  oauthCredential,
  pkce,
  refreshTokens,
} from './oauth.js';
export type { FetchLike, OAuthCredential, OAuthCredentialOptions, PkceLogin, SingleFlight, TokenEndpoint } from './oauth.js';

export { REFRESH_LOCK_TTL_MS, refreshDueAt, sharedOAuthCredential, sharedOAuthTokens } from './oauth-shared.js';
export type { SharedOAuthCredentialOptions, SharedOAuthRecord, SharedOAuthTokens, SharedSecretStore } from './oauth-shared.js';

export { NEEDS_LOGIN, accountCredentials, assertCredentialsKey, configWarnings, loadAccountCredentials, storeSingleFlight } from './oauth-accounts.js';
export type { AccountCredentialsOptions } from './oauth-accounts.js';

export { ClaudeCodeImportError, defaultClaudeCodeCredentialsPath, parseClaudeCodeCredentials, readClaudeCodeCredentials } from './claude-code-import.js';

export {
  DEFAULT_TRACE_KEEP,
  DEFAULT_TRACE_MAX_BYTES,
  TraceFileError,
  createTraceRecorder,
  jsonUsageScanner,
  requestModel,
  sseUsageScanner,
  traceRateLimitFields,
} from './recorder.js';
export type { TraceRecorder, TraceRecorderFs, TraceRecorderOptions, TraceRecorderStats, UsageScanner, UsageTokens } from './recorder.js';

export { jsonLogger, silentLogger, LOG_LEVELS } from './logger.js';
export type { JsonLoggerOptions, LogFields, LogLevel, Logger } from './logger.js';

export { statusReport } from './control.js';
export type { AccountStatus, ProxyStatus, RecordingStatus } from './control.js';

export { allAccountsSpent, anthropicError, anthropicErrorBody } from './errors.js';
export type { AnthropicErrorType, ProxyErrorResponse } from './errors.js';

export {
  ACCOUNT_HEADER,
  DROPPED_RESPONSE_HEADERS,
  FORWARDED_REQUEST_HEADERS,
  clientResponseHeaders,
  isForwardedRequestHeader,
  upstreamRequestHeaders,
} from './headers.js';

export { isEventStream, sseErrorSniffer } from './sse.js';
export type { SseError, SseErrorSniffer, SseErrorSnifferOptions } from './sse.js';

export { isLoopbackHost } from './address.js';

export { createMockUpstream } from './mock-upstream.js';
export type { MockAccountOptions, MockReply, MockRequest, MockUpstream, MockUpstreamOptions, MockWindow } from './mock-upstream.js';

export { VERSION } from './version.js';
