#!/usr/bin/env node
/**
 * @module
 * The `shunt` command: a thin layer over `createProxy`, `loadConfig`, the control API and the demo.
 * Exit codes: 0 done, 1 failed at run time, 2 bad usage or configuration.
 */
import { existsSync, realpathSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_SERVER_CONFIG, defaultConfigPath, loadConfig, parseConfig, type ShuntConfig } from './config.js';
import type { ProxyStatus } from './control.js';
import { runDemo } from './demo.js';
import { jsonLogger } from './logger.js';
import { assertCredentialsKey, configWarnings, loadAccountCredentials } from './oauth-accounts.js';
import { LoginError, runImportClaudeCode, runLogin, type LoginTarget } from './oauth-login.js';
import { assertSafeBind, createProxy, type ShuntProxy } from './proxy.js';
import { TraceFileError } from './recorder.js';
import { openState } from './state.js';
import { VERSION } from './version.js';
import { formatCountdown, formatStatus } from './status-view.js';

/** How long `shunt start` lets requests under way finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A signal repeated within this long is the same one delivered twice, not a second Ctrl-C. */
const SAME_SIGNAL_MS = 500;
/** How long it then allows for saving the state and closing, before it exits anyway. */
const SHUTDOWN_SAVE_MS = 5_000;

const USAGE = `shunt ${VERSION}: pool several Claude accounts behind one local endpoint

Usage: shunt <command> [options]

Commands:
  demo                     a self-contained demo: mock API, three accounts, failover and a hold
  start                    run the proxy in the foreground
  status                   the accounts as the running proxy sees them
  pin <account|auto>       send every request to one account, or back to automatic routing
  strategy [name]          show the routing strategy, or switch it (maximus, cushion, reaper, carousel)
  login <account>          log a subscription (OAuth) account in and save its tokens
  import-claude-code <account>
                           copy Claude Code's stored subscription login into shunt's credentials

Options:
  -h, --help               help for shunt or for a command (shunt start --help)
  -v, --version            print the version

Configuration: --config FILE, else $SHUNT_CONFIG, else $XDG_CONFIG_HOME/shunt/config.toml
(~/.config/shunt/config.toml). See docs/proxy.md.
`;

const HELP: Readonly<Record<string, string>> = {
  demo: `Usage: shunt demo [--verbose]

Starts a mock Anthropic API with three accounts of different headroom and the proxy in front of it,
sends a short scripted mix of streaming and non-streaming requests (one hits a 429 and fails over,
one conversation stays sticky, one waits for an account to come back), prints which account served
each request and why, and exits. No network, no credentials.

  --verbose                also write the proxy's JSON log to stderr
`,
  start: `Usage: shunt start [--config FILE] [--host H] [--port P] [--record FILE]

Runs the proxy in the foreground until interrupted (Ctrl-C finishes requests under way, a second
Ctrl-C stops at once). Logs JSON lines to stderr.

  --config FILE            configuration file (TOML, or JSON when it ends in .json)
  --host H                 bind address (overrides server.host; anything but loopback needs
                           server.remote_key and server.control_token)
  --port P                 proxy port (overrides server.port)
  --record FILE            append one trace row per upstream response to FILE, for
                           \`pnpm sim FILE\` (overrides server.record_trace; see docs/recording.md)
`,
  status: `Usage: shunt status [--config FILE] [--json]

Shows each account's state (available, cooling, exhausted, disabled) and windows, from the running
proxy's control API.

  --config FILE            configuration file (for the control port and token)
  --json                   print the raw /status JSON
`,
  pin: `Usage: shunt pin <account|auto> [--config FILE]

Sends every request to one account (while it is eligible), or with \`auto\` returns to automatic
routing. Talks to the running proxy's control API.

  --config FILE            configuration file (for the control port and token)
`,
  login: `Usage: shunt login <account> [--config FILE]

Logs a Claude subscription (Pro/Max/Team) account in: prints a URL to open in a browser, reads the
code the page shows (CODE#STATE) from standard input, and saves the tokens to the credentials file
(server.credentials_path, default ~/.config/shunt/credentials.json, mode 0600). Tokens are never
printed. Add the account to the configuration with auth = "oauth", then restart shunt.

  --config FILE            configuration file (for credentials_path and the oauth_* endpoints)
`,
  'import-claude-code': `Usage: shunt import-claude-code <account> [--from FILE] [--config FILE]

Copies Claude Code's stored subscription login (~/.claude/.credentials.json) into the credentials
file as <account>. On macOS, Claude Code keeps its login in the Keychain, which shunt does not
read: use \`shunt login\` there (or --from a file exported by hand).

  --from FILE              Claude Code's credentials file (default ~/.claude/.credentials.json)
  --config FILE            configuration file (for credentials_path)
`,
  strategy: `Usage: shunt strategy [name] [--reset] [--config FILE]

Without a name, prints the strategy in force and where it comes from. With a name (maximus,
cushion, reaper, carousel, or an alias such as round-robin), switches the running proxy to it until
it restarts; --reset returns to the configured one.

  --config FILE            configuration file (for the control port and token)
  --reset                  return to the strategy in the configuration file
`,
};

