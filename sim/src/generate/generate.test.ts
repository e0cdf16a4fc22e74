import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { calibrate } from '../model/calibrate.js';
import { createRowColumns } from '../model/row-columns.js';
import { createRequestAssembler, type TraceRequest } from '../trace/assemble.js';
import { readTrace, type ReadRow } from '../trace/reader.js';
import { TRACE_PREAMBLE, formatTraceRow } from '../trace/writer.js';
import { strategies } from '@shunt/core';
import { generateTrace } from './record.js';
import { readGroundTruth, replayTruth } from './truth.js';

const dir = tempDir();
let n = 0;

async function readRequests(file: string): Promise<{ rows: ReadRow[]; requests: TraceRequest[] }> {
  const rows: ReadRow[] = [];
  const requests: TraceRequest[] = [];
  const assembler = createRequestAssembler({ onRequest: (r) => requests.push(r) });
  await readTrace(file, (row) => {
    rows.push(row);
    assembler.add(row);
  });
  assembler.finish();
  return { rows, requests };
}

describe('generateTrace', () => {
  it('should write the same file for the same seed, and a different one for another seed', async () => {
    const files = await Promise.all(
      [1, 1, 2].map(async (seed) => {
        const out = join(dir, `seed-${seed}-${n++}.csv`);
        await generateTrace({ out, accounts: 2, days: 1, seed });
        return readFileSync(out, 'utf8');
      }),
    );
    expect(files[0]).toBe(files[1]);
    expect(files[0]).not.toBe(files[2]);
  });

  it('should write rows that read back to the same bytes', async () => {
    const out = join(dir, `round-trip-${n++}.csv`);
    const summary = await generateTrace({ out, accounts: 3, days: 2, seed: 7 });
    const { rows } = await readRequests(out);
    expect(rows).toHaveLength(summary.rows);
    const rewritten = TRACE_PREAMBLE + rows.map((row) => formatTraceRow(row)).join('');
    expect(rewritten).toBe(readFileSync(out, 'utf8'));
  });

  it('should write a ground truth whose replay under the recording strategy is the recording', async () => {
    const out = join(dir, `truth-${n++}.csv`);
    const truthOut = join(dir, `truth-${n++}.json`);
    const summary = await generateTrace({ out, truthOut, accounts: 2, days: 1, seed: 3, capacityScale: { window5h: 0.2, window7d: 0.6 }, cacheTtl: '1h' });
    const truth = await readGroundTruth(truthOut);
    expect(truth.requests).toHaveLength(summary.requests);
    expect(truth.accounts.map((a) => a.capacity)).toEqual(summary.accounts.map((a) => a.capacity));
    const [replayed] = replayTruth(truth, [strategies.maximus], { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 });
    expect(summary.failedRequests).toBeGreaterThan(0);
    expect(replayed?.failed).toBe(summary.failedRequests);
    expect(replayed?.rateLimited).toBe(summary.rateLimitedRows);
    // 1-hour caching: the rows record 1-hour writes.
    const { rows } = await readRequests(out);
    expect(rows.some((row) => (row.cacheCreation1hTokens ?? 0) > 0)).toBe(true);
  });

  test.prop(
    [
      fc.record({ window5h: fc.double({ min: 0.3, max: 1.5, noNaN: true }), window7d: fc.double({ min: 0.3, max: 1.5, noNaN: true }) }),
      fc.integer({ min: 1, max: 1_000 }),
    ],
    { numRuns: 4 },
  )('should let calibration recover the ground-truth capacity within 2 %', async (capacityScale, seed) => {
    const out = join(dir, `calibration-${n++}.csv`);
    const summary = await generateTrace({ out, accounts: 2, days: 2, seed, capacityScale, users: 3 });
    const { requests } = await readRequests(out);
    const columns = createRowColumns();
    requests.forEach((request, i) => request.attempts.forEach((row) => columns.push(row, i)));
    const calibration = calibrate(columns.columns(), { groupOf: (account) => account });
    expect(calibration).not.toBeNull();
    for (const account of summary.accounts) {
      const fitted = calibration?.groups.get(account.name);
      if (fitted === undefined || fitted.samples5h < 200) continue; // too little traffic to judge
      expect(fitted.capacity.window5hCredits / account.capacity.window5hCredits).toBeCloseTo(1, 1);
      expect(Math.abs(fitted.capacity.window5hCredits / account.capacity.window5hCredits - 1)).toBeLessThan(0.02);
      expect(Math.abs(fitted.capacity.window7dCredits / account.capacity.window7dCredits - 1)).toBeLessThan(0.02);
    }
  });
});
