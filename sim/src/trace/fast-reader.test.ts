/**
 * The fast path against csv-parse: for any trace, reading it with `parser: 'fast'` must give what
 * reading it with `parser: 'csv-parse'` gives, rows, summary and errors alike, however the file
 * is cut into chunks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { COLUMN_FIELDS, TRACE_COLUMNS, type CellKind, type TraceColumn } from './columns.js';
import { TraceError } from './errors.js';
import { readTrace, type ReadRow, type ReadTraceOptions } from './reader.js';

const dir = tempDir();

/** The keys of every ReadRow, in order (one hidden class). */
const ROW_KEYS = ['recordIndex', ...TRACE_COLUMNS.map((column) => COLUMN_FIELDS[column].field)].join();

/** What one read gave: the rows handed out, then the summary or the error. */
interface Outcome {
  readonly rows: ReadRow[];
  readonly result?: unknown;
  readonly error?: string;
}

async function outcome(file: string, options: ReadTraceOptions): Promise<Outcome> {
  const rows: ReadRow[] = [];
  try {
    const result = await readTrace(file, (row) => rows.push(row), options);
    return { rows, result: { ...result, skippedSamples: result.skippedSamples.map((e) => e.message) } };
  } catch (error) {
    if (!(error instanceof TraceError)) throw error;
    return { rows, error: error.message };
  }
}

/** A column kind's cells: as recorders write them, other valid spellings, invalid ones. */
interface CellShapes {
  readonly common: fc.Arbitrary<string>;
  readonly unusual: readonly string[];
  readonly invalid: readonly string[];
}

const isoMillis = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString());
const digits = (min: number, max: number): fc.Arbitrary<string> => fc.integer({ min, max }).map(String);
const decimal = fc.integer({ min: 0, max: 1_500_000 }).map((n) => (n / 10 ** (n % 7)).toString());
const asciiText = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,10}$/);
/** Multi-byte UTF-8 (2, 3 and 4 bytes), which tiny chunks split mid-character. */
const unicodeText = fc.constantFrom('Zoë', 'café-1', '日本語', 'naïve ü', '🙂x', 'Ωmega', 'façade€');

const CELLS: Record<CellKind, CellShapes> = {
  timestamp: {
    common: fc.oneof({ weight: 5, arbitrary: isoMillis }, { weight: 1, arbitrary: digits(1e11, 4e12) }),
    // Date.parse rolls 30 February and 24:00 over: valid, by the string path only.
    unusual: [
      '2026-01-05T09:00:00Z',
      '2026-01-31T23:59:59.999Z',
      '2026-02-30T00:00:00.000Z',
      '2026-01-05T24:00:00.000Z',
      '2026-01-05T09:00:00.000+01:00',
      '2026-01-05T09:00Z',
      '0999-12-31T00:00:00.000Z',
      '01767603600000',
    ],
    invalid: ['1767603600', 'not-a-time', '2026-01-05T09:00:00', '00001767603600000', '+1767603600000', '2026-01-05T09:00:00.000z', '2026-13-05T09:00:00.000Z'],
  },
  count: { common: digits(0, 2_000_000), unusual: ['0', '007', '999999999999999', '000000000000001'], invalid: ['-1', '1.5', '1e3', ' 12', 'x', '1000000000000000'] },
  httpStatus: { common: fc.constantFrom('200', '429', '529', '500'), unusual: ['100', '599', '0200'], invalid: ['99', '600', 'OK', '2OO'] },
  utilization: {
    common: fc.oneof(decimal, fc.constantFrom('0', '1', '0.47')),
    unusual: ['.5', '1.', '0.0', '00.25', '1e-3', '2.5E+1', '0.1234567890123456', '123456789012345', '1234567890123456', '0.30000000000000004'],
    invalid: ['-0.1', '.', '1..2', 'abc', 'Infinity', '0x1', '1e'],
  },
  epochSecs: { common: digits(1_700_000_000, 1_800_000_000), unusual: ['0', '99999999999'], invalid: ['1767603600000', 'soon', '1.5'] },
  windowStatus: { common: fc.constantFrom('allowed', 'allowed_warning', 'rejected'), unusual: ['allowed'], invalid: ['exhausted', 'Allowed', 'allowed ', 'reject'] },
  text: { common: fc.oneof({ weight: 4, arbitrary: asciiText }, { weight: 1, arbitrary: unicodeText }), unusual: [' padded ', 'a;b', '#hash', '\u00a0'], invalid: [] },
};

/** Values only a quoted field can hold. */
const NEEDS_QUOTES = ['a,b', 'say "hi"', 'two\nlines', 'crlf\r\nline', '"', ',', 'x,"y",z'];

/** Bytes that stress the splitter: a stray `\r`, a bare `\n`, quotes csv-parse rejects. */
const AWKWARD = ['a\rb', 'tail\r', 'x\ny', 'ab"c', '"unclosed', '"ab"c', '""', '\r'];

/**
 * How often a cell is anything but a common valid one: `some` for small files (one cell in four
 * or so), `rare` for large ones (about once a file), so the fast path runs a while before it
 * meets the first problem or quote.
 */
type Noise = 'some' | 'rare';

const NOISE: Record<Noise, { common: number; unusual: number; empty: number; invalid: number; quoted: number; odd: number; badShape: number }> = {
  some: { common: 30, unusual: 6, empty: 3, invalid: 3, quoted: 1, odd: 1, badShape: 1 / 8 },
  rare: { common: 20_000, unusual: 4_000, empty: 20, invalid: 1, quoted: 1, odd: 0, badShape: 1 / 2_000 },
};