/** Run the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(topic !== undefined && HELP[topic] !== undefined ? HELP[topic] : USAGE);
    return 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const help = HELP[command];
  if (help === undefined) return usageError(`unknown command ${JSON.stringify(command)}`);
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(help);
    return 0;
  }
  try {
    switch (command) {
      case 'demo':
        return await demo(rest);
      case 'start':
        return await start(rest);
      case 'status':
        return await status(rest);
      case 'pin':
        return await pin(rest);
      case 'login':
        return await login(rest);
      case 'import-claude-code':
        return await importClaudeCode(rest);
      case 'strategy':
        return await strategy(rest);
      default:
        return usageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError) return usageError(error.message, command);
    if (error instanceof TraceFileError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return 2;
    }
    if (error instanceof LoginError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ControlError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function demo(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { verbose: { type: 'boolean' } });
  return runDemo({ verbose: values.verbose === true });
}

async function start(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, record: { type: 'string' } });
  const file = values.config ?? defaultConfigPath();
  let config = await loadConfig(file);
  if (values.host !== undefined || values.port !== undefined) {
    let port = config.server.port;
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port > 65_535) throw new UsageError(`--port must be a port number from 0 to 65535, got ${JSON.stringify(values.port)}`);
    }
    config = { ...config, server: { ...config.server, host: values.host ?? config.server.host, port } };
  }
  if (values.record !== undefined) {
    if (values.record.trim() === '') throw new UsageError('--record needs a file name');
    config = { ...config, server: { ...config.server, recordTrace: resolvePath(values.record) } };
  }
  const logger = jsonLogger({ level: config.server.logLevel });
  // Refusals (an open bind without keys) come before the warnings: one line, then exit 2.
  assertSafeBind(config);
  // Credentials: the credentials file's entry, else api_key, else api_key_env.
  const credentials = await loadAccountCredentials(config);
  for (const warning of configWarnings(config, credentials.fromFile)) logger.warn('config', { warning });
  // The routing state: the saved file restored, or the shared state loaded from Redis (or, with
  // Redis unreachable, a local replica that syncs once it answers).
  assertCredentialsKey(config, credentials.oauth);
  const state = await openState(config, { logger });
  let proxy: ShuntProxy;
  try {
    // With a Redis backend and a credentials key, subscription tokens are the pool's, not this file's.
    const credential = state.sharedTokens === undefined ? credentials.credential : credentials.sharedBy(state.sharedTokens);
    proxy = createProxy({ config, logger, state, credential });
  } catch (error) {
    await state.close();
    throw error;
  }
  let addresses;
  try {
    addresses = await proxy.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      process.stderr.write(`shunt: cannot listen on ${config.server.host} (ports ${config.server.port}, ${config.server.controlPort}): ${code}${code === 'EADDRINUSE' ? ' (is another shunt running?)' : ''}\n`);
      await proxy.close();
      return 1;
    }
    throw error;
  }
  process.stderr.write(
    `shunt ${VERSION}: ${config.accounts.length} account(s), strategy ${proxy.strategy().name}\n` +
      `  proxy   ${addresses.proxyUrl}\n  control ${addresses.controlUrl}\n` +
      `  point Claude Code at it:  ANTHROPIC_BASE_URL=${addresses.proxyUrl} claude\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    let firstSignalMs = 0;
    const stop = (signal: string): void => {
      if (stopping) {
        // One Ctrl-C under `pnpm shunt start` arrives twice (from the terminal and forwarded by
        // pnpm), as does a SIGTERM sent to the whole process group: that is not a second request.
        if (performance.now() - firstSignalMs < SAME_SIGNAL_MS) return;
        process.stderr.write(`shunt: ${signal} again, stopping now\n`);
        process.exit(130);
      }
      stopping = true;
      firstSignalMs = performance.now();
      process.stderr.write(`shunt: ${signal}, finishing requests under way (up to 10 s; again to stop now)\n`);
      // The documented bound: whatever hangs after the grace period (a state store that never
      // answers), the process is gone 5 s later. Unref'd: a shutdown that finishes exits at once.
      setTimeout(() => {
        process.stderr.write(`shunt: shutdown still not finished after ${(SHUTDOWN_GRACE_MS + SHUTDOWN_SAVE_MS) / 1000} s, stopping now\n`);
        process.exit(1);
      }, SHUTDOWN_GRACE_MS + SHUTDOWN_SAVE_MS).unref();
      proxy.close({ graceMs: SHUTDOWN_GRACE_MS }).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

async function status(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, json: { type: 'boolean' } });
  const report = (await callControl(values.config, 'GET', '/status')) as ProxyStatus;
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const now = Date.now();
  const color = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
  process.stdout.write(stateLine(report.state, now) + formatStatus(report, { nowMs: now, color }));
  return 0;
}

async function login(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' } }, true);
  const [name, extra] = positionals;
  if (name === undefined || extra !== undefined) throw new UsageError('expected one account name');
  await runLogin(name, await loginTarget(values.config), { input: process.stdin, write: (text) => process.stderr.write(text) });
  return 0;
}

async function importClaudeCode(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, from: { type: 'string' } }, true);
  const [name, extra] = positionals;
  if (name === undefined || extra !== undefined) throw new UsageError('expected one account name');
  await runImportClaudeCode(name, await loginTarget(values.config), { from: values.from, write: (text) => process.stdout.write(text) });
  return 0;
}

/** The OAuth settings and account list from the configuration, or the defaults when there is no file. */
async function loginTarget(file: string | undefined): Promise<LoginTarget> {
  const path = file ?? defaultConfigPath();
  if (file === undefined && !existsSync(path)) {
    return { oauth: parseConfig({ accounts: [{ name: 'x', auth: 'oauth' }] }).oauth, accounts: null };
  }
  const config = await loadConfig(path);
  return { oauth: config.oauth, accounts: config.accounts };
}

