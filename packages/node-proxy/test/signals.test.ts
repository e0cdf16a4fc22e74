/**
 * Signals and closed pipes, on real `shunt start` processes: a proxy whose parent (the owner of its
 * stdout/stderr) has gone still stops on SIGTERM within the documented bound, frees its ports and
 * saves its state; `pnpm shunt start` passes SIGTERM on to the proxy and leaves no orphan; and a
 * proxy whose stderr is gone keeps serving.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockUpstream, type MockUpstream } from '../src/mock-upstream.js';
import { messageParams, textOf } from './helpers.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = join(packageDir, '..', '..');
const cli = join(packageDir, 'src', 'cli.ts');
/** docs/proxy.md: up to 10 s for requests under way, then at most 5 s to save and close. */
const SHUTDOWN_BOUND_MS = 15_000;

interface Running {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly controlUrl: string;
  /** Resolves when the process has exited (not when its pipes close: a test may have closed them). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function startMock(): Promise<MockUpstream> {
  const mock = createMockUpstream({ accounts: [{ name: 'a', key: 'key-a' }] });
  await mock.listen();
  cleanup.push(() => mock.close());
  return mock;
}

/** A configuration file (and its directory, which holds state.json) for one account on `upstreamUrl`. */
async function configFor(upstreamUrl: string): Promise<{ file: string; statePath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'shunt-signals-'));
  const file = join(dir, 'config.toml');
  await writeFile(
    file,
    `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${upstreamUrl}"\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key = "key-a"\n`,
  );
  return { file, statePath: join(dir, 'state.json') };
}

/** Spawn `command args`, with stdout/stderr piped to this test, and wait for the banner. */
async function spawnShunt(command: string, args: readonly string[], cwd: string, options: { detached?: boolean } = {}): Promise<Running> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let output = '';
  const banner = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /proxy +(http:\/\/\S+)\n +control +(http:\/\/\S+)\n/.exec(output);
      if (match !== null) resolve(match);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then(() => reject(new Error(`exited before its banner: ${output}`)));
  });
  return { child, proxyUrl: banner[1] as string, controlUrl: banner[2] as string, exited };
}

/** `shunt start` as the installed bin runs it: node itself, no wrapper process. */
function startProxy(configFile: string): Promise<Running> {
  return spawnShunt(process.execPath, ['--conditions=@shunt/source', '--import', 'tsx', cli, 'start', '--config', configFile], packageDir);
}

/** One streamed request through the proxy, read to its end. */
async function streamOnce(proxyUrl: string): Promise<string> {
  const client = new Anthropic({ baseURL: proxyUrl, apiKey: 'unused', maxRetries: 0 });
  let text = '';
  for await (const event of await client.messages.create({ ...messageParams('signals'), stream: true })) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return text;
}

