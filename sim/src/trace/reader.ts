/**
 * @module
 * The streaming v1 reader: one pass over the file, every cell validated, every problem reported
 * as `file:line:column`.
 *
 * Two paths read the records, and they give the same rows and the same errors:
 * - The fast path splits plain lines (no double quote) straight from the bytes (fast-lines.ts) and
 *   reads the usual cell shapes without decoding them first (byte-cells.ts). Much of csv-parse's
 *   time goes into building a string for every field, which a trace mostly does not need.
 * - csv-parse reads the rest of the file from the first record that is not plain (one with a
 *   quoted field, a bare `\n` in a `\r\n` file, a last line without a line ending, a file with
 *   bare `\r` line endings), and its records are read as strings.
 *
 * A cell the fast path is unsure of is decoded and read the string way too. So csv-parse and
 * cells.ts stay the authority on what a valid trace is; the fast path only recognises what is
 * certainly valid, and how csv-parse would split and number it.
 *
 * Problems are met in file order on both paths: csv-parse parses ahead of the rows being read,
 * so a record it cannot split is held back until the rows before it are read. The first problem
 * stops the read or, under `skipBadRows`, the first few are kept as samples.
 *
 * Line numbers are resolved lazily. Asking csv-parse for per-record line info costs about two
 * thirds of its parse time, so the hot loop counts records instead, and only when a row must be
 * reported does a second, slow pass find the line a record index starts on.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse, type CsvError, type Options as CsvOptions, type Parser } from 'csv-parse';
import { textFromBytes } from './byte-cells.js';
import { COLUMN_FIELDS, TRACE_COLUMNS, TRACE_FORMAT_MARKER, TRACE_FORMAT_VERSION, type TraceColumn, type TraceRecord } from './columns.js';
import { TraceError } from './errors.js';
import { PlainLineSplitter, type Handoff, type PlainRecordSink, type RecordDelimiter } from './fast-lines.js';
import { RowReader, type CellPlan } from './row-reader.js';

/** A validated row, tagged with its position so later stages can report errors on it. */
export interface ReadRow extends TraceRecord {
  /** 0-based index of the data record (rows after the header); resolve to a line with the reader. */
  readonly recordIndex: number;
}

/** Options for {@link readTrace}. */
export interface ReadTraceOptions {
  /**
   * Skip rows that fail validation (and rows csv-parse cannot split) instead of stopping at the
   * first one; the result says how many were skipped.
   * @default false
   */
  readonly skipBadRows?: boolean | undefined;
  /** Called now and then with bytes read so far and the file size (for a progress bar). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
  /** Called once with the header, before the first row. Throwing a TraceError stops the read. */
  readonly onHeader?: ((header: TraceHeader) => void) | undefined;
  /**
   * Which path splits the records: `'fast'` reads plain lines itself and hands csv-parse the file
   * from the first record that is not plain; `'csv-parse'` hands csv-parse everything. Both give
   * the same result: the choice exists for tests and for measuring one against the other.
   * @internal
   * @default 'fast'
   */
  readonly parser?: 'fast' | 'csv-parse' | undefined;
  /**
   * Bytes per chunk read from the file (tests use tiny chunks to split lines and characters).
   * @internal
   * @default 65536 (createReadStream's; csv-parse is measurably slower on 1 MiB chunks)
   */
  readonly highWaterMark?: number | undefined;
}

/** What the header row said. */
export interface TraceHeader {
  /** The v1 columns present, in file order. */
  readonly columns: readonly TraceColumn[];
  /** Header cells that are not v1 columns (ignored). */
  readonly unknownColumns: readonly string[];
  /** Whether the file opened with the `# shunt-trace v1` marker. */
  readonly hasMarker: boolean;
}

/** A summary of one read. */
export interface TraceReadResult extends TraceHeader {
  /** File size in bytes (compressed size for `.gz`). */
  readonly bytes: number;
  /** Rows handed to `onRow`. */
  readonly rows: number;
  /** Rows skipped under `skipBadRows`. */
  readonly skippedRows: number;
  /** The first few skipped rows' errors, in file order, with lines resolved. */
  readonly skippedSamples: readonly TraceError[];
}

/** How many skipped rows are described individually. */
const SKIPPED_SAMPLES = 5;

