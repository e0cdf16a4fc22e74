/**
 * @module
 * The configuration file: the Rust shunt's `config.toml` layout (`[server]` and `[[accounts]]`),
 * or JSON with the same keys, validated into a {@link ShuntConfig}. Every problem is a
 * {@link ConfigError} naming the file, the key and what is wrong; unknown keys are warnings.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { resolveStrategy } from '@shunt/core';
import { parse as parseToml, TomlError } from 'smol-toml';
import { isLoopbackHost } from './address.js';
import { defaultCredentialsPath } from './credentials-file.js';
import { ANTHROPIC_OAUTH } from './oauth.js';
import type { LogLevel } from './logger.js';

/** The `[server]` table, with every default applied. */
export interface ServerConfig {
  /**
   * Address both listeners bind. Anything but loopback requires `remoteKey` and `controlToken`.
   * @default "127.0.0.1"
   */
  readonly host: string;
  /**
   * The proxy's port (0 picks a free one).
   * @default 8082
   */
  readonly port: number;
  /**
   * The control API's port (0 picks a free one).
   * @default 19081
   */
  readonly controlPort: number;
  /**
   * The routing strategy's canonical name (`maximus`, `cushion`, `reaper`, `carousel`).
   * @default "maximus"
   */
  readonly routingStrategy: string;
  /**
   * How long a conversation stays on its account after its last request, in minutes.
   * @default 10
   */
  readonly stickyTtlMinutes: number;
  /**
   * Reaper's "expiring soon" horizon, in minutes.
   * @default 30
   */
  readonly expirySoonMinutes: number;
  /**
   * The longest one upstream attempt may wait for its response headers, and the longest silence
   * allowed inside a response body, in seconds. An attempt that runs out fails over.
   * @default 600
   */
  readonly requestTimeoutSecs: number;
  /**
   * The longest a request may take until its answer starts, in seconds: holds and every upstream
   * attempt included, so a request against black-holed accounts ends after this, not after
   * accounts × `request_timeout_secs`. A streamed answer that has started is not cut by it.
   * @default 600
   */
  readonly requestDeadlineSecs: number;
  /**
   * The longest `retry-after` a client is invited to wait out, in seconds. When the pool is spent
   * for longer, the 429 carries `x-should-retry: false`, so the Anthropic SDKs and Claude Code
   * stop and show the message instead of sleeping silently.
   * @default 60
   */
  readonly clientRetryLimitSecs: number;
  /**
   * Where requests go unless an account names its own upstream.
   * @default "https://api.anthropic.com"
   */
  readonly upstreamUrl: string;
  /**
   * When set, clients must present it (`x-api-key` or `authorization: Bearer`). Required to bind
   * anything but loopback.
   * @default null
   */
  readonly remoteKey: string | null;
  /**
   * When set, control API calls must send `authorization: Bearer <token>`. Required to bind
   * anything but loopback.
   * @default null
   */
  readonly controlToken: string | null;
  /**
   * Where the memory backend saves routing state between runs (`[state] backend = "memory"`).
   * @default "$XDG_DATA_HOME/shunt/state.json" (else "~/.local/share/shunt/state.json")
   */
  readonly statePath: string;
  /**
   * Largest request body accepted, in MiB; larger ones get a 413.
   * @default 32
   */
  readonly maxBodyMb: number;
  /**
   * Least severe log level written.
   * @default "info"
   */
  readonly logLevel: LogLevel;
  /**
   * Append one trace row per upstream response to this file (`record_trace`, or `shunt start
   * --record FILE`), in the simulator's trace format v1; null records nothing.
   * @default null
   */
  readonly recordTrace: string | null;
  /**
   * Size at which the trace file is rotated (`FILE` → `FILE.1` …), in MiB (`record_trace_max_mb`).
   * @default 64
   */
  readonly recordTraceMaxMb: number;
  /**
   * Trace files kept, the live one included (`record_trace_keep`); older ones are deleted.
   * @default 4
   */
  readonly recordTraceKeep: number;
}

