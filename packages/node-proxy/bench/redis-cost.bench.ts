/**
 * `pnpm bench` (node-proxy, second part): what the Redis backend costs a proxy, measured the way an
 * operator runs it. Two real `shunt start` processes share one mock upstream; first on the memory
 * backend, then both on one redis-server (started here). Reports each backend's CPU per request
 * (user + system time of both proxy processes, from /proc, over the requests they served), and on
 * the Redis backend how long a 429 on one proxy takes to show in the other's `/status` (p50, p99).
 * Rewrites the "node-proxy-redis" section of docs/benchmarks.md. Nothing here asserts on timings.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineLine, writeBenchSection } from '../../../scripts/bench-doc.js';
import { hasRedisServer, startRedis, type RedisServer } from '../../store-redis/test/redis-server.js';
import { createMockUpstream } from '../src/mock-upstream.js';

const ACCOUNTS = Array.from({ length: 8 }, (_, i) => `acct-${String(i)}`);
const CONCURRENCY_PER_PROXY = 8;
const ROUND_MS = Number(process.env['ROUND_MS'] ?? 6000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
const PROPAGATION_SAMPLES = Number(process.env['SAMPLES'] ?? 300);
const WARMUP_MS = Number(process.env['WARMUP_MS'] ?? 8000);
const CONVERSATIONS = 64;
const TICKS_PER_SEC = 100; // USER_HZ on Linux

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsxLoader = pathToFileURL(join(packageDir, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

if (!hasRedisServer()) {
  console.error('redis-server is not on PATH: install it (apt-get install redis-server) to run this benchmark');
  process.exit(process.env['CI'] ? 1 : 0);
}

interface Proxy {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly controlUrl: string;
}

// 0 by default: a window far from full reports the same utilization on every response. USAGE=0.0005
// makes every response report a new value (each one then goes to Redis at once).
const USAGE_PER_REQUEST = Number(process.env['USAGE'] ?? 0);
const mock = createMockUpstream({ accounts: ACCOUNTS.map((name) => ({ name, key: `key-${name}` })), usagePerRequest: USAGE_PER_REQUEST, requestLog: 0 });
const upstreamUrl = await mock.listen();
const dir = await mkdtemp(join(tmpdir(), 'shunt-redis-cost-'));
let redis: RedisServer | undefined;
const running: Proxy[] = [];

try {
  redis = await startRedis();
  const memory = await pair('memory');
  const shared = await pair('redis');
  // Warm both pairs up (JIT, connections), then alternate rounds so drift (this machine is shared)
  // hits both alike; each round's ratio compares two measurements taken seconds apart.
  await load(memory, WARMUP_MS);
  await load(shared, WARMUP_MS);
  const cpu = { memory: [] as number[], redis: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    cpu.memory.push(await cpuPerRequest(memory));
    cpu.redis.push(await cpuPerRequest(shared));
  }
  const propagation = await cooldownPropagation(shared);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const memoryMs = median(cpu.memory);
  const redisMs = median(cpu.redis);
  const ratios = cpu.redis.map((r, i) => r / (cpu.memory[i] ?? Number.NaN));

  const markdown = `## @shunt/node-proxy on Redis: CPU per request and cooldown propagation

${machineLine()} Redis ${redisVersion()} on loopback, started by the benchmark.

Two \`shunt start\` processes in front of one mock upstream (${String(ACCOUNTS.length)} API-key accounts, usage
that does not change, like a window far from full), ${String(CONCURRENCY_PER_PROXY)} concurrent non-streaming requests per proxy
over ${String(CONVERSATIONS)} conversations. CPU is user + system time of both proxy processes from \`/proc\`,
divided by the requests they served; after ${String(WARMUP_MS / 1000)} s of warm-up each, ${String(ROUNDS)} rounds of ${String(ROUND_MS / 1000)} s per
backend, alternating, median shown (every round in the last column). The pairs differ only in
\`[state] backend\`. On a shared machine the absolute numbers drift with the neighbours' load; the
ratio of each round's pair, measured seconds apart, is the number to read.

| Backend | CPU per request (median) | Rounds |
|---|---:|---|
| memory (state file) | ${memoryMs.toFixed(3)} ms | ${cpu.memory.map((x) => x.toFixed(3)).join(', ')} |
| redis (two proxies sharing) | ${redisMs.toFixed(3)} ms | ${cpu.redis.map((x) => x.toFixed(3)).join(', ')} |
| redis / memory, per round | ${median(ratios).toFixed(2)}× | ${ratios.map((x) => `${x.toFixed(2)}×`).join(', ')} |

Cooldown propagation on the Redis pair: a request sent to proxy A is answered 429 (\`retry-after\`)
by the upstream; the time from sending it until proxy B's \`/status\` shows the account cooling
(B polled back to back, so each sample includes one \`/status\` round trip). ${String(PROPAGATION_SAMPLES)} samples,
one at a time, no other load.

| p50 | p90 | p99 | max |
|---:|---:|---:|---:|
| ${propagation.p50.toFixed(1)} ms | ${propagation.p90.toFixed(1)} ms | ${propagation.p99.toFixed(1)} ms | ${propagation.max.toFixed(1)} ms |
`;
  console.log(markdown);
  // A run with another usage is a look at a variant, not the record.
  if (USAGE_PER_REQUEST === 0) await writeBenchSection('node-proxy-redis', markdown);
  console.error('wrote docs/benchmarks.md (section "node-proxy-redis")');
} finally {
  await Promise.all(running.map(stop));
  await mock.close();
  await redis?.stop();
}

/** Two proxies on `backend`, sharing one key prefix (redis) or each with its own state file (memory). */
async function pair(backend: 'memory' | 'redis'): Promise<[Proxy, Proxy]> {
  const config = (name: string): string =>
    [
      '[server]',
      'port = 0',
      'control_port = 0',
      `upstream_url = "${upstreamUrl}"`,
      `state_path = "${join(dir, `${name}-state.json`)}"`,
      'log_level = "warn"',
      '[state]',
      `backend = "${backend}"`,
      ...(backend === 'redis' ? [`url = "${redis?.url ?? ''}"`, `key_prefix = "bench-${String(process.pid)}:"`] : []),
      ...ACCOUNTS.flatMap((account) => ['[[accounts]]', `name = "${account}"`, `api_key = "key-${account}"`]),
      '',
    ].join('\n');
  const started: Proxy[] = [];
  for (const name of [`${backend}-a`, `${backend}-b`]) {
    const file = join(dir, `${name}.toml`);
    await writeFile(file, config(name));
    started.push(await startProxy(file));
  }
  return started as [Proxy, Proxy];
}

