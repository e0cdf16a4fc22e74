#!/usr/bin/env node
/**
 * @module
 * The `shunt` command: a thin layer over `createProxy`, `loadConfig`, the control API and the demo.
 * Exit codes: 0 done, 1 failed at run time, 2 bad usage or configuration.
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULT_SERVER_CONFIG, defaultConfigPath, expandPath, loadConfig, parseConfig, type ShuntConfig } from './config.js';
import type { ProxyStatus } from './control.js';
import { runDemo } from './demo.js';
import { jsonLogger } from './logger.js';
import { assertCredentialsKey, configWarnings, loadAccountCredentials } from './oauth-accounts.js';
import { LoginError, runImportClaudeCode, runLogin, type LoginTarget } from './oauth-login.js';
import { assertSafeBind, createProxy, type ShuntProxy } from './proxy.js';
import { TraceFileError } from './recorder.js';
import { RUST_POINTERS } from './rust-commands.js';
import { currentCommand, serviceFile, type ServicePlatform } from './service.js';
import { openState } from './state.js';
import { acquireStateLock, isAlive, StateLockError, type StateLock } from './state-lock.js';
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
  pin <account|auto>       send every request to one account, or back to automatic routing (alias: use)
  strategy [name]          show the routing strategy, or switch it (maximus, cushion, reaper, carousel)
  stop                     stop the running proxy (it finishes requests under way first)
  login <account>          log a subscription (OAuth) account in and save its tokens
  import-claude-code <account>
                           copy Claude Code's stored subscription login into shunt's credentials
  service install          run shunt at login: a systemd user unit, or a launchd agent on macOS

Options:
  -h, --help               help for shunt or for a command (shunt start --help)
  -v, -V, --version        print the version

Coming from the Rust shunt? Its config.toml loads as it is, and its other commands answer with
what replaces them (docs/proxy.md#coming-from-the-rust-shunt).

Configuration: --config FILE, else $SHUNT_CONFIG, else $XDG_CONFIG_HOME/shunt/config.toml
(~/.config/shunt/config.toml). See docs/proxy.md.
`;

const HELP: Readonly<Record<string, string>> = {
  demo: `Usage: shunt demo [--record FILE] [--verbose]

Starts a mock Anthropic API with three accounts of different headroom and the proxy in front of it,
sends a short scripted mix of streaming and non-streaming requests (one hits a 429 and fails over,
one conversation stays sticky, one waits for an account to come back), prints which account served
each request and why, and exits. No network, no credentials.

  --record FILE            record the demo's traffic as a trace, then try \`pnpm sim FILE\`
  --verbose                also write the proxy's JSON log to stderr
`,
  start: `Usage: shunt start [--config FILE] [--host H] [--port P] [--record FILE] [--verbose]

Runs the proxy in the foreground until interrupted (Ctrl-C finishes requests under way, a second
Ctrl-C stops at once). Logs JSON lines to stderr. Refuses to start (exit 2) when no account has a
credential.

  --config FILE            configuration file (TOML, or JSON when it ends in .json)
  --host H                 bind address (overrides server.host; anything but loopback needs
                           server.remote_key and server.control_token)
  --port P                 proxy port (overrides server.port)
  --record FILE            append one trace row per upstream response to FILE, for
                           \`pnpm sim FILE\` (overrides server.record_trace; see docs/recording.md)
  --verbose                log at debug level (overrides server.log_level)
  --foreground             accepted for the Rust shunt's service files: shunt start always runs
                           in the foreground (use \`shunt service install\` to run it in the background)
  --allow-no-usable-accounts
                           start even when no account has a credential (every request gets a 503)
`,
  stop: `Usage: shunt stop [--config FILE]

Asks the running proxy (found through the control API) to stop, as Ctrl-C does: it finishes
requests under way for up to 10 s, saves the routing state and exits. Waits until it has.

  --config FILE            configuration file (for the control port and token)
`,
  service: `Usage: shunt service install|uninstall [--config FILE] [--dry-run]

install writes a service that runs \`shunt start --foreground --config FILE\` at login and prints
the commands that start it: a systemd user unit (~/.config/systemd/user/shunt.service) on Linux, a
launchd agent (~/Library/LaunchAgents/sh.shunt.proxy.plist) on macOS. It runs this very shunt (the
same node and script). uninstall removes the file and prints the commands that stop it.

  --config FILE            the configuration the service runs with (default: the usual one)
  --dry-run                print the file and the commands, write nothing
  --platform P             systemd or launchd (default: launchd on macOS, else systemd)
`,
  status: `Usage: shunt status [--config FILE] [--json]

Shows each account's state (available, cooling, exhausted, disabled) and windows, from the running
proxy's control API.

  --config FILE            configuration file (for the control port and token)
  --json                   print the raw /status JSON
`,
  pin: `Usage: shunt pin <account|auto> [--config FILE]   (or: shunt use …)

Sends every request to one account (while it is eligible), or with \`auto\` returns to automatic
routing. Talks to the running proxy's control API. An unknown account exits 2 and lists them.

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
it restarts; --reset returns to the configured one. The Rust forms \`strategy set NAME\` and
\`strategy clear\` work too.

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
  if (command === '-v' || command === '-V' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const pointer = RUST_POINTERS[command];
  if (pointer !== undefined) {
    process.stderr.write(`shunt: \`shunt ${command}\` is the Rust shunt's; here: ${pointer}\n`);
    return 2;
  }
  const help = HELP[command === 'use' ? 'pin' : command];
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
      case 'use':
        return await pin(rest);
      case 'stop':
        return await stop(rest);
      case 'service':
        return await service(rest);
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
    if (error instanceof TraceFileError || error instanceof StateLockError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return 2;
    }
    if (error instanceof LoginError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ControlError) {
      process.stderr.write(`shunt: ${error.message}\n`);
      // The proxy refused what was asked (an unknown account or strategy): bad usage.
      return error.httpStatus === 400 ? 2 : 1;
    }
    throw error;
  }
}

async function demo(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { verbose: { type: 'boolean' }, record: { type: 'string' } });
  const record = values.record === undefined ? undefined : recordPath(values.record);
  return runDemo({ verbose: values.verbose === true, record });
}

async function start(args: readonly string[]): Promise<number> {
  if (args.includes('--daemon')) throw new UsageError('--daemon: shunt does not daemonise itself; run it under a service manager (`shunt service install`)');
  const { values } = parse(args, {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    record: { type: 'string' },
    verbose: { type: 'boolean' },
    foreground: { type: 'boolean' },
    'allow-no-usable-accounts': { type: 'boolean' },
  });
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
  if (values.record !== undefined) config = { ...config, server: { ...config.server, recordTrace: recordPath(values.record) } };
  if (values.verbose === true) config = { ...config, server: { ...config.server, logLevel: 'debug' } };
  const logger = jsonLogger({ level: config.server.logLevel });
  // Refusals (an open bind without keys) come before the warnings: one line, then exit 2.
  assertSafeBind(config);
  // Credentials: the credentials file's entry, else api_key, else api_key_env.
  const credentials = await loadAccountCredentials(config);
  for (const warning of configWarnings(config, credentials.fromFile)) logger.warn('config', { warning });
  const unusable = config.accounts.filter((a) => !credentials.fromFile.has(a.name) && (a.auth === 'oauth' || a.apiKey === null));
  const usable = config.accounts.length - unusable.length;
  const accountsLine =
    `${usable} of ${config.accounts.length} account${config.accounts.length === 1 ? '' : 's'} usable` +
    (unusable.length === 0 ? '' : `: ${unusable.map((a) => `${a.name} (${a.missingCredential ?? 'no credential'})`).join(', ')}`);
  if (usable === 0 && values['allow-no-usable-accounts'] !== true) {
    throw new ConfigError(config.file, 'accounts', `${accountsLine}; every request would get a 503 (start anyway with --allow-no-usable-accounts)`);
  }
  // One live proxy per state file: a second one on the same file would overwrite the first's.
  const lock: StateLock | null = config.state.backend === 'memory' ? stateLock(config) : null;
  const releaseLock = (): void => lock?.release();
  process.on('exit', releaseLock);
  let proxy: ShuntProxy;
  let addresses;
  try {
    // The routing state: the saved file restored, or the shared state loaded from Redis (or, with
    // Redis unreachable, a local replica that syncs once it answers).
    assertCredentialsKey(config, credentials.oauth);
    const state = await openState(config, { logger });
    try {
      // With a Redis backend and a credentials key, subscription tokens are the pool's, not this file's.
      const credential = state.sharedTokens === undefined ? credentials.credential : credentials.sharedBy(state.sharedTokens);
      proxy = createProxy({ config, logger, state, credential });
    } catch (error) {
      await state.close();
      throw error;
    }
    try {
      addresses = await proxy.listen();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        process.stderr.write(`shunt: ${listenError(config, error as NodeJS.ErrnoException)}\n`);
        await proxy.close();
        releaseLock();
        return 1;
      }
      throw error;
    }
  } catch (error) {
    releaseLock();
    throw error;
  }
  const recording = proxy.status().recording;
  // The signal handlers go in before the banner: whoever reads the banner (a process manager, a
  // test) may send SIGTERM at once, and a signal with no handler yet would kill the process
  // without saving its state.
  const stopped = new Promise<number>((resolve) => {
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
        () => {
          releaseLock();
          resolve(0);
        },
        () => {
          releaseLock();
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  process.stderr.write(
    `shunt ${VERSION}: ${accountsLine}, strategy ${proxy.strategy().name}\n` +
      `  proxy   ${addresses.proxyUrl}\n  control ${addresses.controlUrl}\n` +
      (recording === null ? '' : `  recording to ${recording.path}\n`) +
      `  point Claude Code at it:  ANTHROPIC_BASE_URL=${addresses.proxyUrl} claude\n`,
  );
  return stopped;
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
  process.stdout.write(stateLine(report.state, now) + recordingLine(report.recording, now) + formatStatus(report, { nowMs: now, color }));
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
  if (extra !== undefined) throw new UsageError('expected one account name, or auto');
  if (account === undefined) {
    // The Rust `shunt use` offered a picker: the choices, from the running proxy, and how to pick.
    const report = (await callControl(values.config, 'GET', '/status').catch(() => {
      throw new UsageError('expected one account name, or auto');
    })) as ProxyStatus;
    const names = report.accounts.map((a) => `${a.name} (${a.status})`).join(', ');
    throw new UsageError(`expected one account name, or auto; accounts: ${names}; pinned: ${report.pinned_account ?? 'none'}`);
  }
  const result = (await callControl(values.config, 'POST', '/use', { account })) as { pinned: string | null };
  process.stdout.write(result.pinned === 'auto' || result.pinned === null ? 'automatic routing\n' : `pinned to ${result.pinned}\n`);
  return 0;
}

async function strategy(args: readonly string[]): Promise<number> {
  const { values, positionals: given } = parse(args, { config: { type: 'string' }, reset: { type: 'boolean' } }, true);
  // The Rust forms: `strategy set NAME` and `strategy clear`.
  if (given[0] === 'clear' && given.length === 1) values.reset = true;
  const positionals = given[0] === 'set' || given[0] === 'clear' ? given.slice(1) : given;
  if (given[0] === 'set' && positionals.length === 0) throw new UsageError('expected a strategy name after set');
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

async function stop(args: readonly string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' } });
  const report = (await callControl(values.config, 'GET', '/status')) as Partial<ProxyStatus>;
  const pid = report.pid;
  if (typeof pid !== 'number') throw new ControlError('the running shunt does not report its pid (an older version): stop it with Ctrl-C or its service manager');
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    // The control API answered, but its pid is not a process here (a container, another machine) or not ours.
    const code = (error as NodeJS.ErrnoException).code;
    throw new ControlError(
      code === 'ESRCH'
        ? `the shunt answering runs as pid ${pid}, which is not a process on this machine: stop it where it runs`
        : `not allowed to signal shunt (pid ${pid}, ${code ?? 'error'}): stop it as the user that runs it`,
    );
  }
  process.stderr.write(`shunt: asked shunt (pid ${pid}) to stop; waiting for it to finish requests under way\n`);
  // Its own bound is 15 s (10 s of requests, 5 s to save); a little more is allowed here.
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (!isAlive(pid)) {
      process.stdout.write(`stopped (pid ${pid})\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ControlError(`shunt (pid ${pid}) is still running 20 s after SIGTERM`);
}

async function service(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { config: { type: 'string' }, 'dry-run': { type: 'boolean' }, platform: { type: 'string' } }, true);
  const [action, extra] = positionals;
  if (extra !== undefined || (action !== 'install' && action !== 'uninstall')) {
    if (action === 'status') throw new UsageError('`shunt service status`: use `systemctl --user status shunt` (Linux) or `launchctl print gui/$(id -u)/sh.shunt.proxy` (macOS), and `shunt status`');
    throw new UsageError('expected install or uninstall');
  }
  const platform = values.platform ?? (process.platform === 'darwin' ? 'launchd' : 'systemd');
  if (platform !== 'systemd' && platform !== 'launchd') throw new UsageError(`--platform must be systemd or launchd, got ${JSON.stringify(platform)}`);
  const configPath = values.config === undefined ? defaultConfigPath() : expandPath(values.config, process.cwd());
  const file = serviceFile({
    platform: platform as ServicePlatform,
    command: currentCommand(),
    configPath,
    xdgConfigHome: process.env['XDG_CONFIG_HOME'] || undefined,
  });
  const dryRun = values['dry-run'] === true;
  if (action === 'uninstall') {
    if (!dryRun) await rm(file.path, { force: true });
    process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${file.path}\nstop it with:\n${file.disable.map((c) => `  ${c}\n`).join('')}`);
    return 0;
  }
  if (dryRun) {
    process.stdout.write(`# ${file.path}\n${file.content}\n# then:\n${file.enable.map((c) => `#   ${c}\n`).join('')}`);
    return 0;
  }
  if (!existsSync(configPath)) process.stderr.write(`shunt: warning: ${configPath} does not exist yet; write it before starting the service\n`);
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(file.path, file.content, { mode: 0o644 });
  process.stdout.write(`wrote ${file.path}\nstart it with:\n${file.enable.map((c) => `  ${c}\n`).join('')}`);
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
  const json = (await response.json().catch(() => null)) as { error?: string; accounts?: unknown; strategies?: unknown } | null;
  if (!response.ok) {
    // The proxy lists what it would accept: said on the same line.
    const choices = Array.isArray(json?.accounts) ? `; accounts: ${json.accounts.join(', ')}` : Array.isArray(json?.strategies) ? `; strategies: ${json.strategies.join(', ')}` : '';
    throw new ControlError(`${json?.error ?? `${method} ${path} failed with ${response.status}`}${choices}`, response.status);
  }
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
class ControlError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
  }
}

/** A `--record` argument: `~` expanded (a quoted or `--record=~/…` one reaches us as it is), relative to the working directory. */
function recordPath(arg: string): string {
  if (arg.trim() === '') throw new UsageError('--record needs a file name');
  return expandPath(arg, process.cwd());
}

