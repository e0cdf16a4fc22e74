/**
 * `pnpm bench` for @shunt/node-proxy: the mock upstream called directly, a bare pass-through
 * proxy (the floor any Node proxy pays) and shunt, side by side, in one run. Each server runs in
 * its own process and the load generator in another. Prints the tables and rewrites this
 * package's section of docs/benchmarks.md. Not a test: nothing here asserts on timings.
 *
 * These machines are shared 2-core VMs whose speed drifts from second to second, so every cell
 * is measured several times with the targets interleaved; each target's figures are its median
 * run, and shunt / bare is the median of the ratios of runs made one after the other (a slow
 * spell of the machine hits both of a pair). CPU time per request (read from each proxy process)
 * is reported beside throughput, as it does not depend on how the cores were shared.
 *
 * The servers run as one esbuild bundle of bench/servers.ts and the sources it imports (as tsup
 * builds dist/, without tsx's per-function name-keeping, which costs measurably per request).
 *
 * BENCH_QUICK=1 shortens every run and writes nothing (a smoke test of the harness).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineLine, writeBenchSection } from '../../../scripts/bench-doc.js';
import type { LoadParams, LoadResult } from './load.js';
import { bundleForNode } from './harness.js';
import type { WorkRow } from './work.bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.env['BENCH_QUICK'] === '1';
const execArgv = ['--import', 'tsx', '--conditions=@shunt/source', '--expose-gc'];
// How each cell is measured. This shared 2-core machine's speed drifts over seconds: with the best
// of three 1.8 s runs per target, two runs of the same code gave one 10 KB cell 88 % and 121 % of
// bare (docs/benchmarks.md, fifth round). So the 10 KB cells, the ones that price routing, are many
// short runs of bare and shunt back to back, in alternating order, and shunt / bare is the median
// of the pairs' ratios: a slow spell of the machine mostly hits both runs of a pair. Direct, only a
// reference, is measured every few pairs. The 1 MB cells, dominated by copying, keep three long
// runs of each target.
interface CellPlan {
  /** Pairs of runs (bare, shunt); direct runs before every `directEvery`-th pair. */
  readonly pairs: number;
  readonly directEvery: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}
const PLAN_10KB: CellPlan = quick
  ? { pairs: 1, directEvery: 1, durationMs: 500, warmupMs: 100 }
  : { pairs: 21, directEvery: 7, durationMs: 800, warmupMs: 150 };
const PLAN_1MB: CellPlan = quick
  ? { pairs: 1, directEvery: 1, durationMs: 500, warmupMs: 100 }
  : { pairs: 3, directEvery: 1, durationMs: 1_800, warmupMs: 200 };
const RSS_REQUESTS = quick ? 4_000 : 100_000;
const RSS_CHECKPOINTS = 4;

type Target = 'direct' | 'bare' | 'shunt';
const TARGETS: readonly Target[] = ['direct', 'bare', 'shunt'];

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

const bundleDir = await mkdtemp(join(tmpdir(), 'shunt-bench-'));
const serversBundle = join(bundleDir, 'servers.mjs');
// The work table's pieces are timed from a bundle too: under tsx every call into another module
// goes through an export getter, which tripled the cost of the byte scanners in the table.
const workBundle = join(bundleDir, 'work.mjs');
await bundleForNode(join(here, 'servers.ts'), serversBundle);
await bundleForNode(join(here, 'work.bench.ts'), workBundle);
const { benchWork } = (await import(pathToFileURL(workBundle).href)) as typeof import('./work.bench.js');

async function startServer(mode: 'mock' | 'bare' | 'shunt', arg: string): Promise<Server> {
  const child = fork(serversBundle, [mode, arg], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function ask<T>(server: Server, question: 'rss' | 'cpu'): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && question in message) {
        server.child.off('message', onMessage);
        resolve((message as Record<string, T>)[question] as T);
      }
    };
    server.child.on('message', onMessage);
    server.child.send(question);
  });
}

async function cpuMicros(server: Server): Promise<number> {
  const usage = await ask<{ user: number; system: number }>(server, 'cpu');
  return usage.user + usage.system;
}

