/**
 * What a new user meets first, against the real program (`shunt` through tsx, as `pnpm shunt` runs
 * it): a recording that cannot be lost silently, start-up lines that say what is wrong, the Rust
 * shunt's commands and flags, and `shunt service install`.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyStatus } from '../src/control.js';
import { RUST_POINTERS } from '../src/rust-commands.js';
import { systemdSplit } from '../src/service.js';
import { runMain, shunt, startStack, type RunningShunt, type Stack } from './helpers.js';

let stack: Stack | null = null;
const running: RunningShunt[] = [];
afterEach(async () => {
  for (const proc of running.splice(0)) {
    if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  }
  await stack?.close();
  stack = null;
});

/** A fresh folder that stands for the user's home. */
const home = (): Promise<string> => mkdtemp(join(tmpdir(), 'shunt-home-'));

/** A config in its own folder: the mock upstream, free ports, a relative state file; `extra` lines go in [server]. */
async function configFor(dir: string, upstream: string, extra = '', accounts = '[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n'): Promise<string> {
  const file = join(dir, 'config.toml');
  await writeFile(file, `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${upstream}"\nstate_path = "state.json"\n${extra}\n${accounts}`);
  return file;
}

function start(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): RunningShunt {
  const proc = shunt(['start', ...args], { env: { A_KEY: 'key-a', ...env }, ...(cwd === undefined ? {} : { cwd }) });
  running.push(proc);
  return proc;
}

async function request(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'anything' },
    body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
}

async function statusOf(controlUrl: string): Promise<ProxyStatus> {
  return (await (await fetch(`${controlUrl}/status`)).json()) as ProxyStatus;
}

/** Poll the control API until `check` holds (the recorder flushes about once a second). */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The proxy's and control API's URLs, once the banner is out. */
async function urls(proc: RunningShunt): Promise<{ proxy: string; control: string }> {
  await proc.seen(/ANTHROPIC_BASE_URL=/);
  const found = /^ {2}proxy {3}(http:\S+)\n {2}control (http:\S+)$/m.exec(proc.output());
  if (found === null) throw new Error(`no URLs in ${proc.output()}`);
  return { proxy: found[1] as string, control: found[2] as string };
}