/**
 * Stream a v1 trace file, validating each row and handing it to `onRow` in file order.
 *
 * Throws a {@link TraceError} (with file, line and column) for an unreadable or empty file, an
 * unknown format version, a missing `ts` column, or — unless `skipBadRows` — the first bad row.
 * `onRow` may throw a TraceError carrying a `recordIndex`; it is resolved to a line too.
 */
export async function readTrace(
  file: string,
  onRow: (row: ReadRow) => void,
  options: ReadTraceOptions = {},
): Promise<TraceReadResult> {
  const totalBytes = await traceSize(file);
  const prologue = createPrologue(file);
  const reading = new TraceReading(file, onRow, options, prologue);
  const splitter = new RecordSplitter(reading, options.parser ?? 'fast');
  const source: Readable =
    options.highWaterMark === undefined ? createReadStream(file) : createReadStream(file, { highWaterMark: options.highWaterMark });
  if (options.onProgress !== undefined) reportProgress(source, totalBytes, options.onProgress);

  try {
    if (file.endsWith('.gz')) await pipeline(source, createGunzip(), prologue.stream, splitter);
    else await pipeline(source, prologue.stream, splitter);
    reading.finish();
  } catch (error) {
    throw await toTraceError(file, reading.failure ?? error, prologue.lineOffset());
  }
  const header = reading.header;
  if (header === undefined) {
    throw new TraceError(file, { line: 1 }, 'empty trace: expected a header row naming the columns (at least "ts")');
  }
  const skippedSamples = await resolveLines(file, reading.skippedSamples());
  return { ...header, bytes: totalBytes, rows: reading.rows, skippedRows: reading.skippedRows, skippedSamples };
}

/** Turn `recordIndex`-tagged errors into errors with lines (one extra pass over the file). */
export async function resolveLines(file: string, errors: readonly TraceError[]): Promise<TraceError[]> {
  const pending = errors.filter((e) => e.line === undefined && e.recordIndex !== undefined);
  if (pending.length === 0) return [...errors];
  const wanted = new Set(pending.map((e) => e.recordIndex as number));
  const lines = await locateRecords(file, wanted);
  return errors.map((e) => {
    if (e.line !== undefined || e.recordIndex === undefined) return e;
    const line = lines.get(e.recordIndex);
    return line === undefined ? e : e.withLine(line);
  });
}

/**
 * The csv-parse options of a read (the benchmark's csv-parse baseline uses them too). The reader
 * itself always passes `true`: csv-parse reports a record it cannot split and goes on, and the
 * reader decides, in file order, whether that stops the read.
 */
export function csvOptions(skipBadRows: boolean): CsvOptions {
  return {
    skip_empty_lines: true,
    skip_records_with_error: skipBadRows,
  };
}

async function traceSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new TraceError(file, {}, 'not a file');
    return info.size;
  } catch (error) {
    if (error instanceof TraceError) throw error;
    throw new TraceError(file, {}, `cannot read the trace: ${describeFsError(error)}`);
  }
}

function reportProgress(source: Readable, totalBytes: number, onProgress: (bytesRead: number, totalBytes: number) => void): void {
  let lastProgress = 0;
  source.on('data', () => {
    const read = (source as unknown as { bytesRead: number }).bytesRead;
    if (read - lastProgress >= 1 << 20 || read === totalBytes) {
      lastProgress = read;
      onProgress(read, totalBytes);
    }
  });
}

/**
 * Where a problem sits among the records, to keep problems in file order whichever path met
 * them: record `n` (the header is record 0) is at `n`; a record csv-parse could not split, met
 * after `n` records, is at `n - 0.5`.
 */
type RecordPosition = number;

/** A problem found, with where it sits. */
interface Problem {
  readonly error: TraceError;
  readonly position: RecordPosition;
}

/** One read in progress: the header, the counts, the problems. Both paths hand it their records. */
class TraceReading implements PlainRecordSink {
  header: TraceHeader | undefined;
  /** The header's field count, which every record must have. */
  fieldCount = 0;
  rows = 0;
  skippedRows = 0;
  /** What stopped the read from inside a stream callback, for when the pipeline reports something vaguer. */
  failure: unknown;
  readonly file: string;
  private readonly onRow: (row: ReadRow) => void;
  private readonly options: ReadTraceOptions;
  private readonly skipBadRows: boolean;
  private readonly prologue: Prologue;
  private recordIndex = -1;
  private cells: RowReader | undefined;
  /** The first skipped rows, in file order. */
  private readonly samples: Problem[] = [];
  /** Without skipBadRows: a record csv-parse could not split, held until the records before it are read. */
  private heldBack: Problem | undefined;