async function pin(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' } }, true);
  const [account, extra] = positionals;
  if (account === undefined || extra !== undefined) throw new UsageError('expected one account name, or auto');
  const result = (await callControl(values.config, 'POST', '/use', { account })) as { pinned: string | null };
  process.stdout.write(result.pinned === 'auto' || result.pinned === null ? 'automatic routing\n' : `pinned to ${result.pinned}\n`);
  return 0;
}

async function strategy(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, reset: { type: 'boolean' } }, true);
  const [name, extra] = positionals;
  if (extra !== undefined || (name !== undefined && values.reset === true)) throw new UsageError('expected one strategy name, or --reset');
  const result = (
    values.reset === true
      ? await callControl(values.config, 'DELETE', '/strategy')
      : name === undefined
        ? await callControl(values.config, 'GET', '/strategy')
        : await callControl(values.config, 'POST', '/strategy', { strategy: name })
  ) as { strategy: string; source: string };
  process.stdout.write(`${result.strategy} (${result.source === 'override' ? 'set at run time' : 'from the configuration'})\n`);
  return 0;
}

/** Call the running proxy's control API, found through the configuration (or its defaults). */
async function callControl(configFile: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const server = await controlSettings(configFile);
  const host = server.host === '0.0.0.0' || server.host === '::' ? '127.0.0.1' : server.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${server.controlPort}`;
  const headers: Record<string, string> = {};
  if (server.controlToken !== null) headers['authorization'] = `Bearer ${server.controlToken}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch {
    throw new ControlError(`no shunt is answering on ${base} (start one with \`shunt start\`)`);
  }
  const json = (await response.json().catch(() => null)) as { error?: string } | null;
  if (!response.ok) throw new ControlError(json?.error ?? `${method} ${path} failed with ${response.status}`);
  return json;
}

async function controlSettings(file: string | undefined): Promise<Pick<ShuntConfig['server'], 'host' | 'controlPort' | 'controlToken'>> {
  const path = file ?? defaultConfigPath();
  // Without a configuration file the proxy would not run either, but the defaults still say where to look.
  if (file === undefined && !existsSync(path)) return DEFAULT_SERVER_CONFIG;
  return (await loadConfig(path)).server;
}

function isEntryPoint(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(invoked) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

class UsageError extends Error {}
class ControlError extends Error {}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: readonly string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function usageError(message: string, command?: string): number {
  process.stderr.write(`shunt: ${message}\n${command === undefined ? 'Run `shunt --help` for the commands.' : `Run \`shunt ${command} --help\`.`}\n`);
  return 2;
}

function ignoreOutputError(): void {}

/** The state backend in one line (an older proxy's report has no `state`). */
function stateLine(state: ProxyStatus['state'] | undefined, now: number): string {
  if (state === undefined || state.backend === 'custom') return '';
  if (state.backend === 'redis') {
    return state.connected
      ? `state: redis (${state.key_prefix}), connected${state.pending_writes > 0 ? `, ${state.pending_writes} writes pending` : ''}\n`
      : `state: redis (${state.key_prefix}), UNREACHABLE${state.degraded_since_ms === null ? '' : ` for ${formatCountdown(now - state.degraded_since_ms)}`}, serving from the local replica, ${state.pending_writes} writes pending\n`;
  }
  if (state.path === null) return 'state: memory, not saved\n';
  const saved = state.last_saved_ms === null ? 'not saved yet' : `saved ${formatCountdown(now - state.last_saved_ms)} ago`;
  return `state: ${state.path}, ${saved}${state.last_error === null ? '' : `, LAST SAVE FAILED: ${state.last_error}`}\n`;
}

// Run only as a program, not when imported (tests import `main`).
if (isEntryPoint()) {
  // A closed terminal or a parent that exited makes writes to stdout/stderr fail (EPIPE). Without a
  // listener that error would end the process mid-request, or mid-shutdown before the state is
  // saved; with it, output goes nowhere and the proxy carries on.
  process.stdout.on('error', ignoreOutputError);
  process.stderr.on('error', ignoreOutputError);
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`shunt: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
