/**
 * Test helpers: a mock upstream with accounts `a`, `b`, `c`, the proxy in front of it, and the
 * official Anthropic SDK (maxRetries: 0) pointed at the proxy. Everything binds 127.0.0.1 port 0.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { memoryStore, type MemoryStore } from '@shunt/core';
import { vi } from 'vitest';
import { main } from '../src/cli.js';
import { parseConfig } from '../src/config.js';
import { jsonLogger } from '../src/logger.js';
import { createMockUpstream, type MockAccountOptions, type MockUpstream } from '../src/mock-upstream.js';
import { createProxy, type ProxyOptions, type RequestRecord, type ShuntProxy } from '../src/proxy.js';

/** 2026-01-05T09:00:00Z: a fixed start for fake clocks. */
export const T0_MS: number = Date.UTC(2026, 0, 5, 9);

/** A clock the test moves by hand; `sleep` advances it instead of waiting. */
export interface FakeClock {
  now(): number;
  advance(ms: number): void;
  /** Holds wait through this: it advances the clock by `ms` at once (unless aborted). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Every wait requested, in order. */
  readonly sleeps: number[];
}

export function fakeClock(start: number = T0_MS): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    async sleep(ms, signal) {
      if (signal.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

export interface StackOptions {
  /** Mock accounts (default a, b, c with fresh windows). */
  readonly accounts?: readonly MockAccountOptions[];
  /** Extra `[server]` keys (snake_case, as in the file). */
  readonly server?: Record<string, unknown>;
  /** Use a fake clock (shared by the mock, the store and the holds). */
  readonly clock?: FakeClock;
  /** Override proxy options. */
  readonly proxy?: Partial<Omit<ProxyOptions, 'config'>>;
  /** Streamed replies' delta count. */
  readonly streamDeltas?: number;
}

export interface Stack {
  readonly mock: MockUpstream;
  readonly proxy: ShuntProxy;
  readonly store: MemoryStore;
  readonly proxyUrl: string;
  readonly controlUrl: string;
  /** The SDK, pointed at the proxy, no retries. */
  readonly client: Anthropic;
  /** Every finished request's record. */
  readonly records: RequestRecord[];
  /** Every log line the proxy wrote (debug level). */
  readonly logs: string[];
  /** Resolves with the next finished request's record. */
  nextRecord(): Promise<RequestRecord>;
  close(): Promise<void>;
}

export const DEFAULT_ACCOUNTS: readonly MockAccountOptions[] = [
  { name: 'a', key: 'key-a' },
  { name: 'b', key: 'key-b' },
  { name: 'c', key: 'key-c' },
];

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const clock = options.clock;
  const mock = createMockUpstream({
    accounts,
    ...(clock === undefined ? {} : { now: clock.now }),
    ...(options.streamDeltas === undefined ? {} : { streamDeltas: options.streamDeltas }),
  });
  const upstreamUrl = await mock.listen();
  const config = parseConfig(
    {
      server: { port: 0, control_port: 0, upstream_url: upstreamUrl, ...options.server },
      accounts: accounts.map((a) => ({ name: a.name, api_key: a.key })),
    },
    { file: '<test>', env: {} },
  );
  const store = memoryStore(clock === undefined ? {} : { now: clock.now });
  const records: RequestRecord[] = [];
  const logs: string[] = [];
  const waiting: Array<(record: RequestRecord) => void> = [];
  const proxy = createProxy({
    config,
    store,
    logger: jsonLogger({ level: 'debug', write: (line) => logs.push(line), ...(clock === undefined ? {} : { now: clock.now }) }),
    ...(clock === undefined ? {} : { now: clock.now, sleep: clock.sleep }),
    onRequest: (record) => {
      records.push(record);
      waiting.shift()?.(record);
    },
    ...options.proxy,
  });
  const { proxyUrl, controlUrl } = await proxy.listen();
  const client = new Anthropic({ apiKey: 'client-key-never-forwarded', baseURL: proxyUrl, maxRetries: 0, timeout: 20_000 });
  return {
    mock,
    proxy,
    store,
    proxyUrl,
    controlUrl,
    client,
    records,
    logs,
    nextRecord: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      await proxy.close();
      await mock.close();
    },
  };
}