/** The `[state]` table: where the routing state lives. */
export interface StateConfig {
  /**
   * `memory`: in this process, saved to `server.state_path`; `redis`: shared with other proxies
   * through Redis (`@shunt/store-redis`).
   * @default "memory"
   */
  readonly backend: 'memory' | 'redis';
  /** The Redis server (`redis://` or `rediss://`), required when `backend` is `redis`; null otherwise. */
  readonly url: string | null;
  /**
   * Prefix of every Redis key; proxies that share state use the same one.
   * @default "shunt:"
   */
  readonly keyPrefix: string;
  /**
   * The key that encrypts subscription tokens shared through Redis (`state.credentials_key`, else
   * `$SHUNT_CREDENTIALS_KEY`): 32 random bytes as 64 hex digits or base64. Required by `shunt start`
   * with the `redis` backend and a subscription account. Never logged.
   * @default null
   */
  readonly credentialsKey: string | null;
  /**
   * The previous key, still accepted for reading during a rotation (`state.credentials_key_previous`,
   * else `$SHUNT_CREDENTIALS_KEY_PREVIOUS`).
   * @default null
   */
  readonly credentialsKeyPrevious: string | null;
}

/** The `[state]` defaults. */
export const DEFAULT_STATE_CONFIG: StateConfig = Object.freeze({ backend: 'memory', url: null, keyPrefix: 'shunt:', credentialsKey: null, credentialsKeyPrevious: null });

/** One `[[accounts]]` entry. */
export interface AccountConfig {
  /** Unique name, used in logs, status, `x-shunt-account` and `shunt pin`. */
  readonly name: string;
  /**
   * Display only (`pro`, `max`, `team`, …).
   * @default "pro"
   */
  readonly planType: string;
  /** This account's upstream, or null for `server.upstream_url`. */
  readonly upstreamUrl: string | null;
  /** The API key (from `api_key`, else from the variable `api_key_env` names), or null when none. */
  readonly apiKey: string | null;
  /** Why {@link AccountConfig.apiKey} is null, for the status view and the log; null when a key was found. */
  readonly missingCredential: string | null;
  /** `oauth` when the file says `auth = "oauth"`: a subscription account whose tokens are in the credentials file. */
  readonly auth?: 'oauth';
}

/** Subscription (OAuth) settings, from `[server]`. */
export interface OAuthConfig {
  /**
   * The credentials file (`server.credentials_path`): OAuth tokens and API keys by account name.
   * @default "$XDG_CONFIG_HOME/shunt/credentials.json" (else "~/.config/shunt/credentials.json")
   */
  readonly credentialsPath: string;
  /**
   * The token endpoint (`server.oauth_token_url`).
   * @default "https://platform.claude.com/v1/oauth/token"
   */
  readonly tokenUrl: string;
  /**
   * The login page (`server.oauth_authorize_url`).
   * @default "https://claude.ai/oauth/authorize"
   */
  readonly authorizeUrl: string;
  /**
   * The OAuth client id (`server.oauth_client_id`).
   * @default Claude Code's client id
   */
  readonly clientId: string;
}

/** A validated configuration. */
export interface ShuntConfig {
  /** The file it was read from (or a label such as `<inline>`), used in error messages. */
  readonly file: string;
  /** The `[server]` table with defaults applied. */
  readonly server: ServerConfig;
  /** The `[state]` table with defaults applied. */
  readonly state: StateConfig;
  /** The Anthropic accounts, in file order (routing ties go to the first). */
  readonly accounts: readonly AccountConfig[];
  /** Subscription (OAuth) settings. */
  readonly oauth: OAuthConfig;
  /** Non-fatal problems (unknown keys, inline secrets, accounts without a key), one line each. */
  readonly warnings: readonly string[];
}

/** Options for {@link parseConfig}, {@link parseConfigText} and {@link loadConfig}. */
export interface ConfigOptions {
  /**
   * Environment for `api_key_env`, `SHUNT_UPSTREAM_URL` and the default `state_path`.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** A configuration problem: which file, which key, what is wrong. */
export class ConfigError extends Error {
  /** The file (or label) the configuration came from. */
  readonly file: string;
  /** The key at fault, as a path (`server.port`, `accounts[1].name`), or "" for the whole file. */
  readonly key: string;
  /** What is wrong, in one sentence. */
  readonly reason: string;

