import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { TRACE_COLUMNS, WINDOW_STATUSES, type TraceRecord } from './columns.js';
import { readTrace, type ReadRow } from './reader.js';
import { TRACE_PREAMBLE, createTraceWriter, formatTraceRow } from './writer.js';

const dir = tempDir();

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });
const count = fc.integer({ min: 0, max: 2_000_000 });
const text = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));

/** Any record the writer may be given. */
const recordArb: fc.Arbitrary<TraceRecord> = fc.record({
  tsMs: fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2100, 0, 1) }),
  requestId: optional(text),
  session: optional(text),
  account: optional(text),
  model: optional(text),
  status: optional(fc.integer({ min: 100, max: 599 })),
  inputTokens: optional(count),
  outputTokens: optional(count),
  cacheReadTokens: optional(count),
  cacheCreationTokens: optional(count),
  cacheCreation5mTokens: optional(count),
  cacheCreation1hTokens: optional(count),
  durationMs: optional(count),
  utilization5h: optional(fc.double({ min: 0, max: 3, noNaN: true, noDefaultInfinity: true })),
  reset5hSecs: optional(fc.integer({ min: 1_000_000_000, max: 4_000_000_000 })),
  status5h: optional(fc.constantFrom(...WINDOW_STATUSES)),
  utilization7d: optional(fc.double({ min: 0, max: 3, noNaN: true, noDefaultInfinity: true })),
  reset7dSecs: optional(fc.integer({ min: 1_000_000_000, max: 4_000_000_000 })),
  status7d: optional(fc.constantFrom(...WINDOW_STATUSES)),
});

/** A read row without its position, with absent fields dropped, for comparison. */
function normalise(record: TraceRecord | ReadRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === 'recordIndex' || value === undefined) continue;
    // -0 is written as "0"; the reader gives back 0.
    out[key] = Object.is(value, -0) ? 0 : value;
  }
  return out;
}

describe('formatTraceRow', () => {
  it('should write columns in the documented order with empty cells for missing fields', () => {
    expect(formatTraceRow({ tsMs: Date.UTC(2026, 0, 5, 9), account: 'work', status: 200 })).toBe(
      '2026-01-05T09:00:00.000Z,,,work,,200,,,,,,,,,,,,,\n',
    );
    expect(TRACE_PREAMBLE).toBe(`# shunt-trace v1\n${TRACE_COLUMNS.join(',')}\n`);
  });

  it('should quote cells that need it', () => {
    expect(formatTraceRow({ tsMs: 0, session: 'a,"b"' })).toContain(',"a,""b""",');
  });

  test.prop([fc.array(recordArb, { minLength: 1, maxLength: 40 })], { numRuns: 40 })(
    'should read back exactly what it wrote',
    async (records) => {
      const file = join(dir, `round-trip-${Math.random().toString(36).slice(2)}.csv`);
      const writer = createTraceWriter(file);
      for (const record of records) await writer.write(record);
      await writer.close();
      const rows: ReadRow[] = [];
      await readTrace(file, (row) => rows.push(row));
      expect(rows.map(normalise)).toEqual(records.map(normalise));
      expect(readFileSync(file, 'utf8').startsWith(TRACE_PREAMBLE)).toBe(true);
    },
  );
});