function cellArb(kind: CellKind | undefined, noise: Noise): fc.Arbitrary<string> {
  const shapes = CELLS[kind ?? 'text'];
  const weights = NOISE[noise];
  const usual = fc.oneof({ weight: 5, arbitrary: shapes.common }, { weight: 1, arbitrary: fc.constantFrom(...shapes.unusual) });
  const choices = [
    { weight: weights.common, arbitrary: shapes.common },
    { weight: weights.unusual, arbitrary: fc.constantFrom(...shapes.unusual) },
    { weight: weights.empty, arbitrary: fc.constant('') },
    { weight: weights.quoted, arbitrary: usual.map(quote) },
  ];
  if (shapes.invalid.length > 0) choices.push({ weight: weights.invalid, arbitrary: fc.constantFrom(...shapes.invalid) });
  if (weights.odd > 0) {
    choices.push({ weight: weights.odd, arbitrary: fc.constantFrom(...NEEDS_QUOTES).map(quote) });
    choices.push({ weight: weights.odd, arbitrary: fc.constantFrom(...AWKWARD) });
  }
  return fc.oneof(...choices);
}

function quote(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** A header: `ts` and any other columns, in any order, perhaps unknown ones, in any case. */
const headerArb: fc.Arbitrary<{ names: string[]; kinds: (CellKind | undefined)[] }> = fc
  .tuple(
    fc.shuffledSubarray(TRACE_COLUMNS.filter((c) => c !== 'ts')),
    fc.subarray(['extra', 'note', 'Zoë col']),
    fc.nat(),
    fc.array(fc.nat(9), { minLength: 20, maxLength: 20 }),
  )
  .map(([known, unknown, at, spellings]) => {
    const columns: string[] = [...known, ...unknown];
    columns.splice(at % (columns.length + 1), 0, 'ts');
    const names = columns.map((name, i) => {
      const spelling = spellings[i] ?? 0;
      if (spelling === 0) return name.toUpperCase();
      if (spelling === 1) return ` ${name} `;
      if (spelling === 2) return quote(name);
      return name;
    });
    const kinds = columns.map((name) => (name in COLUMN_FIELDS ? COLUMN_FIELDS[name as TraceColumn].kind : undefined));
    return { names, kinds };
  });

/** One line after the header: a record (perhaps with a field too few or too many), or an empty line. */
function lineArb(kinds: readonly (CellKind | undefined)[], noise: Noise): fc.Arbitrary<string> {
  const bad = NOISE[noise].badShape;
  const shape = fc.oneof({ weight: Math.round(1 / bad), arbitrary: fc.constant('same') }, { weight: 1, arbitrary: fc.constantFrom('fewer', 'more') });
  const record = fc
    .tuple(fc.tuple(...kinds.map((kind) => cellArb(kind, noise))), shape)
    .map(([cells, shape]) => {
      const fields = [...cells];
      if (shape === 'fewer') fields.pop();
      if (shape === 'more') fields.push('surplus');
      return fields.join(',');
    });
  return fc.oneof({ weight: 15, arbitrary: record }, { weight: 1, arbitrary: fc.constant('') });
}

interface TraceFile {
  readonly content: string;
}

/** A whole trace: BOM, marker, leading empty lines, line endings and the final newline all vary. */
function traceArb(rows: { minLength?: number; maxLength: number }, noise: Noise): fc.Arbitrary<TraceFile> {
  return fc
    .tuple(
      headerArb,
      fc.constantFrom('\n', '\r\n', '\n', '\r\n', '\r'),
      fc.boolean(),
      fc.constantFrom('', '# shunt-trace v1\n', '# shunt-trace v1\r\n'),
      fc.constantFrom(0, 0, 0, 1, 2),
      fc.boolean(),
    )
    .chain(([header, eol, bom, marker, leadingEmpty, finalNewline]) =>
      fc.array(lineArb(header.kinds, noise), rows).map((lines) => ({
        content:
          (bom ? '\uFEFF' : '') +
          marker +
          eol.repeat(leadingEmpty) +
          [header.names.join(','), ...lines].join(eol) +
          (finalNewline ? eol : ''),
      })),
    );
}

/** Read `trace` both ways and expect the same outcome. */
async function expectSameOutcome(trace: TraceFile, skipBadRows: boolean, chunks: { fast?: number; csv?: number }): Promise<void> {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, trace.content);
  const fast = await outcome(file, { skipBadRows, parser: 'fast', highWaterMark: chunks.fast });
  const csv = await outcome(file, { skipBadRows, parser: 'csv-parse', highWaterMark: chunks.csv });
  expect(fast).toStrictEqual(csv);
  for (const row of fast.rows) expect(Object.keys(row).join()).toBe(ROW_KEYS);
}

const chunkSize = fc.constantFrom(1, 2, 3, 5, 16, 100, 65_536);

describe('readTrace fast path', () => {
  test.prop([traceArb({ maxLength: 12 }, 'some'), fc.boolean(), chunkSize, chunkSize], { numRuns: 300 })(
    'should read any small trace exactly as csv-parse does, in any chunks',
    async (trace, skipBadRows, fast, csv) => {
      await expectSameOutcome(trace, skipBadRows, { fast, csv });
    },
  );

  test.prop([traceArb({ minLength: 2_000, maxLength: 4_000 }, 'rare'), fc.boolean()], { numRuns: 8 })(
    'should read a trace of several 64 KiB chunks exactly as csv-parse does',
    async (trace, skipBadRows) => {
      await expectSameOutcome(trace, skipBadRows, {});
    },
  );
});