  constructor(file: string, onRow: (row: ReadRow) => void, options: ReadTraceOptions, prologue: Prologue) {
    this.file = file;
    this.onRow = onRow;
    this.options = options;
    this.skipBadRows = options.skipBadRows ?? false;
    this.prologue = prologue;
  }

  /** Records taken so far, the header included: a problem met now sits at `taken - 0.5`. */
  get taken(): number {
    return this.header === undefined ? 0 : this.recordIndex + 2;
  }

  /** How many lines the prologue took (the marker line), to add to csv-parse's line numbers. */
  lineOffset(): number {
    return this.prologue.lineOffset();
  }

  /** A plain record from the fast path (see {@link PlainRecordSink.record}). */
  record(buf: Buffer, seps: Int32Array, fieldCount: number, ascii: boolean, line: number): void {
    if (this.header === undefined) {
      this.takeHeader(decodeFields(buf, seps, fieldCount, ascii));
      return;
    }
    if (fieldCount !== this.fieldCount) {
      this.problem(fieldCountError(this.file, line + this.lineOffset(), fieldCount), this.taken - 0.5);
      return;
    }
    this.recordIndex++;
    this.takeRow((this.cells as RowReader).fromBytes(buf, seps, ascii, this.recordIndex));
  }

  /** A record csv-parse split. */
  csvRecord(record: readonly string[]): void {
    if (this.heldBack !== undefined && this.heldBack.position < this.taken) throw this.heldBack.error;
    if (this.header === undefined) {
      this.takeHeader(record);
      return;
    }
    this.recordIndex++;
    this.takeRow((this.cells as RowReader).fromStrings(record, this.recordIndex));
  }

  /**
   * A record csv-parse could not split, after `recordsBefore` records. csv-parse parses ahead of
   * the records taken, so without skipBadRows the first one is held back until its turn comes.
   */
  csvProblem(error: TraceError, recordsBefore: number): void {
    const position = recordsBefore - 0.5;
    if (this.skipBadRows) this.problem(error, position);
    else this.heldBack ??= { error, position };
  }

  /** The end of the input: a problem still held back is the read's. */
  finish(): void {
    if (this.heldBack !== undefined) throw this.heldBack.error;
  }

  skippedSamples(): TraceError[] {
    return this.samples.map((sample) => sample.error);
  }

  private takeHeader(record: readonly string[]): void {
    const parsed = readHeader(this.file, record, this.lineOffset() + 1, this.prologue.hasMarker());
    this.header = parsed.header;
    this.fieldCount = record.length;
    this.cells = new RowReader(parsed.plan);
    this.options.onHeader?.(parsed.header);
  }

  private takeRow(row: ReadRow | string): void {
    if (typeof row === 'string') {
      const [column, reason] = splitCellError(row);
      this.problem(new TraceError(this.file, { recordIndex: this.recordIndex, column }, reason), this.taken - 1);
      return;
    }
    this.rows++;
    this.onRow(row);
  }

  /** A bad row: it stops the read, or under skipBadRows it is counted and perhaps kept as a sample. */
  private problem(error: TraceError, position: RecordPosition): void {
    if (!this.skipBadRows) throw error;
    this.skippedRows++;
    keepSample(this.samples, { error, position });
  }
}

/** Keep `problem` if it is among the first {@link SKIPPED_SAMPLES} in file order (problems may arrive out of order). */
function keepSample(samples: Problem[], problem: Problem): void {
  let at = samples.length;
  while (at > 0 && (samples[at - 1] as Problem).position > problem.position) at--;
  if (at >= SKIPPED_SAMPLES) return;
  samples.splice(at, 0, problem);
  if (samples.length > SKIPPED_SAMPLES) samples.pop();
}

/** The header's cells, decoded. */
function decodeFields(buf: Buffer, seps: Int32Array, fieldCount: number, ascii: boolean): string[] {
  const cells: string[] = [];
  for (let i = 0; i < fieldCount; i++) cells.push(textFromBytes(buf, (seps[i] as number) + 1, seps[i + 1] as number, ascii));
  return cells;
}