  constructor(file: string, key: string, reason: string) {
    super(key === '' ? `${file}: ${reason}` : `${file}: ${key}: ${reason}`);
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
    this.reason = reason;
  }
}

/** The `[server]` defaults (the Rust shunt's, plus the keys only this proxy has). */
export const DEFAULT_SERVER_CONFIG: Omit<ServerConfig, 'statePath'> = Object.freeze({
  host: '127.0.0.1',
  port: 8082,
  controlPort: 19081,
  routingStrategy: 'maximus',
  stickyTtlMinutes: 10,
  expirySoonMinutes: 30,
  requestTimeoutSecs: 600,
  requestDeadlineSecs: 600,
  clientRetryLimitSecs: 60,
  upstreamUrl: 'https://api.anthropic.com',
  remoteKey: null,
  controlToken: null,
  maxBodyMb: 32,
  logLevel: 'info',
  recordTrace: null,
  recordTraceMaxMb: 64,
  recordTraceKeep: 4,
});

/**
 * Where the configuration file is looked for, most preferred first: `$SHUNT_CONFIG`, then
 * `$XDG_CONFIG_HOME/shunt/config.toml` (else `~/.config/shunt/config.toml`), then, on macOS, the
 * Rust shunt's `~/Library/Application Support/shunt/config.toml`.
 */
export function configPathCandidates(
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
  platform: string = process.platform,
): string[] {
  const explicit = nonEmpty(env['SHUNT_CONFIG']);
  if (explicit !== undefined) return [explicit];
  const xdg = nonEmpty(env['XDG_CONFIG_HOME']);
  const candidates = [join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config'), 'shunt', 'config.toml')];
  if (platform === 'darwin') candidates.push(join(home, 'Library', 'Application Support', 'shunt', 'config.toml'));
  return candidates;
}

/** The configuration file to read: the first candidate that exists, else the first candidate. */
export function defaultConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const candidates = configPathCandidates(env);
  return candidates.find((candidate) => existsSync(candidate)) ?? (candidates[0] as string);
}

/**
 * Read and validate a configuration file: TOML, or JSON when the name ends in `.json`.
 * Throws a {@link ConfigError} when the file is missing, unreadable or invalid.
 */
export async function loadConfig(file: string = defaultConfigPath(), options: ConfigOptions = {}): Promise<ShuntConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      file,
      '',
      code === 'ENOENT'
        ? 'no such file; write one (see docs/proxy.md), pass --config FILE, or try `shunt demo`'
        : `cannot read the file (${code ?? String(error)})`,
    );
  }
  return parseConfigText(text, { ...options, file });
}

/** Validate configuration text; `format` defaults to JSON for a `.json` file, else TOML. */
export function parseConfigText(
  text: string,
  options: ConfigOptions & { readonly file: string; readonly format?: 'toml' | 'json' | undefined },
): ShuntConfig {
  const { file } = options;
  const format = options.format ?? (file.toLowerCase().endsWith('.json') ? 'json' : 'toml');
  let raw: unknown;
  if (format === 'json') {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(file, '', `not valid JSON (${(error as Error).message})`);
    }
  } else {
    try {
      raw = parseToml(text);
    } catch (error) {
      if (error instanceof TomlError) {
        throw new ConfigError(file, `line ${error.line}, column ${error.column}`, `not valid TOML (${firstLine(error.message)})`);
      }
      throw new ConfigError(file, '', `not valid TOML (${String(error)})`);
    }
  }
  return parseConfig(raw, options);
}

/**
 * Validate an already parsed configuration (the object a TOML or JSON parser returns, with the
 * file's snake_case keys). Throws a {@link ConfigError} for the first problem found.
 *
 * @example
 * ```ts
 * const config = parseConfig({ accounts: [{ name: 'work', api_key_env: 'WORK_KEY' }] }, { file: '<inline>' });
 * config.server.port; // 8082
 * ```
 */
