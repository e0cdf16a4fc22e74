import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEADER, tempDir, writeTemp } from '../../test/helpers.js';
import { TraceError } from './errors.js';
import { readTrace, type ReadRow } from './reader.js';

const dir = tempDir();

async function read(content: string, options: Parameters<typeof readTrace>[2] = {}): Promise<{ rows: ReadRow[]; result: Awaited<ReturnType<typeof readTrace>> }> {
  return readFile(writeTemp(dir, `t${Math.random().toString(36).slice(2)}.csv`, content), options);
}

async function readFile(file: string, options: Parameters<typeof readTrace>[2] = {}): Promise<{ rows: ReadRow[]; result: Awaited<ReturnType<typeof readTrace>> }> {
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

  it('should say how to fix a stray quote, with the line and the 1-based column', async () => {
    const opening = await readError('ts,account,status\n2026-01-05T09:00:00Z,a"b,200\n');
    expect(opening.message).toMatch(/:2:2: malformed row: a quote inside an unquoted cell; quote the whole cell/);
    const closing = await readError('ts,account,status\n2026-01-05T09:00:00Z,"a"b,200\n');
    expect(closing.message).toMatch(/:2:2: malformed row: text after the closing quote of a cell/);
  });

  it('should reject a malformed row with its line', async () => {
    const error = await readError(`# shunt-trace v1\n${HEADER}\n2026-01-05T09:00:00Z,r1,s,a,m,200,1,2,3,4\n2026-01-05T09:00:01Z,r2,s\n`);
    expect(error.line).toBe(4);
    expect(error.message).toMatch(/:4: malformed row: expected as many fields as the header, got 3/);
  });

  it('should say a header row is missing when the first row is data, even one with two equal cells', async () => {
    const row = '2026-01-05T09:00:00Z,r1,s1,a,a,200';
    for (const content of [`${row}\n`, `# shunt-trace v1\n${row}\n`, '1767603600000,r1,s1,a,a,200\n']) {
      expect((await readError(content)).message).toMatch(/:[12]: missing header row: the first row looks like data; add a header naming the columns \(at least "ts"\)$/);
    }
    // A real header with a repeated name is still a duplicate column.
    expect((await readError('ts,account,account\n2026-01-05T09:00:00Z,a,a\n')).message).toMatch(/:1:3: duplicate column "account" \(also column 2\)$/);
  });

  it('should say a binary or compressed file is one, in a short line without its bytes escaped', async () => {
    const elf = writeTemp(dir, 'binary.csv', '');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0]));
    const binary = await readFile(elf).catch((error: unknown) => error as TraceError);
    expect((binary as TraceError).message).toBe(`${elf}:1: is a binary file, not a CSV trace (it starts with bytes 7f 45 4c 46)`);
    const zipped = writeTemp(dir, 'zipped.csv', '');
    writeFileSync(zipped, gzipSync(`${HEADER}\n`));
    const gz = await readFile(zipped).catch((error: unknown) => error as TraceError);
    expect((gz as TraceError).message).toBe(`${zipped}:1: is gzip-compressed: name it *.gz (the simulator decompresses those) or gunzip it first`);
    const controls = writeTemp(dir, 'controls.csv', '\u0001\u0002\u0003\u0004ts\n');
    expect((await readFile(controls).catch((error: unknown) => error as TraceError) as TraceError).message).toMatch(/:1: is a binary file, not a CSV trace \(it holds control characters/);
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

describe('readTrace, fast path and csv-parse', () => {
  const PARSERS = ['fast', 'csv-parse'] as const;
  const ts = (second: number): string => `2026-01-05T09:00:${String(second).padStart(2, '0')}.000Z`;

  async function readBoth(content: string, options: Parameters<typeof readTrace>[2] = {}): Promise<{ rows: ReadRow[]; result: Awaited<ReturnType<typeof readTrace>> }> {
    const file = writeTemp(dir, `t${Math.random().toString(36).slice(2)}.csv`, content);
    const fast = await readFile(file, { ...options, parser: 'fast' });
    const csv = await readFile(file, { ...options, parser: 'csv-parse' });
    expect(fast).toStrictEqual(csv);
    return fast;
  }

  async function errorOf(content: string, parser: 'fast' | 'csv-parse'): Promise<TraceError> {
    try {
      await read(content, { parser });
    } catch (error) {
      expect(error).toBeInstanceOf(TraceError);
      return error as TraceError;
    }
    throw new Error('expected a TraceError');
  }

  it('should read on with csv-parse from a quoted field mid-file', async () => {
    const content =
      '# shunt-trace v1\nts,session,input_tokens\n' +
      `${ts(0)},plain,1\n${ts(1)},"a, ""quoted""\nsession",2\n${ts(2)},after,3\n${ts(3)},"last",4\n`;
    for (const highWaterMark of [undefined, 7]) {
      const { rows, result } = await readBoth(content, { highWaterMark });
      expect(rows.map((r) => [r.recordIndex, r.session, r.inputTokens])).toEqual([
        [0, 'plain', 1],
        [1, 'a, "quoted"\nsession', 2],
        [2, 'after', 3],
        [3, 'last', 4],
      ]);
      expect(result.rows).toBe(4);
    }
  });

  it('should name the right line after the switch to csv-parse', async () => {
    // Line 4 opens a quoted field that ends on line 5; lines go on counting from there.
    const head = `# shunt-trace v1\nts,session,input_tokens\n${ts(0)},a,1\n${ts(1)},"two\nlines",2\n${ts(2)},b,3\n`;
    for (const parser of PARSERS) {
      const malformed = await errorOf(`${head}${ts(3)},c\n`, parser);
      expect(malformed.message).toMatch(/:7: malformed row: expected as many fields as the header, got 2$/);
      const badCell = await errorOf(`${head}${ts(3)},c,many\n`, parser);
      expect(badCell.message).toMatch(/:7:3: column "input_tokens": expected a non-negative integer, got "many"$/);
    }
  });

  it('should read CRLF files and multi-byte text however the chunks split them', async () => {
    const content = `\uFEFF# shunt-trace v1\r\nts,account,model\r\n${ts(0)},Zoë,日本語\r\n\r\n${ts(1)},🙂,naïve\r\n${ts(2)},plain,m`;
    for (const highWaterMark of [1, 2, 3, 5]) {
      const { rows, result } = await readBoth(content, { highWaterMark });
      expect(result.hasMarker).toBe(true);
      expect(rows.map((r) => [r.account, r.model])).toEqual([
        ['Zoë', '日本語'],
        ['🙂', 'naïve'],
        ['plain', 'm'],
      ]);
    }
  });

  it('should keep a \\r in a file of \\n lines as data, and count lines as csv-parse does', async () => {
    const { rows } = await readBoth(`ts,account\n${ts(0)},a\r\n${ts(1)},b\n`);
    expect(rows.map((r) => r.account)).toEqual(['a\r', 'b']);
    // csv-parse counts a line at every \r too, so the row on line 4 is reported on line 5, and a
    // row on line 3 with a \r of its own on line 4.
    for (const parser of PARSERS) {
      expect((await errorOf(`ts,account\n${ts(0)},a\r\n${ts(1)},b\n${ts(2)}\n`, parser)).message).toMatch(/:5: malformed row/);
      expect((await errorOf(`ts,account\n${ts(0)},a\n${ts(1)},b\r,c\n`, parser)).message).toMatch(/:4: malformed row/);
    }
  });

  it('should keep the record delimiter of the first line ending when csv-parse takes over before the header', async () => {
    // The first line ending is \n, so the \r before the header's \n is data (and trimmed off a
    // column name), not the start of a \r\n that would make the last row's account "a\n".
    const { rows, result } = await readBoth(`\n"ts",account\r\n${ts(0)},a\n`);
    expect(result.columns).toEqual(['ts', 'account']);
    expect(rows.map((r) => [r.tsMs, r.account])).toEqual([[Date.parse(ts(0)), 'a']]);
  });

  it('should report a bad cell before a row csv-parse cannot split later in the same chunk, with its line', async () => {
    for (const parser of PARSERS) {
      const error = await errorOf(`ts,account\n${ts(0)},a\nsoon,b\n${ts(2)},"a"b\n${ts(3)},d\n`, parser);
      expect(error.message).toMatch(/:3:1: column "ts": expected ISO-8601/);
    }
  });

  it('should keep the first five skipped rows in file order, whatever csv-parse parsed ahead', async () => {
    const badCells = Array.from({ length: 8 }, (_, i) => `${ts(i)},x${i},lots\n`).join('');
    const badQuotes = Array.from({ length: 8 }, (_, i) => `${ts(i)},a"b,1\n`).join('');
    const { rows, result } = await readBoth(`ts,account,input_tokens\n${badCells}${badQuotes}${ts(59)},ok,1\n`, { skipBadRows: true });
    expect(rows).toHaveLength(1);
    expect(result.skippedRows).toBe(16);
    expect(result.skippedSamples.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
  });

  it('should hand a line longer than 1 MiB to csv-parse', async () => {
    const long = 'x'.repeat((1 << 20) + 10);
    const { rows } = await readBoth(`ts,session\n${ts(0)},a\n${ts(1)},${long}\n${ts(2)},c\n`);
    expect(rows.map((r) => r.session?.length)).toEqual([1, long.length, 1]);
  });
});