describe('recording', () => {
  it('should create a missing folder for --record ~/…, say so in the banner and /status, and count the rows', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const config = await configFor(user, stack.mock.url);
    // Quoted, so the shell leaves `~` to shunt (as `--record=~/…` and service files do).
    const proc = start(['--config', config, '--record', '~/shunt/my-week.csv'], { HOME: user });
    const { proxy, control } = await urls(proc);
    const trace = join(user, 'shunt', 'my-week.csv');
    expect(await proc.seen(/^ {2}recording to (.+)$/m)).toBe(trace);
    await request(proxy);
    const status = await until(() => statusOf(control), (s) => s.recording !== null && s.recording.rows === 1);
    expect(status.recording).toEqual({ path: trace, rows: 1, dropped: 0, rotations: 0, last_error: null, failing_since_ms: null });
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
    expect((await readFile(trace, 'utf8')).split('\n')[0]).toBe('# shunt-trace v1');
  });

  it('should expand ~ in record_trace and state_path instead of making a folder named ~', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const dir = join(user, 'conf');
    await mkdir(dir);
    const file = join(dir, 'config.toml');
    await writeFile(
      file,
      `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${stack.mock.url}"\nstate_path = "~/state.json"\nrecord_trace = "~/rec.csv"\n[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n`,
    );
    const proc = start(['--config', file], { HOME: user });
    const { proxy } = await urls(proc);
    await request(proxy);
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
    expect((await readdir(user)).sort()).toEqual(['conf', 'rec.csv', 'state.json']);
    expect(await readdir(dir)).toEqual(['config.toml']);
  });

  it('should refuse to start, exit 2 and name the path, when the recording cannot be written', { timeout: 60_000 }, async () => {
    const user = await home();
    await writeFile(join(user, 'a-file'), '');
    const config = await configFor(user, 'http://127.0.0.1:9');
    const { code, err } = await start(['--config', config, '--record', join(user, 'a-file', 'week.csv')]).done;
    expect(code).toBe(2);
    expect(err).toMatch(new RegExp(`^shunt: ${join(user, 'a-file', 'week.csv')}: cannot `, 'm'));
    expect(err).not.toMatch(/ANTHROPIC_BASE_URL/);
  });

  it('should show failing writes in /status, /metrics and shunt status, not only in one log line', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const config = await configFor(user, stack.mock.url);
    const folder = join(user, 'recordings');
    const proc = start(['--config', config, '--record', join(folder, 'week.csv')]);
    const { proxy, control } = await urls(proc);
    // The folder goes away under the running proxy (a disk unmounted, a cleanup job).
    await rm(folder, { recursive: true });
    await request(proxy);
    const status = await until(() => statusOf(control), (s) => s.recording?.last_error != null);
    expect(status.recording).toMatchObject({ rows: 1, dropped: 1, last_error: expect.stringMatching(/ENOENT/), failing_since_ms: expect.any(Number) });
    const metrics = await (await fetch(`${control}/metrics`)).text();
    expect(metrics).toMatch(/^shunt_trace_recording_up 0$/m);
    expect(metrics).toMatch(/^shunt_trace_rows_dropped 1$/m);
    const controlPort = new URL(control).port;
    const statusConfig = join(user, 'status.toml');
    await writeFile(statusConfig, `[server]\ncontrol_port = ${controlPort}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    const shown = await runMain(['status', '--config', statusConfig]);
    expect(shown.out).toMatch(new RegExp(`^recording: ${join(folder, 'week.csv')}, WRITES FAILING for \\S+: .*ENOENT.*; 1 row, 1 DROPPED$`, 'm'));
  });

  it('should record the demo with --record, for pnpm sim', { timeout: 60_000 }, async () => {
    const user = await home();
    const trace = join(user, 'demo', 'demo.csv');
    const { code, out } = await shunt(['demo', '--record', trace]).done;
    expect(code).toBe(0);
    expect(out).toContain(`Recorded 13 rows to ${trace}: replay them with \`pnpm sim ${trace}\``);
    const lines = (await readFile(trace, 'utf8')).trim().split('\n');
    expect(lines.slice(0, 2).join('\n')).toMatch(/^# shunt-trace v1\nts,request_id,session,account,/);
    expect(new Set(lines.slice(2).map((line) => line.split(',')[3]))).toEqual(new Set(['alpha', 'bravo', 'charlie']));
  });
});

describe('start-up lines that say what is wrong', () => {
  it('should exit 2 when no account is usable, naming each and why; a flag starts it anyway', { timeout: 60_000 }, async () => {
    const user = await home();
    const config = await configFor(user, 'http://127.0.0.1:9');
    const refused = await start(['--config', config], { A_KEY: undefined }).done;
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(
      `shunt: ${config}: accounts: 0 of 1 account usable: a (environment variable A_KEY is not set); every request would get a 503 (start anyway with --allow-no-usable-accounts)\n`,
    );
    const allowed = start(['--config', config, '--allow-no-usable-accounts'], { A_KEY: undefined });
    expect(await allowed.seen(/^(shunt \S+: .*)$/m)).toMatch(/: 0 of 1 account usable: a \(environment variable A_KEY is not set\), strategy maximus$/);
    allowed.child.kill('SIGTERM');
    expect((await allowed.done).code).toBe(0);
  });

  it('should count usable accounts in the banner', { timeout: 60_000 }, async () => {
    const user = await home();
    const accounts = '[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n[[accounts]]\nname = "b"\napi_key_env = "B_KEY"\n';
    const proc = start(['--config', await configFor(user, 'http://127.0.0.1:9', '', accounts)], { B_KEY: undefined });
    expect(await proc.seen(/^shunt \S+: (.*)$/m)).toBe('1 of 2 accounts usable: b (environment variable B_KEY is not set), strategy maximus');
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
  });

  it('should name the port that is taken', { timeout: 60_000 }, async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const user = await home();
      const file = join(user, 'config.toml');
      await writeFile(file, `[server]\nport = ${port}\ncontrol_port = 0\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n`);
      const { code, err } = await start(['--config', file]).done;
      expect(code).toBe(1);
      expect(err).toContain(`shunt: port ${port} on 127.0.0.1 (server.port) is already in use: another shunt`);
      // The state file is free again for the next try.
      expect(await readdir(user)).not.toContain('state.json.lock');
    } finally {
      taken.close();
    }
  });

  it('should refuse a second proxy on the same state file while the first runs, naming its pid', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const config = await configFor(user, stack.mock.url);
    const first = start(['--config', config]);
    const { proxy, control } = await urls(first);
    const { code, err } = await start(['--config', config]).done;
    expect(code).toBe(2);
    const { pid } = await statusOf(control);
    expect(err).toBe(`shunt: ${join(user, 'state.json')} is in use by another shunt (pid ${pid}): two proxies saving one state file overwrite each other; give this one its own server.state_path, or stop the other (\`shunt stop\`)\n`);
    // The first is unharmed, and its lock goes with it.
    await request(proxy);
    first.child.kill('SIGTERM');
    expect((await first.done).code).toBe(0);
    expect(await readdir(user)).not.toContain('state.json.lock');
  });
});