async function startProxy(configFile: string): Promise<Proxy> {
  const child = spawn(process.execPath, ['--import', tsxLoader, '--conditions=@shunt/source', join(packageDir, 'src', 'cli.ts'), 'start', '--config', configFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const [proxyUrl, controlUrl] = await new Promise<[string, string]>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const proxy = /^ {2}proxy {3}(http:\S+)$/m.exec(err)?.[1];
      const control = /^ {2}control (http:\S+)$/m.exec(err)?.[1];
      if (proxy !== undefined && control !== undefined) resolve([proxy, control]);
    });
    child.once('close', () => reject(new Error(`shunt start exited before listening: ${err}`)));
  });
  const proxy = { child, proxyUrl, controlUrl };
  running.push(proxy);
  return proxy;
}

async function stop(proxy: Proxy): Promise<void> {
  if (proxy.child.exitCode !== null) return;
  const closed = new Promise((resolve) => proxy.child.once('close', resolve));
  proxy.child.kill('SIGTERM');
  await closed;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSecs(proxy: Proxy): number {
  const stat = readFileSync(`/proc/${String(proxy.child.pid)}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
}

async function cpuPerRequest(proxies: [Proxy, Proxy]): Promise<number> {
  const before = proxies.map(cpuSecs);
  const served = await load(proxies, ROUND_MS);
  const after = proxies.map(cpuSecs);
  const cpuMs = (after[0]! - before[0]! + after[1]! - before[1]!) * 1000;
  return cpuMs / served;
}

/** Requests on both proxies for `durationMs`; resolves to how many were served (2xx). */
async function load(proxies: readonly Proxy[], durationMs: number): Promise<number> {
  const until = performance.now() + durationMs;
  let served = 0;
  let n = 0;
  const worker = async (proxy: Proxy): Promise<void> => {
    while (performance.now() < until) {
      const i = n++;
      const response = await fetch(`${proxy.proxyUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'unused' },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          messages: [{ role: 'user', content: `conversation ${String(i % CONVERSATIONS)}: hello` }],
        }),
      });
      await response.arrayBuffer();
      if (response.ok) served += 1;
    }
  };
  await Promise.all(proxies.flatMap((proxy) => Array.from({ length: CONCURRENCY_PER_PROXY }, () => worker(proxy))));
  return served;
}

interface AccountStatus {
  readonly name: string;
  readonly status: string;
}

async function accountStatus(proxy: Proxy, name: string): Promise<string | undefined> {
  const report = (await (await fetch(`${proxy.controlUrl}/status`)).json()) as { accounts: AccountStatus[] };
  return report.accounts.find((a) => a.name === name)?.status;
}

/** A 429 on A (the account pinned there, retry-after 1 s) until B's /status shows it cooling. */
async function cooldownPropagation([a, b]: [Proxy, Proxy]): Promise<{ p50: number; p90: number; p99: number; max: number }> {
  const samples: number[] = [];
  for (let i = 0; i < PROPAGATION_SAMPLES; i++) {
    const account = ACCOUNTS[i % ACCOUNTS.length] as string;
    // Start from an account both see available (its previous 1 s cooldown over).
    while ((await accountStatus(a, account)) !== 'available' || (await accountStatus(b, account)) !== 'available') {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await fetch(`${a.controlUrl}/use`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account }) });
    mock.script(account, { kind: 'burst-429', retryAfterSecs: 1 });
    const t0 = performance.now();
    const request = fetch(`${a.proxyUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'unused' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: `probe ${String(i)}` }] }),
    }).then((response) => response.arrayBuffer());
    while ((await accountStatus(b, account)) !== 'cooling') {
      if (performance.now() - t0 > 30_000) throw new Error(`${account}: B never showed the cooldown`);
    }
    samples.push(performance.now() - t0);
    await request;
  }
  await fetch(`${a.controlUrl}/use`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'auto' }) });
  samples.sort((x, y) => x - y);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: samples[samples.length - 1] ?? Number.NaN };
}

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