/** Close this side of the child's stdout and stderr, as a parent that exits does. */
function closePipes(child: ChildProcess): void {
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** The exit, or a failure naming the bound once it has passed. */
async function exitWithinBound(running: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${SHUTDOWN_BOUND_MS} ms after SIGTERM`)), SHUTDOWN_BOUND_MS);
  });
  try {
    return await Promise.race([running.exited, overdue]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error code of a TCP connection to `url` (ECONNREFUSED once nothing listens). */
function connectError(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process below `pid` (children, grandchildren, …). */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of rows) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

async function savedLastUsed(statePath: string): Promise<string> {
  return (JSON.parse(await readFile(statePath, 'utf8')) as { lastUsed: string }).lastUsed;
}

describe('shunt start and signals', () => {
  it('should stop on SIGTERM within the bound, free both ports and save the state when its stdout/stderr reader has gone', { timeout: 60_000 }, async () => {
    const mock = await startMock();
    const config = await configFor(mock.url);
    const running = await startProxy(config.file);
    expect(await streamOnce(running.proxyUrl)).toMatch(/served by a/);

    // The parent that owned the pipes is gone: every write to stdout/stderr now fails (EPIPE).
    closePipes(running.child);
    running.child.kill('SIGTERM');

    expect(await exitWithinBound(running)).toEqual({ code: 0, signal: null });
    expect(await connectError(running.proxyUrl)).toBe('ECONNREFUSED');
    expect(await connectError(running.controlUrl)).toBe('ECONNREFUSED');
    expect(await savedLastUsed(config.statePath)).toBe('a');
  });

  it('should stop at once on a second SIGTERM during the shutdown, with stderr gone', { timeout: 60_000 }, async () => {
    const mock = await startMock();
    mock.script('a', { kind: 'stall', afterEvents: 5 });
    const config = await configFor(mock.url);
    const running = await startProxy(config.file);
    // A stream that never ends keeps the first SIGTERM's shutdown waiting for its 10 s grace.
    const client = new Anthropic({ baseURL: running.proxyUrl, apiKey: 'unused', maxRetries: 0 });
    const stalled = (await client.messages.create({ ...messageParams('stalled'), stream: true }))[Symbol.asyncIterator]();
    await stalled.next();
    // Drained in the background until the proxy cuts the stream.
    const reading = (async () => {
      while (!(await stalled.next()).done);
    })().catch(() => {});
    closePipes(running.child);
    running.child.kill('SIGTERM');
    // The first SIGTERM has been handled once the listener refuses connections. A repeat within
    // 500 ms counts as the same signal delivered twice, so signal again until the process goes:
    // without a second-signal stop it would wait out the 10 s grace and exit 0.
    while ((await connectError(running.proxyUrl)) === 'connected') await new Promise((resolve) => setImmediate(resolve));
    const exited = exitWithinBound(running);
    let gone = false;
    void exited.finally(() => (gone = true));
    while (!gone) {
      running.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20))]).catch(() => {});
    }
    expect(await exited).toEqual({ code: 130, signal: null });
    await reading;
  });

  it('should keep serving, with its log going nowhere, after its stdout/stderr reader has gone', { timeout: 60_000 }, async () => {
    const mock = await startMock();
    const config = await configFor(mock.url);
    const running = await startProxy(config.file);
    closePipes(running.child);

    // Enough requests that their log lines fill several batches, each write of which fails.
    const client = new Anthropic({ baseURL: running.proxyUrl, apiKey: 'unused', maxRetries: 0 });
    for (let i = 0; i < 40; i++) {
      if (i % 2 === 0) expect(await streamOnce(running.proxyUrl)).toMatch(/served by a/);
      else expect(textOf(await client.messages.create(messageParams(`plain-${i}`)))).toMatch(/served by a/);
    }
    expect(running.child.exitCode).toBeNull();
    const status = await fetch(`${running.controlUrl}/status`);
    expect(status.status).toBe(200);

    running.child.kill('SIGTERM');
    expect(await exitWithinBound(running)).toEqual({ code: 0, signal: null });
  });

  it('should take one Ctrl-C under `pnpm shunt start` as one, though the terminal and pnpm each deliver it', { timeout: 90_000 }, async () => {
    const mock = await startMock();
    // A stream that pauses 800 ms before its last event: a graceful stop lets it finish.
    mock.script('a', { kind: 'stream-error', errorType: 'overloaded_error', afterEvents: 5, errorDelayMs: 800 });
    const config = await configFor(mock.url);
    // Its own process group, as a terminal's foreground job: Ctrl-C sends SIGINT to every member.
    const running = await spawnShunt('pnpm', ['shunt', 'start', '--config', config.file], repoDir, { detached: true });
    const below = descendants(running.child.pid as number);
    cleanup.push(() => below.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));
    const response = await fetch(`${running.proxyUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'unused' },
      body: JSON.stringify({ ...messageParams('ctrl-c'), stream: true }),
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value);

    process.kill(-(running.child.pid as number), 'SIGINT');
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) body += decoder.decode(chunk.value);
    // The stream ran to its end (a second-Ctrl-C stop would have cut it and exited 130).
    expect(body).toContain('overloaded_error');
    expect(await exitWithinBound(running)).toEqual({ code: 0, signal: null });
    expect(below.filter(isAlive)).toEqual([]);
  });

  it('should pass SIGTERM to the proxy under `pnpm shunt start`: both ports freed, no process left', { timeout: 90_000 }, async () => {
    const mock = await startMock();
    const config = await configFor(mock.url);
    const running = await spawnShunt('pnpm', ['shunt', 'start', '--config', config.file], repoDir);
    expect(await streamOnce(running.proxyUrl)).toMatch(/served by a/);
    const below = descendants(running.child.pid as number);
    expect(below.length).toBeGreaterThan(0);
    // Should this test fail, the orphans must not outlive it.
    cleanup.push(() => below.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));

    running.child.kill('SIGTERM');
    await exitWithinBound(running);
    expect(await connectError(running.proxyUrl)).toBe('ECONNREFUSED');
    expect(await connectError(running.controlUrl)).toBe('ECONNREFUSED');
    expect(below.filter(isAlive)).toEqual([]);
    expect(await savedLastUsed(config.statePath)).toBe('a');
  });
});