/**
 * The end of a read's pipeline: splits the bytes into records for the reading. It starts on the
 * fast path (or on csv-parse, when asked) and moves to csv-parse for good at the first record
 * that is not plain.
 */
class RecordSplitter extends Writable {
  private readonly reading: TraceReading;
  private readonly splitter: PlainLineSplitter;
  private csv: Parser | undefined;

  constructor(reading: TraceReading, path: 'fast' | 'csv-parse') {
    super();
    this.reading = reading;
    this.splitter = new PlainLineSplitter(reading);
    if (path === 'csv-parse') this.startCsvParse({ rest: Buffer.alloc(0), delimiter: undefined, line: 1 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.csv !== undefined) {
      this.csv.write(chunk, callback);
      return;
    }
    let handoff: Handoff | null;
    try {
      handoff = this.splitter.push(chunk);
    } catch (error) {
      this.reading.failure ??= error;
      callback(error as Error);
      return;
    }
    if (handoff === null) callback();
    else this.startCsvParse(handoff).write(handoff.rest, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.csv === undefined) {
      const handoff = this.splitter.end();
      if (handoff === null) {
        callback();
        return;
      }
      this.startCsvParse(handoff).write(handoff.rest);
    }
    const csv = this.csv as Parser;
    // 'end' comes once every record has been read; an error destroys this splitter instead.
    csv.once('end', () => callback());
    csv.end();
  }

  /**
   * Hand the rest of the file to csv-parse. Past the header, csv-parse starts mid-file: it gets a
   * stand-in header line first, for the field count it holds every record to (and whose record is
   * dropped), and the record delimiter of the file, which it could misjudge from mid-file.
   */
  private startCsvParse(handoff: Handoff): Parser {
    const reading = this.reading;
    const standIn = reading.header === undefined ? undefined : standInHeader(reading.fieldCount, handoff.delimiter ?? '\n');
    // csv-parse counts lines from 1 and records from 0 where it starts; the stand-in takes the
    // first of each.
    const standIns = standIn === undefined ? 0 : 1;
    const lineBase = handoff.line - 1 - standIns;
    const recordsBefore = reading.taken - standIns;
    const csv = parse({
      ...csvOptions(true),
      ...(handoff.delimiter === undefined ? {} : { record_delimiter: handoff.delimiter }),
      on_skip: (error: CsvError | undefined) => {
        if (error === undefined) return;
        const traceError = csvErrorToTraceError(reading.file, error, reading.lineOffset() + lineBase);
        reading.csvProblem(traceError, recordsBefore + csv.info.records);
      },
    });
    let dropStandIn = standIn !== undefined;
    csv.on('readable', () => {
      if (reading.failure !== undefined) return;
      try {
        let record: string[] | null;
        while ((record = csv.read() as string[] | null) !== null) {
          if (dropStandIn) dropStandIn = false;
          else reading.csvRecord(record);
        }
      } catch (error) {
        reading.failure = error;
        csv.destroy(error as Error);
      }
    });
    csv.on('error', (error) => this.destroy(error));
    if (standIn !== undefined) csv.write(standIn);
    this.csv = csv;
    return csv;
  }
}

/** A header line of `fieldCount` fields that csv-parse reads as one record and does not skip as empty. */
function standInHeader(fieldCount: number, delimiter: RecordDelimiter): Buffer {
  return Buffer.from(`${new Array<string>(fieldCount).fill('h').join(',')}${delimiter}`, 'latin1');
}

function readHeader(
  file: string,
  record: readonly string[],
  line: number,
  hasMarker: boolean,
): { header: TraceHeader; plan: CellPlan[] } {
  const known = new Set<string>(TRACE_COLUMNS);
  const seen = new Map<string, number>();
  const columns: TraceColumn[] = [];
  const unknownColumns: string[] = [];
  const plan: CellPlan[] = [];
  // A first row of data is said to be one, before any complaint about its cells as column names.
  if (!record.some((cell) => cell.trim().toLowerCase() === 'ts') && record.some((cell) => /^\d{4}-\d{2}-\d{2}T|^\d{11,}$/.test(cell))) {
    throw new TraceError(file, { line }, 'missing header row: the first row looks like data; add a header naming the columns (at least "ts")');
  }
  record.forEach((cell, index) => {
    const name = cell.trim().toLowerCase();
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw new TraceError(file, { line, column: index + 1 }, `duplicate column "${name}" (also column ${previous + 1})`);
    }
    seen.set(name, index);
    if (!known.has(name)) {
      unknownColumns.push(cell);
      return;
    }
    const column = name as TraceColumn;
    columns.push(column);
    const { field, kind } = COLUMN_FIELDS[column];
    plan.push({ index, column, field, kind, slot: TRACE_COLUMNS.indexOf(column) });
  });
  if (!seen.has('ts')) {
    throw new TraceError(file, { line }, `missing required column "ts" (header has: ${record.map((c) => JSON.stringify(c)).join(', ')})`);
  }
  return { header: { columns, unknownColumns, hasMarker }, plan };
}