export function parseConfig(raw: unknown, options: ConfigOptions & { readonly file?: string | undefined } = {}): ShuntConfig {
  const file = options.file ?? '<inline>';
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const fail = (key: string, reason: string): never => {
    throw new ConfigError(file, key, reason);
  };
  const warn = (key: string, message: string): void => {
    warnings.push(`${file}: ${key}: ${message}`);
  };

  if (!isTable(raw)) fail('', 'the top level must be a table');
  const top = raw as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (key === 'server' || key === 'accounts' || key === 'state') continue;
    if (key === 'model_mapping') warn(key, 'model mapping is not supported by the Node shunt (Anthropic accounts only); ignored');
    else warn(key, unknownKey(key, TOP_KEYS));
  }

  const serverRaw = top['server'] ?? {};
  if (!isTable(serverRaw)) fail('server', 'must be a table ([server])');
  const server = parseServer(serverRaw as Record<string, unknown>, { file, env, fail, warn });
  const oauth = parseOAuth(serverRaw as Record<string, unknown>, { file, env, fail, warn });

  const stateRaw = top['state'] ?? {};
  if (!isTable(stateRaw)) fail('state', 'must be a table ([state])');
  const state = parseState(stateRaw as Record<string, unknown>, { file, env, fail, warn });

  const accountsRaw = top['accounts'];
  if (accountsRaw === undefined) fail('accounts', 'no accounts: add at least one [[accounts]] entry with a name and api_key_env');
  if (!Array.isArray(accountsRaw)) fail('accounts', 'must be an array of tables ([[accounts]])');
  const accounts: AccountConfig[] = [];
  const seen = new Map<string, number>();
  (accountsRaw as unknown[]).forEach((entry, index) => {
    const at = `accounts[${index}]`;
    if (!isTable(entry)) fail(at, 'must be a table');
    const account = parseAccount(entry as Record<string, unknown>, at, { env, fail, warn });
    if (account === null) return;
    const previous = seen.get(account.name);
    if (previous !== undefined) {
      fail(`${at}.name`, `duplicate account name ${JSON.stringify(account.name)} (also accounts[${previous}]); names must be unique`);
    }
    seen.set(account.name, index);
    accounts.push(account);
  });
  if (accounts.length === 0) fail('accounts', 'no Anthropic account: add at least one [[accounts]] entry');
  return { file, server, state, accounts, oauth, warnings };
}

interface Context {
  readonly file: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fail: (key: string, reason: string) => never;
  readonly warn: (key: string, message: string) => void;
}

/** Keys of the Rust shunt's `[server]` table that this proxy does not implement. */
const SEED_ONLY_SERVER_KEYS: ReadonlySet<string> = new Set([
  'rate_limit_rpm',
  'trust_proxy_headers',
  'health_check_enabled',
  'health_check_interval_secs',
  'health_check_timeout_secs',
  'relay_url',
  'custom_domain',
  'telemetry_url',
  'telemetry_token',
  'instance_name',
]);

const SERVER_KEYS: ReadonlySet<string> = new Set([
  'host',
  'port',
  'control_port',
  'routing_strategy',
  'sticky_ttl_minutes',
  'expiry_soon_minutes',
  'request_timeout_secs',
  'request_deadline_secs',
  'client_retry_limit_secs',
  'upstream_url',
  'remote_key',
  'control_token',
  'state_path',
  'max_body_mb',
  'log_level',
  'record_trace',
  'record_trace_max_mb',
  'record_trace_keep',
  'credentials_path',
  'oauth_token_url',
  'oauth_authorize_url',
  'oauth_client_id',
]);

const ACCOUNT_KEYS: ReadonlySet<string> = new Set(['name', 'plan_type', 'provider', 'api_key', 'api_key_env', 'upstream_url', 'auth']);

