/**
 * The simulator's benchmark (`pnpm bench`): how much a full replay of the four built-in strategies
 * costs compared with csv-parse merely reading the same file, and the replay's peak memory.
 *
 * A synthetic trace of about a million rows is generated once; its first 200,000 rows and its first
 * 1,000,000 rows are measured. Every measurement runs in a child process of its own (so peak RSS
 * is the measured thing's alone) and counts CPU time from the first byte read to the last row
 * handled, which is steadier than wall time on a shared machine. Best of three.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { strategies } from '@shunt/core';
import { machineLine, writeBenchSection } from '../../scripts/bench-doc.js';
import { generateTrace } from '../src/generate/record.js';
import { csvOptions, readTrace } from '../src/trace/reader.js';
import { simulate } from '../src/replay/simulate.js';

/** One trace size's result. */
export interface SimBenchRow {
  readonly rows: number;
  readonly bytes: number;
  /** csv-parse alone, CPU ms. */
  readonly parseMs: number;
  /** The simulator's reader alone (split + validate every row, nothing else), CPU ms. */
  readonly readMs: number;
  /** Read + validate + reorder + calibrate + replay all four strategies, CPU ms. */
  readonly replayMs: number;
  /** replayMs / parseMs. */
  readonly ratio: number;
  /** Peak RSS of the csv-parse process, MiB. */
  readonly parseRssMiB: number;
  /** Peak RSS of the replay process, MiB. */
  readonly replayRssMiB: number;
  /** Wall time of the best replay, ms. */
  readonly replayWallMs: number;
}

/** Options for {@link benchSim}. */
export interface SimBenchOptions {
  /** Trace sizes, rows. @default [200000, 1000000] */
  readonly sizes?: readonly number[] | undefined;
  /** Runs per measurement (the best counts). @default 3 */
  readonly runs?: number | undefined;
  /** Progress lines. */
  readonly log?: ((line: string) => void) | undefined;
}

/** The target: replaying four strategies costs at most this many times csv-parse alone. */
export const TARGET_RATIO = 3;

