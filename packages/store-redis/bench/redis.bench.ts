/**
 * `pnpm bench` for @shunt/store-redis: `pickAccount` picks per second through `redisStore` versus
 * `memoryStore` on the same varied pool, and how long a cooldown set on instance A takes to show
 * on instance B (p50, p99). Starts its own redis-server. Prints the tables and rewrites this
 * package's section of docs/benchmarks.md. Not a test: nothing here asserts on timings.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { memoryStore, pickAccount, type Account, type StateStore } from '@shunt/core';
import { machineLine, writeBenchSection } from '../../../scripts/bench-doc.js';
import { fillVariedPool } from '../../core/bench/pick.bench.js';
import { hasRedisServer, startRedis } from '../test/redis-server.js';
import { redisStore, type RedisStore } from '../src/index.js';

const SIZES = [4, 16, 256] as const;
const MIN_TIME_MS = 250;
const PROPAGATION_SAMPLES = 500;
const execFileAsync = promisify(execFile);
const nowMs = Date.parse('2026-01-01T12:00:00Z');

const [, , childFlag, childStore, childSize, childMode, childUrl] = process.argv;
if (childFlag === '--child') {
  // One store kind per process: in a proxy, pickAccount only ever sees one store, and measuring
  // both in one process would make its call sites polymorphic and slow whichever runs second.
  console.log(JSON.stringify(await measureInChild(childStore === 'redis' ? 'redis' : 'memory', Number(childSize), childMode === 'conversation', childUrl ?? '')));
  process.exit(0);
}

if (!hasRedisServer()) {
  console.error('redis-server is not on PATH: install it (apt-get install redis-server) to run this benchmark');
  process.exit(process.env['CI'] ? 1 : 0);
}

const server = await startRedis();
const open: RedisStore[] = [];

interface PickRow {
  readonly accounts: number;
  readonly mode: string;
  readonly memory: number;
  readonly redis: number;
}

try {
  const pickRows: PickRow[] = [];
  for (const size of SIZES) {
    for (const mode of ['no conversation', 'conversation'] as const) {
      pickRows.push({
        accounts: size,
        mode: mode === 'conversation' ? 'conversation (sticky hit)' : mode,
        memory: await inChild('memory', size, mode),
        redis: await inChild('redis', size, mode),
      });
    }
  }

  const propagation = await cooldownPropagation();

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const markdown = `## @shunt/store-redis

${machineLine()} Redis ${redisVersion()} on loopback, started by the benchmark.

### \`pickAccount\` through \`redisStore\` vs \`memoryStore\`: picks per second

The same pool in both stores (utilizations across 0..1.01, resets over both windows, one account
in 16 cooling, one in 32 exhausted, a quarter never seen), strategy \`maximus\`, best of five
runs, each store measured in a process of its own (as in a proxy, where \`pickAccount\` only ever
sees one kind of store). Reads come from the local replica, so a pick costs what it costs in memory. With
a conversation fingerprint every pick is a sticky hit that slides the entry's TTL; the Redis store
tells Redis about such a renewal at most about once a second per conversation (coalesced per key,
on the next tick), so on this benchmark's fixed clock renewals stay local; the measurement yields
to the event loop every ~5 ms, so any write-through it causes is included.

| Accounts | Request | memoryStore | redisStore | memory / redis |
|---:|---|---:|---:|---:|
${pickRows.map((r) => `| ${String(r.accounts)} | ${r.mode} | ${fmt(r.memory)} | ${fmt(r.redis)} | ${(r.memory / r.redis).toFixed(2)}× |`).join('\n')}

### Cooldown propagation between two instances

Instance A calls \`setCooldown\`; the time until instance B's \`cooldownUntilMs\` shows it (B polls on
every event-loop turn). Both instances live in one process here, each with its own two Redis
connections, so the path is the real one: A's write-through pipeline (Lua merge + PUBLISH), Redis,
B's subscriber connection, B's merge into its replica. ${String(PROPAGATION_SAMPLES)} samples, one at a time.

| p50 | p90 | p99 | max |
|---:|---:|---:|---:|
| ${propagation.p50.toFixed(2)} ms | ${propagation.p90.toFixed(2)} ms | ${propagation.p99.toFixed(2)} ms | ${propagation.max.toFixed(2)} ms |
`;
  console.log(markdown);
  await writeBenchSection('store-redis', markdown);
  console.error('wrote docs/benchmarks.md (section "store-redis")');
} finally {
  await Promise.all(open.map((store) => store.close()));
  await server.stop();
}

/** Run one measurement in a fresh process (see the `--child` branch at the top). */
async function inChild(store: 'memory' | 'redis', size: number, mode: 'no conversation' | 'conversation'): Promise<number> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', store, String(size), mode === 'conversation' ? 'conversation' : 'none', server.url];
  const { stdout } = await execFileAsync(process.execPath, args, { encoding: 'utf8' });
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { picksPerSec: number };
  return result.picksPerSec;
}