function parseServer(raw: Record<string, unknown>, ctx: Context): ServerConfig {
  const { fail, warn, env } = ctx;
  for (const key of Object.keys(raw)) {
    if (SERVER_KEYS.has(key)) continue;
    if (SEED_ONLY_SERVER_KEYS.has(key)) warn(`server.${key}`, 'not supported by the Node shunt; ignored');
    else warn(`server.${key}`, unknownKey(key, SERVER_KEYS));
  }
  const d = DEFAULT_SERVER_CONFIG;
  const at = (key: string): string => `server.${key}`;

  const host = optionalString(raw, 'host', at, fail) ?? d.host;
  if (host.trim() === '') fail(at('host'), 'must not be empty');
  const port = optionalPort(raw, 'port', at, fail) ?? d.port;
  const controlPort = optionalPort(raw, 'control_port', at, fail) ?? d.controlPort;
  if (port !== 0 && port === controlPort) fail(at('control_port'), `must differ from server.port (both are ${port})`);

  let routingStrategy = d.routingStrategy;
  const strategyName = optionalString(raw, 'routing_strategy', at, fail);
  if (strategyName !== undefined) {
    try {
      routingStrategy = resolveStrategy(strategyName).name;
    } catch (error) {
      fail(at('routing_strategy'), (error as Error).message);
    }
  }

  const stickyTtlMinutes = optionalNumber(raw, 'sticky_ttl_minutes', at, fail, { min: 0 }) ?? d.stickyTtlMinutes;
  const expirySoonMinutes = optionalNumber(raw, 'expiry_soon_minutes', at, fail, { min: 0 }) ?? d.expirySoonMinutes;
  const requestTimeoutSecs = optionalNumber(raw, 'request_timeout_secs', at, fail, { min: 0, exclusiveMin: true }) ?? d.requestTimeoutSecs;
  const requestDeadlineSecs = optionalNumber(raw, 'request_deadline_secs', at, fail, { min: 0, exclusiveMin: true }) ?? d.requestDeadlineSecs;
  const clientRetryLimitSecs = optionalNumber(raw, 'client_retry_limit_secs', at, fail, { min: 0 }) ?? d.clientRetryLimitSecs;
  const maxBodyMb = optionalNumber(raw, 'max_body_mb', at, fail, { min: 0, exclusiveMin: true, max: 4096 }) ?? d.maxBodyMb;

  let upstreamUrl = optionalString(raw, 'upstream_url', at, fail);
  let upstreamKey = at('upstream_url');
  if (upstreamUrl === undefined && nonEmpty(env['SHUNT_UPSTREAM_URL']) !== undefined) {
    upstreamUrl = env['SHUNT_UPSTREAM_URL'] as string;
    upstreamKey = 'SHUNT_UPSTREAM_URL';
  }
  upstreamUrl = upstreamUrl === undefined ? d.upstreamUrl : validateUpstream(upstreamUrl, upstreamKey, fail, warn);

  const remoteKey = optionalSecret(raw, 'remote_key', at, fail);
  const controlToken = optionalSecret(raw, 'control_token', at, fail);

  const stateRaw = optionalString(raw, 'state_path', at, fail);
  if (stateRaw !== undefined && stateRaw.trim() === '') fail(at('state_path'), 'must not be empty');
  const statePath = stateRaw === undefined ? defaultStatePath(env) : configPath(stateRaw, ctx.file, env);

  const recordRaw = optionalString(raw, 'record_trace', at, fail);
  if (recordRaw !== undefined && recordRaw.trim() === '') fail(at('record_trace'), 'must not be empty (leave it out to record nothing)');
  const recordTrace = recordRaw === undefined ? d.recordTrace : configPath(recordRaw, ctx.file, env);
  const recordTraceMaxMb = optionalNumber(raw, 'record_trace_max_mb', at, fail, { min: 0, exclusiveMin: true, max: 1_048_576 }) ?? d.recordTraceMaxMb;
  const recordTraceKeep = optionalNumber(raw, 'record_trace_keep', at, fail, { min: 1, max: 1000 }) ?? d.recordTraceKeep;
  if (!Number.isInteger(recordTraceKeep)) fail(at('record_trace_keep'), `must be a whole number of files, got ${recordTraceKeep}`);

  let logLevel: LogLevel = d.logLevel;
  const level = optionalString(raw, 'log_level', at, fail);
  if (level !== undefined) {
    const lower = level.trim().toLowerCase();
    if (lower === 'debug' || lower === 'info' || lower === 'warn' || lower === 'error') logLevel = lower;
    else if (lower === 'trace') logLevel = 'debug';
    else if (lower === 'warning') logLevel = 'warn';
    else warn(at('log_level'), `${JSON.stringify(level)} is not one of debug, info, warn, error; using info`);
  }

  return {
    host,
    port,
    controlPort,
    routingStrategy,
    stickyTtlMinutes,
    expirySoonMinutes,
    requestTimeoutSecs,
    requestDeadlineSecs,
    clientRetryLimitSecs,
    upstreamUrl,
    remoteKey,
    controlToken,
    statePath,
    maxBodyMb,
    logLevel,
    recordTrace,
    recordTraceMaxMb,
    recordTraceKeep,
  };
}

