import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER, tempDir, writeTemp } from '../../test/helpers.js';
import { TraceError } from './errors.js';
import { readTrace, type ReadRow } from './reader.js';

const dir = tempDir();

async function read(content: string, options: Parameters<typeof readTrace>[2] = {}): Promise<{ rows: ReadRow[]; result: Awaited<ReturnType<typeof readTrace>> }> {
  const file = writeTemp(dir, `t${Math.random().toString(36).slice(2)}.csv`, content);
  const rows: ReadRow[] = [];
  const result = await readTrace(file, (row) => rows.push(row), options);
  return { rows, result };
}

async function readError(content: string): Promise<TraceError> {
  try {
    await read(content);
  } catch (error) {
    expect(error).toBeInstanceOf(TraceError);
    return error as TraceError;
  }
  throw new Error('expected a TraceError');
}

describe('readTrace', () => {
  it('should read every v1 column with its unit', async () => {
    const { rows, result } = await read(
      '# shunt-trace v1\n' +
        'ts,request_id,session,account,model,status,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,duration_ms,util_5h,reset_5h,status_5h,util_7d,reset_7d,status_7d\n' +
        '2026-01-05T09:00:00.000Z,r1,s1,work,claude-opus-4-5,200,10,20,30,40,1500,0.25,1767621600,allowed,0.5,1768000000,allowed_warning\n',
    );
    expect(result.hasMarker).toBe(true);
    expect(rows).toEqual([
      {
        recordIndex: 0,
        tsMs: Date.UTC(2026, 0, 5, 9),
        requestId: 'r1',
        session: 's1',
        account: 'work',
        model: 'claude-opus-4-5',
        status: 200,
        inputTokens: 10,
        outputTokens: 20,
        cacheReadTokens: 30,
        cacheCreationTokens: 40,
        durationMs: 1500,
        utilization5h: 0.25,
        reset5hSecs: 1767621600,
        status5h: 'allowed',
        utilization7d: 0.5,
        reset7dSecs: 1768000000,
        status7d: 'allowed_warning',
      },
    ]);
  });

  it('should accept columns in any order, epoch milliseconds, no marker, and ignore unknown columns', async () => {
    const { rows, result } = await read('extra,account,ts\nx,a,1767603600000\ny,,1767603601000\n');
    expect(result.hasMarker).toBe(false);
    expect(result.unknownColumns).toEqual(['extra']);
    expect(rows.map((r) => [r.tsMs, r.account])).toEqual([
      [1767603600000, 'a'],
      [1767603601000, undefined],
    ]);
  });

  it('should read a gzip-compressed trace', async () => {
    const file = join(dir, 'z.csv.gz');
    writeFileSync(file, gzipSync('# shunt-trace v1\nts\n2026-01-05T09:00:00Z\n'));
    const rows: ReadRow[] = [];
    await readTrace(file, (row) => rows.push(row));
    expect(rows).toHaveLength(1);
  });

  it('should name file, line and column for a non-numeric token count', async () => {
    const error = await readError(`# shunt-trace v1\n${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,200,1,2,3,4\n2026-01-05T09:00:01Z,r2,s,a,m,200,1,lots,3,4\n`);
    expect(error.line).toBe(4);
    expect(error.column).toBe(8);
    expect(error.message).toMatch(/:4:8: column "output_tokens": expected a non-negative integer, got "lots"$/);
  });

  it('should reject an unknown status and an unknown window status', async () => {
    const status = await readError(`${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,OK,1,2,3,4\n`);
    expect(status.message).toMatch(/:2:6: column "status": expected an HTTP status code/);
    const window = await readError('ts,status_5h\n2026-01-05T09:00:00Z,exhausted\n');
    expect(window.message).toMatch(/:2:2: column "status_5h": unknown window status "exhausted"/);
  });

  it('should reject a malformed row with its line', async () => {
    const error = await readError(`# shunt-trace v1\n${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,200,1,2,3,4\n2026-01-05T09:00:01Z,r2,s\n`);
    expect(error.line).toBe(4);
    expect(error.message).toMatch(/:4: malformed row: expected as many fields as the header, got 3/);
  });

  it('should reject an empty file, a missing ts column and an unknown version', async () => {
    expect((await readError('')).message).toMatch(/:1: empty trace/);
    expect((await readError('# shunt-trace v1\n')).message).toMatch(/:1: empty trace/);
    expect((await readError('account,status\na,200\n')).message).toMatch(/:1: missing required column "ts"/);
    expect((await readError('# shunt-trace v1\naccount,status\na,200\n')).message).toMatch(/:2: missing required column "ts"/);
    expect((await readError('# shunt-trace v2\nts\n2026-01-05T09:00:00Z\n')).message).toMatch(
      /:1:1: unsupported trace format version 2/,
    );
  });

  it('should explain epoch seconds where milliseconds belong, and the reverse', async () => {
    expect((await readError('ts\n1767603600\n')).message).toMatch(/looks like epoch seconds/);
    expect((await readError('ts,reset_5h\n2026-01-05T09:00:00Z,1767603600000\n')).message).toMatch(/looks like epoch milliseconds/);
  });

  it('should reject a timestamp without a time zone', async () => {
    expect((await readError('ts\n2026-01-05T09:00:00\n')).message).toMatch(/:2:1: column "ts": expected ISO-8601/);
  });

  it('should skip bad rows and report how many, with lines, when asked', async () => {
    const { rows, result } = await read(
      `${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,200,1,2,3,4\nnot-a-time,r2,s,a,m,200,1,2,3,4\n2026-01-05T09:00:02Z,r3,s\n2026-01-05T09:00:03Z,r4,s,a,m,200,1,2,3,4\n`,
      { skipBadRows: true },
    );
    expect(rows.map((r) => r.requestId)).toEqual(['r1', 'r4']);
    expect(result.skippedRows).toBe(2);
    expect(result.skippedSamples.map((e) => e.line)).toEqual([3, 4]);
  });
});