/** A Messages API request body for one conversation. */
export function messageParams(conversation: string, extra: Record<string, unknown> = {}): {
  model: string;
  max_tokens: number;
  system: string;
  messages: Array<{ role: 'user'; content: string }>;
} {
  return {
    model: 'claude-test-model',
    max_tokens: 64,
    system: `conversation ${conversation}`,
    messages: [{ role: 'user', content: `hello from ${conversation}` }],
    ...extra,
  };
}

/** The text of a non-streamed message. */
export function textOf(message: { content: Array<{ type: string; text?: string }> }): string {
  return message.content.map((block) => (block.type === 'text' ? (block.text ?? '') : '')).join('');
}

/** Stream a message through the SDK and put its text together. */
export async function streamText(client: Anthropic, conversation: string, extra: Record<string, unknown> = {}): Promise<string> {
  const stream = await client.messages.create({ ...messageParams(conversation, extra), stream: true });
  let text = '';
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  return text;
}

/** POST JSON to the control API. */
export async function control(stack: Stack, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stack.controlUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

/** Run the CLI's `main` in process and capture what it prints (the program itself is tested in cli.test.ts). */
export async function runMain(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsx's loader in this very process (not the tsx command, which runs node as its child): a signal
// sent to `child` reaches the proxy itself.
const tsxLoader = pathToFileURL(join(packageDir, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** A `shunt` program running (see {@link shunt}). */
export interface RunningShunt {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when it exits, with its exit code and everything it wrote. */
  readonly done: Promise<{ code: number | null; out: string; err: string }>;
  /** Resolves with the pattern's first group (or whole match) once the output matches it. */
  seen(pattern: RegExp): Promise<string>;
  /** Everything it wrote so far, stdout then stderr. */
  output(): string;
}

/** Run the real program (`shunt ARGS` with tsx's loader, as `pnpm shunt` runs it). */
export function shunt(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): RunningShunt {
  // One process, as `pnpm shunt` runs it (node --import tsx): through the tsx command the proxy
  // would be its child, and a SIGKILL in a test's cleanup would kill only tsx and leak the proxy.
  const child = spawn(process.execPath, ['--import', tsxLoader, '--conditions=@shunt/source', join(packageDir, 'src', 'cli.ts'), ...args], {
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, out, err }));
  });
  /** Resolves with the pattern's first group once the output matches it. */
  const seen = (pattern: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(out + err);
        if (match !== null) resolve(match[1] ?? match[0]);
      };
      check();
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.on('close', () => reject(new Error(`exited before ${pattern}: ${out}${err}`)));
    });
  return { child, done, seen, output: () => out + err };
}

/** A `shunt start` running as its own process. */
export interface ShuntProcess {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly controlUrl: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** Node's arguments to run the `shunt` CLI with `args`: the sources through tsx's loader, or a bundled `cli`. */
export function shuntArgv(args: readonly string[], cli?: string): string[] {
  const entry = cli === undefined ? ['--import', tsxLoader, '--conditions=@shunt/source', join(packageDir, 'src', 'cli.ts')] : [cli];
  return [...entry, ...args];
}

/**
 * Run `shunt start --config <configFile>` and wait until it listens: the sources through tsx's
 * loader, or `cli` (a bundled CLI, as the published bin is) when given.
 */
export async function spawnShunt(configFile: string, cli?: string): Promise<ShuntProcess> {
  const child = spawn(process.execPath, shuntArgv(['start', '--config', configFile], cli), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const [proxyUrl, controlUrl] = await new Promise<[string, string]>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const proxy = /^ {2}proxy {3}(http:\S+)$/m.exec(err)?.[1];
      const control = /^ {2}control (http:\S+)$/m.exec(err)?.[1];
      if (proxy !== undefined && control !== undefined) resolve([proxy, control]);
    });
    void exited.then(() => reject(new Error(`shunt start exited before listening: ${err}`)));
  });
  return { child, proxyUrl, controlUrl, exited, stderr: () => err };
}