const STATE_KEYS: ReadonlySet<string> = new Set(['backend', 'url', 'key_prefix', 'credentials_key', 'credentials_key_previous']);

function parseState(raw: Record<string, unknown>, ctx: Context): StateConfig {
  const { fail, warn } = ctx;
  const at = (key: string): string => `state.${key}`;
  for (const key of Object.keys(raw)) {
    if (!STATE_KEYS.has(key)) warn(at(key), unknownKey(key, STATE_KEYS));
  }
  const d = DEFAULT_STATE_CONFIG;
  const backendRaw = optionalString(raw, 'backend', at, fail);
  let backend = d.backend;
  if (backendRaw !== undefined) {
    const lower = backendRaw.trim().toLowerCase();
    if (lower !== 'memory' && lower !== 'redis') fail(at('backend'), `${JSON.stringify(backendRaw)} is not a state backend: expected "memory" or "redis"`);
    backend = lower as StateConfig['backend'];
  }
  const urlRaw = optionalString(raw, 'url', at, fail);
  let url: string | null = null;
  if (urlRaw !== undefined) {
    // The URL may carry a password: it is never echoed in a message.
    let parsed: URL | null = null;
    try {
      parsed = new URL(urlRaw.trim());
    } catch {
      fail(at('url'), 'is not a URL: expected redis://[:password@]host[:port][/db] or rediss://…');
    }
    const protocol = (parsed as URL).protocol;
    if (protocol !== 'redis:' && protocol !== 'rediss:') fail(at('url'), `must be a redis:// or rediss:// URL, got ${protocol}`);
    if ((parsed as URL).hostname === '') fail(at('url'), 'has no host');
    // ioredis reads a path that is not a number as db 0: a typo would share the wrong database.
    const db = (parsed as URL).pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) fail(at('url'), `names db ${JSON.stringify(db)}: the path must be a db index, e.g. redis://10.0.0.5:6379/2`);
    url = urlRaw.trim();
    if (backend !== 'redis') warn(at('url'), 'set but state.backend is not "redis"; ignored');
  }
  if (backend === 'redis' && url === null) fail(at('url'), 'missing: state.backend = "redis" needs the server, e.g. url = "redis://127.0.0.1:6379"');
  const keyPrefix = optionalString(raw, 'key_prefix', at, fail) ?? d.keyPrefix;
  if (keyPrefix === '' || /[\s\x00-\x1f\x7f]/.test(keyPrefix)) fail(at('key_prefix'), 'must be non-empty, without spaces or control characters');
  const credentialsKey = credentialsKeyOf(raw, 'credentials_key', 'SHUNT_CREDENTIALS_KEY', ctx);
  const credentialsKeyPrevious = credentialsKeyOf(raw, 'credentials_key_previous', 'SHUNT_CREDENTIALS_KEY_PREVIOUS', ctx);
  return { backend, url: backend === 'redis' ? url : null, keyPrefix, credentialsKey, credentialsKeyPrevious };
}

/** A credentials key from the table, else from the environment: checked for shape, never echoed. */
function credentialsKeyOf(raw: Record<string, unknown>, key: string, envName: string, ctx: Context): string | null {
  const at = (k: string): string => `state.${k}`;
  const fromFile = optionalString(raw, key, at, ctx.fail);
  const value = fromFile ?? ctx.env[envName];
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(trimmed) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    ctx.fail(fromFile === undefined ? envName : at(key), 'must be 32 random bytes as 64 hex digits or base64 (e.g. the output of `openssl rand -base64 32`)');
  }
  return trimmed;
}