const loader = fork(join(here, 'load.ts'), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise((resolve) => loader.once('message', resolve));
let jobs = 0;
function load(params: LoadParams): Promise<LoadResult> {
  const id = ++jobs;
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      const m = message as { id?: number; result?: LoadResult };
      if (m.id === id) {
        loader.off('message', onMessage);
        resolve(m.result as LoadResult);
      }
    };
    loader.on('message', onMessage);
    loader.send({ id, params });
  });
}

interface Measured extends LoadResult {
  /** CPU time the proxy process spent per request (user + system), in microseconds; null for direct. */
  readonly cpuMicros: number | null;
}

async function measure(server: Server, proxied: boolean, params: LoadParams): Promise<Measured> {
  const before = proxied ? await cpuMicros(server) : 0;
  const result = await load(params);
  const after = proxied ? await cpuMicros(server) : 0;
  return { ...result, cpuMicros: proxied && result.completed > 0 ? (after - before) / result.completed : null };
}

const started = Date.now();
const mock = await startServer('mock', '0');
const bare = await startServer('bare', mock.url);
const shunt = await startServer('shunt', mock.url);
const servers: Record<Target, Server> = { direct: mock, bare, shunt };

interface Row {
  readonly concurrency: number;
  readonly bodyBytes: number;
  readonly stream: boolean;
  readonly results: Record<Target, Measured>;
  /** shunt / bare throughput: the median, least and greatest of the runs' ratios (each pair made one after the other). */
  readonly ratio: { readonly median: number; readonly low: number; readonly high: number; readonly runs: number };
}

/** The median of some numbers (the upper middle one of an even count). */
function middleOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const rows: Row[] = [];
let rss: { readonly checkpoints: Array<{ requests: number; rss: number }>; errors: number; seconds: number } = {
  checkpoints: [],
  errors: 0,
  seconds: 0,
};
try {
  // Warm every target up (JIT) before anything is measured.
  for (const target of TARGETS) {
    for (const stream of [false, true]) {
      await load({ url: servers[target].url, concurrency: 16, bodyBytes: 10_240, stream, durationMs: quick ? 300 : 2_000, warmupMs: 0 });
    }
  }

  for (const stream of [false, true]) {
    for (const bodyBytes of [10_240, 1_048_576]) {
      for (const concurrency of [1, 16, 128]) {
        const runs: Record<Target, Measured[]> = { direct: [], bare: [], shunt: [] };
        const plan = bodyBytes === 10_240 ? PLAN_10KB : PLAN_1MB;
        for (let pair = 0; pair < plan.pairs; pair++) {
          // Alternating which of the pair goes first, so neither always follows direct or the other.
          const order: Target[] = pair % 2 === 0 ? ['bare', 'shunt'] : ['shunt', 'bare'];
          if (pair % plan.directEvery === 0) order.unshift('direct');
          for (const target of order) {
            runs[target].push(
              await measure(servers[target], target !== 'direct', {
                url: servers[target].url,
                concurrency,
                bodyBytes,
                stream,
                durationMs: plan.durationMs,
                warmupMs: plan.warmupMs,
              }),
            );
          }
        }
        // Each target's median run (by throughput), with the median of its CPU per request.
        const median = (target: Target): Measured => {
          const sorted = [...runs[target]].sort((a, b) => a.rps - b.rps);
          const middle = sorted[Math.floor(sorted.length / 2)] as Measured;
          const cpu = runs[target].map((r) => r.cpuMicros).filter((c): c is number => c !== null);
          // Errors are counted over every run, not the median one's only.
          const errors = runs[target].reduce((sum, r) => sum + r.errors, 0);
          return { ...middle, errors, cpuMicros: cpu.length === 0 ? null : middleOf(cpu) };
        };
        const results = { direct: median('direct'), bare: median('bare'), shunt: median('shunt') };
        const ratios = runs.shunt.map((s, i) => s.rps / (runs.bare[i] as Measured).rps);
        const ratio = { median: middleOf(ratios), low: Math.min(...ratios), high: Math.max(...ratios), runs: plan.pairs };
        rows.push({ concurrency, bodyBytes, stream, results, ratio });
        console.error(
          `${stream ? 'stream' : 'json  '} ${bodyBytes === 10_240 ? '10 KB' : '1 MB '} c=${String(concurrency).padStart(3)}  ` +
            TARGETS.map(
              (t) =>
                `${t} ${Math.round(results[t].rps)} rps p50 ${results[t].p50Ms.toFixed(2)} ms` +
                (results[t].cpuMicros === null ? '' : ` ${Math.round(results[t].cpuMicros as number)} µs cpu`) +
                (results[t].errors > 0 ? ` (${results[t].errors} errors)` : ''),
            ).join(' | ') +
            ` | shunt / bare ${pct(ratio.median)} (${spread(ratio)})`,
        );
      }
    }
  }

  // Memory: shunt's RSS as RSS_REQUESTS more requests go through it (16 clients, 10 KB, half streams).
  const t = Date.now();
  const checkpoints = [{ requests: 0, rss: await ask<number>(shunt, 'rss') }];
  let errors = 0;
  const step = RSS_REQUESTS / RSS_CHECKPOINTS;
  for (let i = 1; i <= RSS_CHECKPOINTS; i++) {
    const json = await load({ url: shunt.url, concurrency: 16, bodyBytes: 10_240, stream: false, requests: step / 2 });
    const streamed = await load({ url: shunt.url, concurrency: 16, bodyBytes: 10_240, stream: true, requests: step / 2 });
    errors += json.errors + streamed.errors;
    checkpoints.push({ requests: i * step, rss: await ask<number>(shunt, 'rss') });
    console.error(`rss after ${i * step} requests: ${mb(checkpoints.at(-1)?.rss ?? 0)}`);
  }
  rss = { checkpoints, errors, seconds: (Date.now() - t) / 1000 };

  const work = benchWork();
  const markdown = render(rows, work, (Date.now() - started) / 1000);
  console.log(markdown);
  if (!quick) {
    await writeBenchSection('node-proxy', markdown);
    console.error('wrote docs/benchmarks.md (section "node-proxy")');
  }
} finally {
  loader.send('exit');
  for (const server of [mock, bare, shunt]) server.child.kill();
  await rm(bundleDir, { recursive: true, force: true });
}

