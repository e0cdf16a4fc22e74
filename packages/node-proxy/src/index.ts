/**
 * @module
 * `@shunt/node-proxy`: the local proxy that pools several Claude accounts behind one endpoint.
 * Point Claude Code or the Anthropic SDK at it; every request goes to the account with the most
 * headroom, fails over silently when one hits a limit, and waits for capacity when all are spent.
 * Routing, header parsing and the failover policy come from `@shunt/core`.
 */
export { createProxy } from './proxy.js';
export type {
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
  configPathCandidates,
  defaultConfigPath,
  loadConfig,
  parseConfig,
  parseConfigText,
} from './config.js';
export type { AccountConfig, ConfigOptions, ServerConfig, ShuntConfig } from './config.js';

export { apiKeyCredential } from './credentials.js';
export type { Credential } from './credentials.js';

export { jsonLogger, silentLogger, LOG_LEVELS } from './logger.js';
export type { JsonLoggerOptions, LogFields, LogLevel, Logger } from './logger.js';

export { statusReport } from './control.js';
export type { AccountStatus, ProxyStatus } from './control.js';

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