function parseAccount(
  raw: Record<string, unknown>,
  at: string,
  ctx: Omit<Context, 'file'>,
): AccountConfig | null {
  const { fail, warn, env } = ctx;
  const key = (name: string): string => `${at}.${name}`;
  const name = optionalString(raw, 'name', key, fail);
  if (name === undefined) fail(key('name'), 'missing: every account needs a unique name');
  const accountName = name as string;
  if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/.test(accountName)) {
    fail(key('name'), `${JSON.stringify(accountName)} must be 1 to 64 printable ASCII characters (it travels in the x-shunt-account header)`);
  }

  for (const k of Object.keys(raw)) {
    if (ACCOUNT_KEYS.has(k)) continue;
    if (k === 'model') warn(key(k), 'per-account models are not supported by the Node shunt; ignored');
    else warn(key(k), unknownKey(k, ACCOUNT_KEYS));
  }

  const provider = optionalString(raw, 'provider', key, fail);
  if (provider !== undefined && provider.trim().toLowerCase() !== 'anthropic') {
    warn(key('provider'), `${JSON.stringify(provider)} accounts are not supported by the Node shunt; account ${JSON.stringify(accountName)} skipped`);
    return null;
  }

  const planType = optionalString(raw, 'plan_type', key, fail) ?? 'pro';
  const upstream = optionalString(raw, 'upstream_url', key, fail);
  const upstreamUrl = upstream === undefined ? null : validateUpstream(upstream, key('upstream_url'), fail, warn);

  const inline = optionalSecret(raw, 'api_key', key, fail);
  const envName = optionalString(raw, 'api_key_env', key, fail);
  if (envName !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) {
    fail(key('api_key_env'), `${JSON.stringify(envName)} is not an environment variable name`);
  }
  const authRaw = optionalString(raw, 'auth', key, fail);
  const auth = authRaw?.trim().toLowerCase();
  if (auth !== undefined && auth !== 'oauth' && auth !== 'api_key') fail(key('auth'), `${JSON.stringify(authRaw)} is not "oauth" or "api_key"`);
  let apiKey: string | null = null;
  let missingCredential: string | null = null;
  if (auth === 'oauth') {
    // The tokens are in the credentials file, read when the proxy starts.
    missingCredential = `no OAuth login in the credentials file (run \`shunt login ${accountName}\` or \`shunt import-claude-code ${accountName}\`)`;
    return { name: accountName, planType, upstreamUrl, apiKey, missingCredential, auth: 'oauth' };
  }
  if (inline !== null) {
    apiKey = inline;
    warn(key('api_key'), 'the key is written in the file; prefer api_key_env so it stays out of the config');
  } else if (envName !== undefined) {
    apiKey = nonEmpty(env[envName]) ?? null;
    if (apiKey === null) missingCredential = `environment variable ${envName} is not set`;
  } else {
    missingCredential = 'no api_key_env or api_key';
  }
  if (missingCredential !== null) {
    warn(key('api_key_env'), `${missingCredential}; account ${JSON.stringify(accountName)} is disabled until it has a key`);
  }
  return { name: accountName, planType, upstreamUrl, apiKey, missingCredential };
}

function validateUpstream(
  value: string,
  key: string,
  fail: (key: string, reason: string) => never,
  warn: (key: string, message: string) => void,
): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(key, `${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(key, `must be an http or https URL, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') fail(key, 'must not carry credentials');
  if (url.search !== '' || url.hash !== '') fail(key, 'must not have a query string or fragment');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    warn(key, `${url.origin} is plain http: API keys would cross the network unencrypted`);
  }
  return url.href.replace(/\/+$/, '');
}