/** The child's side: fill one store with the pool and measure its picks per second (best of 5). */
async function measureInChild(kind: 'memory' | 'redis', size: number, conversation: boolean, url: string): Promise<{ picksPerSec: number }> {
  const accounts = poolAccounts(size);
  let store: StateStore = memoryStore({ now: () => nowMs });
  let shared: RedisStore | null = null;
  if (kind === 'redis') {
    shared = redisStore({ url, keyPrefix: `bench:${randomUUID()}:`, now: () => nowMs });
    await shared.ready();
    store = shared;
  }
  fillVariedPool(store, accounts, nowMs);
  await shared?.flush();
  let best = 0;
  for (let round = 0; round < 5; round++) best = Math.max(best, await picksPerSec(accounts, store, conversation ? 'conversation' : null));
  await shared?.close();
  return { picksPerSec: best };
}

function poolAccounts(size: number): Account[] {
  return Array.from({ length: size }, (_, i) => ({ name: `account-${String(i).padStart(4, '0')}` }));
}

async function picksPerSec(accounts: readonly Account[], store: StateStore, fingerprint: string | null): Promise<number> {
  const options = { strategy: 'maximus', fingerprint };
  let sink = 0;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) sink += pickAccount(accounts, store, options)?.name.length ?? 0;
  };
  // Batches sized to ~5 ms, with a turn of the event loop after each (where write-through happens).
  let batch = 1;
  const warmUntil = performance.now() + MIN_TIME_MS / 4;
  while (performance.now() < warmUntil) {
    const start = performance.now();
    run(batch);
    if (performance.now() - start < 5) batch *= 2;
    await tick();
  }
  let picks = 0;
  const start = performance.now();
  let now = start;
  while (now - start < MIN_TIME_MS) {
    run(batch);
    picks += batch;
    await tick();
    now = performance.now();
  }
  if (sink === 0) throw new Error('benchmark: no account was ever picked');
  return picks / ((now - start) / 1000);
}

async function cooldownPropagation(): Promise<{ p50: number; p90: number; p99: number; max: number }> {
  const keyPrefix = `bench:${randomUUID()}:`;
  const a = redisStore({ url: server.url, keyPrefix });
  const b = redisStore({ url: server.url, keyPrefix });
  open.push(a, b);
  await Promise.all([a.ready(), b.ready()]);
  const samples: number[] = [];
  for (let i = 0; i < PROPAGATION_SAMPLES + 20; i++) {
    const name = `account-${String(i)}`;
    const start = performance.now();
    a.setCooldown(name, 60_000);
    while (b.cooldownUntilMs(name) === null) {
      await tick();
      if (performance.now() - start > 5000) throw new Error(`cooldown ${name} did not reach B within 5 s`);
    }
    if (i >= 20) samples.push(performance.now() - start); // the first 20 warm up the JIT and sockets
  }
  samples.sort((x, y) => x - y);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: samples[samples.length - 1] ?? NaN };
}

function redisVersion(): string {
  const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(out)?.[1] ?? 'unknown';
}
