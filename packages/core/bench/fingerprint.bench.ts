/**
 * @module
 * Benchmark: `fingerprint` against `JSON.parse` of the same Claude-Code-like request body, for string and
 * byte input. Run with `tsx --conditions=@shunt/source bench/fingerprint.bench.ts` from packages/core.
 */
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { fingerprint } from '../src/fingerprint.js';
import { claudeLikeBody } from '../test/fingerprint-reference.js';

/** One size and input kind: mean milliseconds per call and how many times faster `fingerprint` is. */
export interface Row {
  size: string;
  input: 'string' | 'bytes';
  fingerprintMs: number;
  jsonParseMs: number;
  /** jsonParseMs / fingerprintMs. */
  speedup: number;
  /** Medians: unlike means, not moved by a GC pause or a burst of load on a shared machine. */
  fingerprintP50Ms: number;
  jsonParseP50Ms: number;
  medianSpeedup: number;
  /**
   * Bytes only: the strongest baseline Node offers, `JSON.parse(buffer.toString())` (V8's own UTF-8
   * decoder, much faster than Node 20's TextDecoder), median ms and median speed-up; null for strings.
   */
  nodeBaselineP50Ms: number | null;
  nodeMedianSpeedup: number | null;
}

/**
 * Measures `fingerprint` and `JSON.parse` on 10 KB, 100 KB, 1 MB and 4 MB bodies, as strings and bytes.
 * Each size runs `rounds` short tinybench passes and keeps each task's lowest mean (and median): on a
 * shared machine a burst of load during one task's pass would otherwise skew the ratio. Run node with
 * `--expose-gc` to also collect JSON.parse's garbage before each task instead of during the next one.
 */
export async function benchFingerprint(options: { timeMs?: number; rounds?: number } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const rounds = options.rounds ?? 3;
  for (const [size, bytes] of SIZES) {
    const text = claudeLikeBody(bytes);
    const encoded = new TextEncoder().encode(text);
    const asBuffer = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    // A benchmark of a function that returns null early would measure nothing.
    const expected = fingerprint(text);
    if (expected === null || fingerprint(encoded) !== expected) throw new Error(`bad fingerprint for ${size}`);
    const best = new Map<string, { mean: number; p50: number }>();
    for (let round = 0; round < rounds; round++) {
      const bench = new Bench({ time: options.timeMs ?? 500, warmupTime: 100, setup: collectGarbage });
      bench
        .add('fingerprint(string)', () => fingerprint(text))
        .add('JSON.parse(string)', () => JSON.parse(text))
        .add('fingerprint(bytes)', () => fingerprint(encoded))
        .add('JSON.parse(decode(bytes))', () => JSON.parse(new TextDecoder().decode(encoded)))
        .add('JSON.parse(buffer.toString())', () => JSON.parse(asBuffer.toString('utf8')));
      await bench.run();
      for (const task of bench.tasks) {
        const result = task.result;
        if (!('latency' in result)) throw new Error(`${task.name} did not complete`);
        const previous = best.get(task.name) ?? { mean: Infinity, p50: Infinity };
        best.set(task.name, {
          mean: Math.min(previous.mean, result.latency.mean),
          p50: Math.min(previous.p50, result.latency.p50),
        });
      }
    }
    for (const input of ['string', 'bytes'] as const) {
      const fp = best.get(input === 'string' ? 'fingerprint(string)' : 'fingerprint(bytes)');
      const parse = best.get(input === 'string' ? 'JSON.parse(string)' : 'JSON.parse(decode(bytes))');
      if (fp === undefined || parse === undefined) throw new Error(`missing results for ${size}`);
      rows.push({
        size,
        input,
        fingerprintMs: fp.mean,
        jsonParseMs: parse.mean,
        speedup: parse.mean / fp.mean,
        fingerprintP50Ms: fp.p50,
        jsonParseP50Ms: parse.p50,
        medianSpeedup: parse.p50 / fp.p50,
        nodeBaselineP50Ms: input === 'bytes' ? (best.get('JSON.parse(buffer.toString())')?.p50 ?? null) : null,
        nodeMedianSpeedup:
          input === 'bytes' ? (best.get('JSON.parse(buffer.toString())')?.p50 ?? Number.NaN) / fp.p50 : null,
      });
    }
  }
  return rows;
}

/** Markdown table of benchmark rows. */
export function formatRows(rows: readonly Row[]): string {
  const lines = [
    '| size | input | fingerprint mean ms (ops/s) | JSON.parse mean ms (ops/s) | speedup | fingerprint p50 ms | JSON.parse p50 ms | median speedup |',
    '| ---: | :---- | --------------------------: | -------------------------: | ------: | -----------------: | ----------------: | -------------: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.size} | ${r.input} | ${r.fingerprintMs.toFixed(3)} (${Math.round(1000 / r.fingerprintMs)}) | ` +
        `${r.jsonParseMs.toFixed(3)} (${Math.round(1000 / r.jsonParseMs)}) | ${r.speedup.toFixed(2)}x | ` +
        `${r.fingerprintP50Ms.toFixed(3)} | ${r.jsonParseP50Ms.toFixed(3)} | ${r.medianSpeedup.toFixed(2)}x |`,
    );
  }
  return lines.join('\n');
}

/** Runs a full GC when node was started with --expose-gc; a no-op otherwise. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const SIZES: ReadonlyArray<readonly [string, number]> = [
  ['10 KB', 10_000],
  ['100 KB', 100_000],
  ['1 MB', 1_000_000],
  ['4 MB', 4_000_000],
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatRows(await benchFingerprint()));
}