function parseOAuth(raw: Record<string, unknown>, ctx: Context): OAuthConfig {
  const { fail, warn, env } = ctx;
  const at = (key: string): string => `server.${key}`;
  const pathRaw = optionalString(raw, 'credentials_path', at, fail);
  if (pathRaw !== undefined && pathRaw.trim() === '') fail(at('credentials_path'), 'must not be empty');
  const credentialsPath = pathRaw === undefined ? defaultCredentialsPath(env) : configPath(pathRaw, ctx.file, env);
  const url = (name: string, fallback: string): string => {
    const value = optionalString(raw, name, at, fail);
    return value === undefined ? fallback : validateUpstream(value, at(name), fail, warn);
  };
  const clientId = optionalString(raw, 'oauth_client_id', at, fail) ?? ANTHROPIC_OAUTH.clientId;
  if (clientId.trim() === '') fail(at('oauth_client_id'), 'must not be empty');
  return {
    credentialsPath,
    tokenUrl: url('oauth_token_url', ANTHROPIC_OAUTH.tokenUrl),
    authorizeUrl: url('oauth_authorize_url', ANTHROPIC_OAUTH.authorizeUrl),
    clientId,
  };
}

/**
 * A path as a user writes it: `~` or `~/…` is the home directory (`$HOME` when set, as a shell
 * reads it), and `relativeTo` anchors a relative path (the config file's folder, or the working
 * directory for a command-line flag).
 */
export function expandPath(path: string, relativeTo: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (path === '~' || path.startsWith('~/') || (process.platform === 'win32' && path.startsWith('~\\'))) {
    return join(nonEmpty(env['HOME']) ?? homedir(), path.slice(1));
  }
  return isAbsolute(path) ? path : resolve(relativeTo, path);
}

/** A path key's value: `~` expanded, relative to the config file (an inline config keeps it as it is). */
function configPath(raw: string, file: string, env: Readonly<Record<string, string | undefined>>): string {
  if (file.startsWith('<') && raw !== '~' && !raw.startsWith('~/')) return raw;
  return expandPath(raw, dirname(file), env);
}

/** "unknown key, ignored", with the nearest known key when one is a likely typo. */
function unknownKey(key: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // A third of the key's length, at least 1, at most 3: "prot" → port, not "accounts" → host.
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  return best !== undefined && bestDistance <= limit ? `unknown key, ignored (did you mean "${best}"?)` : 'unknown key, ignored';
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = value;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

const TOP_KEYS: ReadonlySet<string> = new Set(['server', 'state', 'accounts']);

function defaultStatePath(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = nonEmpty(env['XDG_DATA_HOME']);
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'shunt', 'state.json');
}

function optionalString(
  raw: Record<string, unknown>,
  name: string,
  at: (key: string) => string,
  fail: (key: string, reason: string) => never,
): string | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(at(name), `must be a string, got ${describe(value)}`);
  return value as string;
}

function optionalSecret(
  raw: Record<string, unknown>,
  name: string,
  at: (key: string) => string,
  fail: (key: string, reason: string) => never,
): string | null {
  const value = optionalString(raw, name, at, fail);
  if (value === undefined) return null;
  // The value is never echoed: it is a secret.
  if (value.trim() === '') fail(at(name), 'must not be empty');
  if (/[^\x21-\x7e]/.test(value)) fail(at(name), 'must be printable ASCII without spaces (it travels in a header)');
  return value;
}

function optionalPort(
  raw: Record<string, unknown>,
  name: string,
  at: (key: string) => string,
  fail: (key: string, reason: string) => never,
): number | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    fail(at(name), `must be a port number from 0 to 65535, got ${describe(value)}`);
  }
  return value as number;
}

function optionalNumber(
  raw: Record<string, unknown>,
  name: string,
  at: (key: string) => string,
  fail: (key: string, reason: string) => never,
  bounds: { readonly min: number; readonly exclusiveMin?: boolean; readonly max?: number },
): number | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  const tooLow = (v: number): boolean => (bounds.exclusiveMin === true ? v <= bounds.min : v < bounds.min);
  if (typeof value !== 'number' || !Number.isFinite(value) || tooLow(value) || (bounds.max !== undefined && value > bounds.max)) {
    const range =
      (bounds.exclusiveMin === true ? `a number greater than ${bounds.min}` : `a number of at least ${bounds.min}`) +
      (bounds.max === undefined ? '' : ` and at most ${bounds.max}`);
    fail(at(name), `must be ${range}, got ${describe(value)}`);
  }
  return value as number;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return value instanceof Date ? 'a date' : 'a table';
  if (typeof value === 'bigint') return `${value} (too large)`;
  return String(value);
}

function isTable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim();
}
