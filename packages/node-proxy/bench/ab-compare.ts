/**
 * `pnpm bench:ab`: shunt at another commit (BASE, a git ref; default `main`) against shunt in this
 * working tree, with the bare pass-through beside them, all three in one interleaved run, so that a
 * change is judged on a machine others are sharing. One cell: STREAM, CONCURRENCY (1), BODY
 * (10240), REPS (7) runs of DURATION_MS (1500) each. Prints the median CPU per request, requests per
 * second, write system calls and garbage-collection pause per request of each. PROF_DIR=dir writes a `--cpu-prof` profile of
 * each proxy under dir/bare, dir/base and dir/head, and the requests each answered (to divide by).
 * PROF_KIND=heap makes them sampling heap profiles (`--heap-prof`: where the allocations are made).
 * HEAP_SNAPSHOT=dir writes a heap snapshot of each proxy under load at the end. SERVER_NODE_ARGS adds
 * Node/V8 flags to the proxies (e.g. `--trace-gc`), OUT_DIR=dir keeps their stdout; HEAD_ENV and BASE_ENV add
 * environment variables to one proxy (BENCH_LOG_LEVEL=warn, BENCH_LOG_SINK=none: see servers.ts). BASE=bare-undici
 * puts the bare pass-through forwarding through undici (shunt's client) in the base's place.
 * BASE_NODE_PATH=dir adds a node_modules directory for the base's bundle (a dependency the
 * working tree dropped).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { copyFileSync, openSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode, serverUsage, startLoader } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const base = process.env['BASE'] ?? 'main';
const stream = process.env['STREAM'] === '1';
const concurrency = Number(process.env['CONCURRENCY'] ?? 1);
const bodyBytes = Number(process.env['BODY'] ?? 10_240);
const reps = Number(process.env['REPS'] ?? 7);
const durationMs = Number(process.env['DURATION_MS'] ?? 1_500);
const profDir = process.env['PROF_DIR'];

const dir = await mkdtemp(join(tmpdir(), 'shunt-ab-'));
// The base commit's sources, beside this tree's node_modules (the dependencies are the same or close).
const archive = execFileSync('git', ['-C', repo, 'archive', base === 'bare-undici' ? 'HEAD' : base, 'packages/core', 'packages/node-proxy'], { maxBuffer: 1 << 30 });
execFileSync('tar', ['-x', '-C', dir], { input: archive });
// The same bench server for both: only the proxy's sources differ.
copyFileSync(join(here, 'servers.ts'), join(dir, 'packages/node-proxy/bench/servers.ts'));

function bundle(root: string, outfile: string): Promise<string> {
  return bundleForNode(join(root, 'packages/node-proxy/bench/servers.ts'), outfile, {
    nodePaths: [join(repo, 'packages/node-proxy/node_modules'), join(repo, 'node_modules'), ...(root !== repo && process.env['BASE_NODE_PATH'] !== undefined ? [process.env['BASE_NODE_PATH']] : [])],
    alias: { '@shunt/core/trace': join(root, 'packages/core/src/trace/index.ts'), '@shunt/core': join(root, 'packages/core/src/index.ts') },
  });
}
const baseBundle = await bundle(dir, join(dir, 'base.mjs'));
const headBundle = await bundle(repo, join(dir, 'head.mjs'));

type Name = 'bare' | 'base' | 'head';
const start = async (file: string, mode: string, arg: string, name?: Name): Promise<{ child: ChildProcess; url: string }> => {
  const kind = process.env['PROF_KIND'] === 'heap' ? 'heap' : 'cpu';
  const execArgv = profDir !== undefined && name !== undefined ? [`--${kind}-prof`, `--${kind}-prof-dir=${join(profDir, name)}`] : [];
  // SERVER_NODE_ARGS: V8 or Node flags for the proxies (not the mock), e.g. to try a GC setting.
  if (name !== undefined && process.env['SERVER_NODE_ARGS'] !== undefined) execArgv.push(...process.env['SERVER_NODE_ARGS'].split(' ').filter(Boolean));
  const out = name !== undefined && process.env['OUT_DIR'] !== undefined ? openSync(join(process.env['OUT_DIR'], name + '.log'), 'w') : 'ignore';
  // HEAD_ENV / BASE_ENV="K=V ...": environment for the head's (base's) proxy only, e.g.
  // BENCH_LOG_LEVEL=warn to price the log line.
  const extra = name === 'head' ? process.env['HEAD_ENV'] : name === 'base' ? process.env['BASE_ENV'] : undefined;
  const env = extra === undefined ? process.env : { ...process.env, ...Object.fromEntries(extra.split(' ').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string])) };
  const child = fork(file, [mode, arg], { execArgv, env, stdio: ['ignore', out, 'ignore', 'ipc'] });
  const port = await new Promise<number>((done) => child.once('message', (m) => done((m as { port: number }).port)));
  return { child, url: `http://127.0.0.1:${port}` };
};
const loader = await startLoader();
const { load } = loader;

const mock = await start(headBundle, 'mock', '0');
const targets: Record<Name, { child: ChildProcess; url: string }> = {
  bare: await start(headBundle, 'bare', mock.url, 'bare'),
  // BASE=bare-undici: in place of a commit, the bare pass-through forwarding through undici (shunt's client).
  base: base === 'bare-undici' ? await start(headBundle, 'bare-undici', mock.url, 'base') : await start(baseBundle, 'shunt', mock.url, 'base'),
  head: await start(headBundle, 'shunt', mock.url, 'head'),
};
const names: readonly Name[] = ['bare', 'base', 'head'];
const served: Record<Name, number> = { bare: 0, base: 0, head: 0 };
const runs: Record<Name, { cpu: number[]; rps: number[]; writes: number[]; young: number[]; old: number[] }> = {
  bare: { cpu: [], rps: [], writes: [], young: [], old: [] },
  base: { cpu: [], rps: [], writes: [], young: [], old: [] },
  head: { cpu: [], rps: [], writes: [], young: [], old: [] },
};
for (const name of names) served[name] += (await load({ url: targets[name].url, concurrency, bodyBytes, stream, durationMs: 2_000, warmupMs: 0 })).completed;
for (let rep = 0; rep < reps; rep++) {
  for (const name of names) {
    const before = await serverUsage(targets[name].child);
    const r = await load({ url: targets[name].url, concurrency, bodyBytes, stream, durationMs, warmupMs: 200 });
    const after = await serverUsage(targets[name].child);
    served[name] += r.completed;
    runs[name].cpu.push((after.micros - before.micros) / r.completed);
    runs[name].rps.push(r.rps);
    if (after.io !== null && before.io !== null) runs[name].writes.push((after.io.writes - before.io.writes) / r.completed);
    if (after.gc !== null && before.gc !== null) {
      runs[name].young.push(((after.gc.youngMs - before.gc.youngMs) * 1000) / r.completed);
      runs[name].old.push(((after.gc.oldMs - before.gc.oldMs) * 1000) / r.completed);
    }
  }
}
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(`${stream ? 'stream' : 'json'} ${bodyBytes} B, ${concurrency} clients, ${reps} runs of ${durationMs} ms; base = ${base}`);
for (const name of names) {
  const r = runs[name];
  const writes = r.writes.length === 0 ? '–' : median(r.writes).toFixed(2);
  const share = ((median(r.rps) / median(runs.bare.rps)) * 100).toFixed(0);
  const gcs = r.young.length === 0 ? '' : `  gc µs/req: young ${median(r.young).toFixed(1)}, old ${median(r.old).toFixed(1)}`;
  console.log(`${name.padEnd(5)} ${median(r.cpu).toFixed(0).padStart(5)} µs cpu/req  ${median(r.rps).toFixed(0).padStart(6)} rps (${share} % of bare)  ${writes} writes/req${gcs}`);
}
if (profDir !== undefined || process.env['ALLOC_PROF'] !== undefined) console.log(`requests answered (profiles): ${JSON.stringify(served)}`);
if (process.env['HEAP_SNAPSHOT'] !== undefined) {
  // Under load: a snapshot of each proxy while the last run's requests are still going.
  for (const name of names) {
    const running = load({ url: targets[name].url, concurrency, bodyBytes, stream, durationMs: 1_000, warmupMs: 0 });
    await new Promise((done) => setTimeout(done, 500));
    targets[name].child.send('snapshot');
    await new Promise((done) => targets[name].child.once('message', done));
    await running;
  }
}
for (const s of [mock, ...Object.values(targets)]) s.child.send('exit');
loader.kill();