function ordinal(n: number): string {
  return n === 1 ? '' : n === 2 ? 'second' : n === 3 ? 'third' : `${n}th`;
}

/** The least and the greatest ratio, in percent: `82–97`. */
function spread(ratio: { readonly low: number; readonly high: number }): string {
  return `${Math.round(ratio.low * 100)}–${Math.round(ratio.high * 100)}`;
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

function render(table: readonly Row[], work: readonly WorkRow[], seconds: number): string {
  const cpu = (m: Measured): string => (m.cpuMicros === null ? '–' : `${Math.round(m.cpuMicros)}`);
  const lines: string[] = [];
  lines.push('## @shunt/node-proxy', '', machineLine(), '');
  lines.push(
    `Three targets on loopback, in one run of ${Math.round(seconds)} s: **direct** (the mock Anthropic upstream called`,
    'directly), **bare** (about twenty lines of `node:http` that buffer the body and forward it with a keep-alive agent,',
    'no routing: the floor any Node proxy pays on this machine) and **shunt** (three accounts, maximus, the conversation',
    'fingerprint, the header allow-list, SSE error sniffing, and its default log level, one JSON line per request, to',
    '/dev/null). Each server runs in its own process and the load generator (undici, one keep-alive connection per',
    "client, Claude-Code-like bodies) in another, so all of them share the machine's 2 cores: compare ratios, not",
    `absolute numbers. Each 10 KB cell is ${PLAN_10KB.pairs} pairs of runs of bare and shunt back to back, in alternating`,
    `order, each run ${PLAN_10KB.durationMs / 1000} s after a ${PLAN_10KB.warmupMs / 1000} s warm-up, with direct measured before every`,
    `${ordinal(PLAN_10KB.directEvery)} pair; each 1 MB cell is ${PLAN_1MB.pairs} runs of each target of ${PLAN_1MB.durationMs / 1000} s. Each target's figures are its`,
    'median run, and **shunt / bare** is the median of the ratios of the pairs (a slow spell of the machine mostly hits both runs of a pair), with the least and',
    'the greatest in brackets. Latency is for the whole response, a stream included. **CPU/req** is the CPU time',
    '(user + system) the proxy process spent per request, the median of the runs: unlike throughput it does not depend',
    'on how the load generator and the servers happened to share the cores. The 1 MB rows are dominated by copying',
    'and garbage collection in all four processes and swing by tens of percent between runs, either way; read the',
    '10 KB rows for the cost of routing.',
    '',
  );
  for (const stream of [false, true]) {
    lines.push(`### ${stream ? 'Streaming' : 'Non-streaming'} requests`, '');
    lines.push(
      `| Body | Clients | direct rps | bare rps | shunt rps | shunt / bare | p50 ms: direct / bare / shunt | p99 ms: direct / bare / shunt | shunt p50 − direct p50 | CPU/req µs: bare / shunt |${stream ? ' TTFB p50 ms: direct / bare / shunt |' : ''}`,
      `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|${stream ? '---:|' : ''}`,
    );
    for (const row of table.filter((r) => r.stream === stream)) {
      const { direct, bare: b, shunt: s } = row.results;
      const cells = [
        row.bodyBytes === 10_240 ? '10 KB' : '1 MB',
        String(row.concurrency),
        Math.round(direct.rps).toLocaleString('en-US'),
        Math.round(b.rps).toLocaleString('en-US'),
        Math.round(s.rps).toLocaleString('en-US'),
        `${pct(row.ratio.median)} (${spread(row.ratio)})`,
        `${direct.p50Ms.toFixed(2)} / ${b.p50Ms.toFixed(2)} / ${s.p50Ms.toFixed(2)}`,
        `${direct.p99Ms.toFixed(1)} / ${b.p99Ms.toFixed(1)} / ${s.p99Ms.toFixed(1)}`,
        `${(s.p50Ms - direct.p50Ms).toFixed(2)} ms`,
        `${cpu(b)} / ${cpu(s)}`,
      ];
      if (stream) cells.push(`${fmt(direct.ttfbP50Ms)} / ${fmt(b.ttfbP50Ms)} / ${fmt(s.ttfbP50Ms)}`);
      const errors = TARGETS.filter((t) => row.results[t].errors > 0).map((t) => `${t}: ${row.results[t].errors} errors`);
      lines.push(`| ${cells.join(' | ')} |${errors.length > 0 ? ` ${errors.join(', ')}` : ''}`);
    }
    lines.push('');
  }
  lines.push(
    '### Where shunt\'s extra time goes',
    '',
    "The work shunt does per request that a bare proxy does not, each piece timed on its own (in the benchmark's",
    'process, after a warm-up). Compare with the CPU/req columns above.',
    '',
    '| Work | µs per call |',
    '|---|---:|',
    ...work.map((w) => `| ${w.work} | ${w.micros < 10 ? w.micros.toFixed(2) : w.micros.toFixed(1)} |`),
    '',
  );
  lines.push('### Memory', '');
  lines.push(
    `shunt's resident set size (after a forced GC) as ${RSS_REQUESTS.toLocaleString('en-US')} more requests go through it`,
    `(16 clients, 10 KB bodies, half of them streams; ${Math.round(rss.seconds)} s, ${rss.errors} errors), after everything above:`,
    '',
    `| Requests | ${rss.checkpoints.map((c) => c.requests.toLocaleString('en-US')).join(' | ')} |`,
    `|---|${rss.checkpoints.map(() => '---:').join('|')}|`,
    `| RSS | ${rss.checkpoints.map((c) => mb(c.rss)).join(' | ')} |`,
    '',
  );
  return lines.join('\n');
}

function fmt(value: number | null): string {
  return value === null || Number.isNaN(value) ? '–' : value.toFixed(2);
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
