/**
 * Test helper: a throwaway `redis-server` on a free loopback port (no persistence, a temp dir),
 * started and stopped by the tests themselves. On a machine without `redis-server` the suites say
 * so and skip, except under CI (`CI` set), where a missing server fails loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running test server. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL the server (no shutdown, no save): what a crash or a lost host looks like. */
  kill(): Promise<void>;
  /** SIGSTOP the server: it keeps its connections and accepts new ones, and answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT a paused server: it answers what queued up meanwhile. */
  resume(): void;
  /** Start it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Stop it for good and remove its directory. */
  stop(): Promise<void>;
  /** The running server's process id (to SIGSTOP / SIGCONT it: a hung Redis). */
  pid(): number;
}

/** True when `redis-server` is on PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the Redis suites cannot run here, or null when they can. Under CI a missing server is an
 * error, not a skip: CI must exercise the Redis store.
 */
export function redisSkipReason(): string | null {
  if (hasRedisServer()) return null;
  if (process.env['CI'] !== undefined && process.env['CI'] !== '') {
    throw new Error('redis-server is not on PATH, and CI must run the Redis store suites: .ci/run installs it (apt-get install -y redis-server)');
  }
  return 'redis-server is not on PATH (install it with `apt-get install redis-server`; CI does)';
}

/** Start a fresh server on a free loopback port (or `port`) and wait until it answers PING. */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'shunt-redis-'));
  const port = options.port ?? (await freePort());
  let child: ChildProcess | null = null;
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
      { stdio: 'ignore' },
    );
    await waitForPing(port, 10_000);
  };
  const exit = async (how: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = null;
    if (running === null || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    // A paused server would not act on SIGTERM until continued.
    running.kill('SIGCONT');
    running.kill(how);
    await exited;
  };
  const signal = (name: NodeJS.Signals): void => {
    const running: ChildProcess | null = child;
    if (running === null) throw new Error(`redis-server on port ${String(port)} is not running: cannot send ${name}`);
    running.kill(name);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${String(port)}`,
    kill: () => exit('SIGKILL'),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    restart: launch,
    pid() {
      const running = child as ChildProcess | null;
      if (running?.pid === undefined) throw new Error('redis-server is not running');
      return running.pid;
    },
    async stop() {
      await exit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port nothing listens on (at the time of asking). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${String(port)} did not answer PING within ${String(timeoutMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