describe('an unwritable state_path', () => {
  it('should exit 2 naming server.state_path, not with a stack trace', async () => {
    const user = await home();
    await writeFile(join(user, 'a-file'), '');
    const file = join(user, 'config.toml');
    await writeFile(file, `[server]\nport = 0\ncontrol_port = 0\nstate_path = "a-file/state.json"\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    const { code, err } = await runMain(['start', '--config', file]);
    expect(code).toBe(2);
    // The folder is a file: mkdir says EEXIST (or, on some systems, ENOTDIR).
    expect(err).toMatch(new RegExp(`^shunt: ${file}: server\\.state_path: cannot write next to ${join(user, 'a-file', 'state.json')} \\((EEXIST|ENOTDIR)\\): choose a writable state_path\n$`));
  });
});

describe('the Rust shunt drop-in', () => {
  it('should run the Rust service files\' `start --foreground`, take --verbose, and stop with `shunt stop`', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const config = await configFor(user, stack.mock.url);
    const proc = start(['--foreground', '--verbose', '--config', config]);
    const { proxy, control } = await urls(proc);
    await request(proxy);
    // --verbose: debug records (one `pick` per attempt).
    await proc.seen(/"level":"debug".*"msg":"pick"/);
    const controlPort = new URL(control).port;
    const stopConfig = join(user, 'stop.toml');
    await writeFile(stopConfig, `[server]\ncontrol_port = ${controlPort}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    const stopped = await shunt(['stop', '--config', stopConfig]).done;
    expect(stopped.code).toBe(0);
    expect(stopped.out).toMatch(/^stopped \(pid \d+\)\n$/);
    expect((await proc.done).code).toBe(0);
  });

  it('should say so when the pid the control API gives is not a process here', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    // A control API of a shunt that runs elsewhere (a container): its pid means nothing here.
    const server = createHttpServer((_req, res) => res.end(JSON.stringify({ pid: 999_999_999, accounts: [] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const user = await home();
      const config = join(user, 'c.toml');
      await writeFile(config, `[server]\ncontrol_port = ${(server.address() as { port: number }).port}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
      expect(await runMain(['stop', '--config', config])).toEqual({
        code: 1,
        out: '',
        err: 'shunt: the shunt answering runs as pid 999999999, which is not a process on this machine: stop it where it runs\n',
      });
    } finally {
      server.close();
    }
  });

  it('should answer -V, `strategy set|clear`, and point every other Rust command at its replacement', async () => {
    expect((await runMain(['-V'])).out).toMatch(/^\d+\.\d+\.\d+/);
    for (const [command, pointer] of Object.entries(RUST_POINTERS)) {
      const result = await runMain([command]);
      expect(result).toEqual({ code: 2, out: '', err: `shunt: \`shunt ${command}\` is the Rust shunt's; here: ${pointer}\n` });
    }
    stack = await startStack();
    const user = await home();
    const config = join(user, 'c.toml');
    await writeFile(config, `[server]\ncontrol_port = ${new URL(stack.controlUrl).port}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    expect(await runMain(['strategy', 'set', 'round-robin', '--config', config])).toMatchObject({ code: 0, out: 'carousel (set at run time)\n' });
    expect(await runMain(['strategy', 'clear', '--config', config])).toMatchObject({ code: 0, out: 'maximus (from the configuration)\n' });
    expect(await runMain(['use', 'b', '--config', config])).toMatchObject({ code: 0, out: 'pinned to b\n' });
    // Without a name (the Rust picker): the choices, and exit 2.
    expect(await runMain(['use', '--config', config])).toMatchObject({
      code: 2,
      err: 'shunt: expected one account name, or auto; accounts: a (available), b (available), c (available); pinned: b\nRun `shunt use --help`.\n',
    });
  });
});

describe('shunt service install', () => {
  it('should print a systemd unit whose ExecStart starts shunt from any folder', { timeout: 60_000 }, async () => {
    stack = await startStack();
    const user = await home();
    const config = await configFor(user, stack.mock.url);
    const { code, out } = await shunt(['service', 'install', '--platform', 'systemd', '--dry-run', '--config', config], { env: { XDG_CONFIG_HOME: join(user, 'xdg') } }).done;
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^# ${join(user, 'xdg', 'systemd', 'user', 'shunt.service')}\n`));
    expect(out).toContain('\nRestart=on-failure\nRestartSec=5\nRestartPreventExitStatus=2\n');
    expect(out).toContain(`\nEnvironmentFile=-${join(user, 'env')}\n`);
    expect(out).toContain('\nWantedBy=default.target\n');
    expect(out).toContain('#   systemctl --user enable --now shunt\n');
    const execStart = /^ExecStart=(.*)$/m.exec(out)?.[1];
    const argv = systemdSplit(execStart ?? '');
    expect(argv.slice(-4)).toEqual(['start', '--foreground', '--config', config]);
    expect(argv.every((arg, i) => i === 0 || !arg.startsWith('--import') || argv[i + 1]?.startsWith('file:') === true || arg.includes('=file:'))).toBe(true);
    // What systemd would run, from a folder that is not the repository.
    const { spawn } = await import('node:child_process');
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: user, env: { ...process.env, A_KEY: 'key-a' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const banner = new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const url = /ANTHROPIC_BASE_URL=(http:\S+)/.exec(err)?.[1];
        if (url !== undefined) resolve(url);
      });
      child.on('close', () => reject(new Error(`ExecStart exited: ${err}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await request(await banner);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('should print a launchd agent with the same command, escaped for XML', async () => {
    const user = await home();
    const config = join(user, 'R&D <team>', 'config.toml');
    const { code, out } = await runMain(['service', 'install', '--platform', 'launchd', '--dry-run', '--config', config]);
    expect(code).toBe(0);
    expect(out).toContain('<key>Label</key>\n  <string>sh.shunt.proxy</string>');
    expect(out).toContain(`    <string>start</string>\n    <string>--foreground</string>\n    <string>--config</string>\n    <string>${join(user, 'R&amp;D &lt;team&gt;', 'config.toml')}</string>\n  </array>`);
    expect(out).toContain('<key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>');
    expect(out).toMatch(/#   launchctl bootstrap gui\/\$\(id -u\) .*sh\.shunt\.proxy\.plist/);
    expect(out).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
  });

  it('should write the unit where systemd reads it, and remove it on uninstall', async () => {
    const user = await home();
    const config = await configFor(user, 'http://127.0.0.1:9');
    const previous = process.env['XDG_CONFIG_HOME'];
    process.env['XDG_CONFIG_HOME'] = join(user, 'xdg');
    try {
      const unit = join(user, 'xdg', 'systemd', 'user', 'shunt.service');
      const installed = await runMain(['service', 'install', '--platform', 'systemd', '--config', config]);
      expect(installed).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^wrote ${unit}\nstart it with:\n  systemctl --user daemon-reload\n`)) });
      expect(await readFile(unit, 'utf8')).toMatch(/^ExecStart=.* start --foreground --config /m);
      const removed = await runMain(['service', 'uninstall', '--platform', 'systemd', '--config', config]);
      expect(removed).toMatchObject({ code: 0, out: expect.stringContaining(`removed ${unit}\n`) });
      expect(await readdir(join(user, 'xdg', 'systemd', 'user'))).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env['XDG_CONFIG_HOME'];
      else process.env['XDG_CONFIG_HOME'] = previous;
    }
  });
});