function splitCellError(encoded: string): [number, string] {
  const tab = encoded.indexOf('\t');
  return [Number(encoded.slice(0, tab)), encoded.slice(tab + 1)];
}

/** What the prologue learned: how many lines it took, and whether one was the marker. */
interface Prologue {
  readonly stream: Transform;
  lineOffset(): number;
  hasMarker(): boolean;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Strips a UTF-8 BOM and the `# shunt-trace vN` marker line (checking N) before csv-parse sees
 * the bytes, so `#` stays an ordinary character everywhere else in the file.
 */
function createPrologue(file: string): Prologue {
  let decided = false;
  let marker = false;
  let head: Buffer = Buffer.alloc(0);
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (decided) return callback(null, chunk);
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      // The first chunk may end inside the BOM.
      if (head.length < UTF8_BOM.length && UTF8_BOM.subarray(0, head.length).equals(head)) return callback();
      let start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
      if (head.length - start < 1) return callback();
      const binary = binaryProblem(head.subarray(start, start + 1024));
      if (binary !== null) return callback(new TraceError(file, { line: 1 }, binary));
      if (head[start] !== 0x23 /* # */) {
        decided = true;
        return callback(null, head.subarray(start));
      }
      const newline = head.indexOf(0x0a, start);
      if (newline === -1) {
        if (head.length > 4096) return callback(markerError(file, head.subarray(start, start + 80).toString('utf8')));
        return callback();
      }
      const text = head.subarray(start, newline).toString('utf8').replace(/\r$/, '');
      const problem = checkMarker(text);
      if (problem !== null) return callback(new TraceError(file, { line: 1, column: 1 }, problem));
      decided = true;
      marker = true;
      start = newline + 1;
      callback(null, head.subarray(start));
    },
    flush(callback) {
      if (!decided && head.length > 0) {
        const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
        const text = head.subarray(start).toString('utf8').trim();
        if (text.startsWith('#')) {
          const problem = checkMarker(text);
          if (problem !== null) return callback(new TraceError(file, { line: 1, column: 1 }, problem));
          marker = true;
          return callback();
        }
        return callback(null, head.subarray(start));
      }
      callback();
    },
  });
  return { stream, lineOffset: () => (marker ? 1 : 0), hasMarker: () => marker };
}

/** Null when the marker line names v1, else why not. */
function checkMarker(text: string): string | null {
  const match = /^#\s*shunt-trace\s+v(\d+)\s*$/i.exec(text.trim());
  if (match === null) {
    return `unrecognised first line ${JSON.stringify(text.slice(0, 80))}: a trace starts with "${TRACE_FORMAT_MARKER}" or with the header row`;
  }
  const version = Number(match[1]);
  if (version !== TRACE_FORMAT_VERSION) {
    return `unsupported trace format version ${version} ("${text.trim()}"): this simulator reads ${TRACE_FORMAT_MARKER.slice(2)}; upgrade shunt to replay it`;
  }
  return null;
}