/** Which port is taken (or refused), and what to do about it. */
function listenError(config: ShuntConfig, error: NodeJS.ErrnoException & { port?: number; address?: string }): string {
  const { host, port, controlPort } = config.server;
  const at = error.port ?? (error.message.includes(`:${controlPort}`) ? controlPort : port);
  const key = at === controlPort ? 'server.control_port' : 'server.port';
  if (error.code === 'EADDRINUSE') {
    return `port ${at} on ${host} (${key}) is already in use: another shunt (\`shunt status\`, \`shunt stop\`) or another program; choose another ${key}${key === 'server.port' ? ' or --port' : ''}`;
  }
  if (error.code === 'EACCES') return `not allowed to listen on port ${at} on ${host} (${key}): ports below 1024 need privileges; choose another ${key}`;
  return `cannot listen on ${host}, port ${at} (${key}): ${error.code} (no interface has that address)`;
}


function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: readonly string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    // The first sentence: parseArgs adds advice about positionals that start with "-".
    throw new UsageError((error as Error).message.split(/\.\s/)[0] ?? '');
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

/** The state file's lock, or a configuration error naming `server.state_path` when it cannot be made there. */
function stateLock(config: ShuntConfig): StateLock {
  try {
    return acquireStateLock(config.server.statePath);
  } catch (error) {
    if (error instanceof StateLockError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(config.file, 'server.state_path', `cannot write next to ${config.server.statePath} (${code}): choose a writable state_path`);
  }
}

/** The recording in one line: where rows go and whether they get there. */
function recordingLine(recording: ProxyStatus['recording'] | undefined, now: number): string {
  if (recording == null) return '';
  const counts = `${recording.rows} row${recording.rows === 1 ? '' : 's'}${recording.dropped > 0 ? `, ${recording.dropped} DROPPED` : ''}`;
  if (recording.last_error === null) return `recording: ${recording.path}, ${counts}\n`;
  const since = recording.failing_since_ms === null ? '' : ` for ${formatCountdown(now - recording.failing_since_ms)}`;
  return `recording: ${recording.path}, WRITES FAILING${since}: ${recording.last_error}; ${counts}\n`;
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