/** Run the benchmark. */
export async function benchSim(options: SimBenchOptions = {}): Promise<SimBenchRow[]> {
  const sizes = options.sizes ?? [200_000, 1_000_000];
  const runs = options.runs ?? 3;
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'shunt-sim-bench-'));
  try {
    const full = join(dir, 'full.csv');
    const largest = Math.max(...sizes);
    // Five accounts (a typical pool) shared by thirty people, with 4× the plans' capacity so the
    // pool is busy but not drowning; about 21,000 rows a day.
    const days = Math.ceil(largest / 21_000) + 1;
    log(`generating ~${largest.toLocaleString('en-US')} rows (${days} days)…`);
    await generateTrace({ out: full, accounts: 5, users: 30, days, seed: 9, capacityScale: { window5h: 4, window7d: 4 } });
    const out: SimBenchRow[] = [];
    for (const size of sizes) {
      const file = join(dir, `trace-${size}.csv`);
      await headRows(full, file, size);
      let parse = { cpuMs: Number.POSITIVE_INFINITY, rssKiB: 0 };
      let read = { cpuMs: Number.POSITIVE_INFINITY, rssKiB: 0 };
      let replay = { cpuMs: Number.POSITIVE_INFINITY, rssKiB: 0, wallMs: 0 };
      for (let run = 0; run < runs; run++) {
        const p = child('parse', file);
        const t = child('read', file);
        const r = child('replay', file);
        if (p.cpuMs < parse.cpuMs) parse = p;
        if (t.cpuMs < read.cpuMs) read = t;
        if (r.cpuMs < replay.cpuMs) replay = r;
        log(
          `${size.toLocaleString('en-US')} rows, run ${run + 1}: csv-parse ${p.cpuMs.toFixed(0)} ms, reader ${t.cpuMs.toFixed(0)} ms, replay ${r.cpuMs.toFixed(0)} ms`,
        );
      }
      out.push({
        rows: size,
        bytes: statSync(file).size,
        parseMs: parse.cpuMs,
        readMs: read.cpuMs,
        replayMs: replay.cpuMs,
        ratio: replay.cpuMs / parse.cpuMs,
        parseRssMiB: parse.rssKiB / 1024,
        replayRssMiB: replay.rssKiB / 1024,
        replayWallMs: replay.wallMs,
      });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The benchmark's section of docs/benchmarks.md. */
export function formatSimBench(rows: readonly SimBenchRow[], runs = 3): string {
  const table = rows
    .map(
      (r) =>
        `| ${r.rows.toLocaleString('en-US')} | ${(r.bytes / 1_048_576).toFixed(0)} MiB | ${ms(r.parseMs)} | ${ms(r.readMs)} (${(r.readMs / r.parseMs).toFixed(2)}×) | ${ms(r.replayMs)} | ${r.ratio.toFixed(2)}× | ${r.replayRssMiB.toFixed(0)} MiB (csv-parse alone: ${r.parseRssMiB.toFixed(0)} MiB) |`,
    )
    .join('\n');
  return `## Simulator (\`sim/\`)

${machineLine()}

A synthetic trace (\`generateTrace\`: 5 accounts, 30 people, seed 9) replayed by \`simulate()\` as
\`pnpm sim\` does, through all four built-in strategies in one streaming pass: validation, the
reorder buffer, the 100,000-row warm-up with calibration, four replayers with their prompt-cache
state, and the self-check (the recorded routing through the model). The robustness reruns, two
more replays of every strategy on moved pools, are not in this figure: they roughly double the
replay's share. Baseline: csv-parse alone reading the same file with nothing done per row. CPU
time, ${runs === 1 ? 'one run' : `best of ${runs === 3 ? 'three' : runs}`}, each in a process of its own under tsx (as \`pnpm sim\` runs). Target:
replay ≤ ${TARGET_RATIO}× csv-parse.

"shunt's reader alone" is \`readTrace\` with nothing done per row: it splits plain lines from the
bytes itself and validates every cell, and hands csv-parse the file from the first record with a
quote on ([simulator.md](simulator.md#performance-and-memory)). Its share of the replay is the
reading; the rest is the reorder buffer, the warm-up and the four replayers.

| Rows | File | csv-parse alone | shunt's reader alone | replay, 4 strategies | ratio | peak RSS, replay |
|---:|---:|---:|---:|---:|---:|---:|
${table}

${verdict(rows)}

Peak RSS does not grow with the trace: the warm-up, the reorder buffer, the conversation maps and
the hold histogram are all bounded ([simulator.md](simulator.md#performance-and-memory)).`;
}

function verdict(rows: readonly SimBenchRow[]): string {
  const largest = rows.reduce((a, b) => (b.rows > a.rows ? b : a));
  const met = largest.ratio <= TARGET_RATIO;
  const why = 'A smaller trace pays the same 100,000-row warm-up (calibration) over fewer rows, so its ratio is higher.';
  return met
    ? `Target met: ${largest.ratio.toFixed(2)}× on ${largest.rows.toLocaleString('en-US')} rows. ${why}`
    : `**Target not met**: ${largest.ratio.toFixed(2)}× on ${largest.rows.toLocaleString('en-US')} rows. ${why}`;
}

function ms(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}

/** Copy the marker, the header and the first `rows` rows. */
async function headRows(from: string, to: string, rows: number): Promise<void> {
  const out = createWriteStream(to);
  const lines = createInterface({ input: createReadStream(from), crlfDelay: Number.POSITIVE_INFINITY });
  let n = -2;
  for await (const line of lines) {
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    if (++n >= rows) break;
  }
  lines.close();
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

function child(mode: 'parse' | 'read' | 'replay', file: string): { cpuMs: number; rssKiB: number; wallMs: number } {
  const self = fileURLToPath(import.meta.url);
  const output = execFileSync(process.execPath, [...process.execArgv, self, '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').pop() as string) as { cpuMs: number; rssKiB: number; wallMs: number };
}

async function runChild(mode: string, file: string): Promise<void> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  if (mode === 'read') {
    await readTrace(file, () => {});
  } else if (mode === 'parse') {
    await new Promise<void>((resolve, reject) => {
      // The reader's own csv-parse options (it strips the marker line itself; here from_line does).
      const parser = createReadStream(file).pipe(parse({ ...csvOptions(false), from_line: 2 }));
      parser.on('readable', () => {
        while (parser.read() !== null);
      });
      parser.on('end', resolve);
      parser.on('error', reject);
    });
  } else {
    await simulate({
      file,
      strategies: Object.values(strategies),
      routing: { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 },
      pool: { kind: 'trace', plan: 'max5' },
      // The budget covers the replay with its prompt-cache model and self-check; the robustness
      // reruns (two more replays of every strategy) are measured apart.
      robustness: process.env['SIM_BENCH_ROBUSTNESS'] === '1',
    });
  }
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(
    `${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wall0, rssKiB: process.resourceUsage().maxRSS })}\n`,
  );
}

if (process.argv[2] === '--child') {
  await runChild(process.argv[3] as string, process.argv[4] as string);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await benchSim({ log: (line) => process.stderr.write(`sim bench: ${line}\n`) });
  const markdown = formatSimBench(rows, 3);
  process.stdout.write(`${markdown}\n`);
  await writeBenchSection('sim', markdown);
}