/** Why the first bytes are not CSV text (a compressed or binary file), or null: said in one line, not as escaped bytes. */
function binaryProblem(first: Buffer): string | null {
  if (first[0] === 0x1f && first[1] === 0x8b) return 'is gzip-compressed: name it *.gz (the simulator decompresses those) or gunzip it first';
  let control = 0;
  for (const byte of first) {
    if (byte === 0) return `is a binary file, not a CSV trace (it starts with bytes ${[...first.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) control++;
  }
  return control > first.length / 10 ? 'is a binary file, not a CSV trace (it holds control characters where text is expected)' : null;
}

function markerError(file: string, start: string): TraceError {
  return new TraceError(file, { line: 1, column: 1 }, `first line ${JSON.stringify(start)}… is not a trace marker`);
}

async function toTraceError(file: string, error: unknown, lineOffset: number): Promise<TraceError> {
  if (error instanceof TraceError) {
    if (error.line === undefined && error.recordIndex !== undefined) {
      const [resolved] = await resolveLines(file, [error]);
      return resolved ?? error;
    }
    return error;
  }
  if (isCsvError(error)) return csvErrorToTraceError(file, error, lineOffset);
  if (isGzipError(error)) return new TraceError(file, {}, `cannot decompress: ${(error as Error).message}`);
  if (error instanceof Error && 'code' in error) return new TraceError(file, {}, `cannot read the trace: ${describeFsError(error)}`);
  throw error;
}

function isCsvError(error: unknown): error is CsvError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('CSV_');
}

function isGzipError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function csvErrorToTraceError(file: string, error: CsvError, lineOffset: number): TraceError {
  const info = error as unknown as { lines?: number; column?: number | string; record?: unknown[]; code: string };
  const line = typeof info.lines === 'number' ? info.lines + lineOffset : undefined;
  let reason: string;
  switch (info.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
      return fieldCountError(file, line, Array.isArray(info.record) ? info.record.length : undefined);
    case 'CSV_QUOTE_NOT_CLOSED':
      reason = 'malformed row: a quoted field is never closed';
      break;
    // csv-parse's own wording names fields from 0 and says nothing of the fix.
    case 'INVALID_OPENING_QUOTE': // csv-parse 7 names this one without the CSV_ prefix
    case 'CSV_INVALID_OPENING_QUOTE':
      reason = 'malformed row: a quote inside an unquoted cell; quote the whole cell and double the quote ("a""b")';
      break;
    case 'CSV_INVALID_CLOSING_QUOTE':
      reason = 'malformed row: text after the closing quote of a cell; a quote inside a quoted cell is written twice ("a""b")';
      break;
    default:
      reason = `malformed row: ${error.message.replace(/ at line \d+.*$/, '').replace(/^Invalid /, 'invalid ')}`;
  }
  const column = typeof info.column === 'number' ? info.column + 1 : undefined;
  return new TraceError(file, { line, column }, reason);
}

/**
 * A record whose field count is not the header's, worded as for csv-parse's complaint. No column:
 * csv-parse's would be where the row ended, which only misleads.
 */
function fieldCountError(file: string, line: number | undefined, got: number | undefined): TraceError {
  return new TraceError(file, { line }, `malformed row: expected as many fields as the header${got === undefined ? '' : `, got ${got}`}`);
}

/**
 * One slow pass that maps data record indexes to the line each starts on. Records csv-parse
 * cannot split are skipped, as the read skipped them or stopped at them: a record after the
 * wanted ones, in the chunk csv-parse is parsing, must not fail the pass.
 */
async function locateRecords(file: string, wanted: ReadonlySet<number>): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  const max = Math.max(...wanted);
  const prologue = createPrologue(file);
  const parser = parse({ ...csvOptions(true), info: true, raw: true });
  let index = -2; // the header is record -1
  const source = createReadStream(file);
  await new Promise<void>((resolve) => {
    parser.on('readable', () => {
      let item: { info: { lines: number }; raw: string } | null;
      while ((item = parser.read() as typeof item) !== null) {
        index++;
        if (wanted.has(index)) {
          const newlines = item.raw.replace(/\r?\n$/, '').split('\n').length - 1;
          found.set(index, item.info.lines - newlines + prologue.lineOffset());
        }
        if (index >= max) {
          parser.destroy();
          resolve();
          return;
        }
      }
    });
    parser.on('end', resolve);
    parser.on('close', resolve);
    const piped = file.endsWith('.gz')
      ? pipeline(source, createGunzip(), prologue.stream, parser)
      : pipeline(source, prologue.stream, parser);
    piped.catch(() => resolve());
  });
  return found;
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}
