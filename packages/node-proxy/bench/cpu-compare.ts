/**
 * `pnpm bench:cpu`: a quick A/B of CPU per request, bare vs shunt, one cell (BODY, STREAM, CONCURRENCY from the
 * environment; SHUNT_EXEC_ARGV / BARE_EXEC_ARGV pass flags such as `--cpu-prof`), warmed up, REPS (3) interleaved
 * runs of DURATION_MS (3000) each, then the median and least CPU per request of each. For profiling sessions; `pnpm bench` is the
 * benchmark of record.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode, serverUsage, startLoader } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const stream = process.env['STREAM'] === '1';
const concurrency = Number(process.env['CONCURRENCY'] ?? 16);
const bodyBytes = Number(process.env['BODY'] ?? 10_240);
const reps = Number(process.env['REPS'] ?? 3);
const durationMs = Number(process.env['DURATION_MS'] ?? 3_000);
const shuntArgs = (process.env['SHUNT_EXEC_ARGV'] ?? '').split(' ').filter((a) => a !== '');
const dir = await mkdtemp(join(tmpdir(), 'shunt-cpu-'));
const bundle = await bundleForNode(join(here, 'servers.ts'), join(dir, 'servers.mjs'));
const start = async (mode: string, arg: string, execArgv: string[] = []): Promise<{ child: ChildProcess; url: string }> => {
  const child = fork(bundle, [mode, arg], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  return { child, url: `http://127.0.0.1:${port}` };
};
const loader = await startLoader();
const { load } = loader;
const mock = await start('mock', '0');
const bare = await start('bare', mock.url, (process.env['BARE_EXEC_ARGV'] ?? '').split(' ').filter((a) => a !== ''));
const shunt = await start('shunt', mock.url, shuntArgs);
// Requests each server answered in all (warm-up included): divide a --cpu-prof profile's busy time by it.
const served = { bare: 0, shunt: 0 };
for (const [name, s] of [['bare', bare], ['shunt', shunt]] as const) {
  served[name] += (await load({ url: s.url, concurrency, bodyBytes, stream, durationMs: 3_000, warmupMs: 0 })).completed;
}
const perRequestCpu = { bare: [] as number[], shunt: [] as number[] };
for (let rep = 0; rep < reps; rep++) {
  for (const [name, s] of [['bare', bare], ['shunt', shunt]] as const) {
    const before = await serverUsage(s.child);
    const r = await load({ url: s.url, concurrency, bodyBytes, stream, durationMs, warmupMs: 200 });
    const after = await serverUsage(s.child);
    served[name] += r.completed;
    perRequestCpu[name].push((after.micros - before.micros) / r.completed);
    const perRequest = (a: number, b: number): string => ((a - b) / r.completed).toFixed(2);
    const io = after.io === null || before.io === null ? '' : `  reads ${perRequest(after.io.reads, before.io.reads)}/req  writes ${perRequest(after.io.writes, before.io.writes)}/req`;
    console.log(`${name.padEnd(5)} ${Math.round(r.rps)} rps  ${((after.micros - before.micros) / r.completed).toFixed(0)} µs cpu/req${io}  errors ${r.errors}`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const least = (xs: number[]): number => Math.min(...xs);
console.log(
  `cpu/req median: bare ${median(perRequestCpu.bare).toFixed(0)} µs, shunt ${median(perRequestCpu.shunt).toFixed(0)} µs (${(median(perRequestCpu.shunt) / median(perRequestCpu.bare)).toFixed(2)}×); ` +
    `least: bare ${least(perRequestCpu.bare).toFixed(0)} µs, shunt ${least(perRequestCpu.shunt).toFixed(0)} µs (${(least(perRequestCpu.shunt) / least(perRequestCpu.bare)).toFixed(2)}×)`,
);
console.log(`requests in all: bare ${served.bare}, shunt ${served.shunt}`);
for (const s of [mock, bare, shunt]) s.child.send('exit');
loader.kill();
