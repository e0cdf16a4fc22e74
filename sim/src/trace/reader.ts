/**
 * @module
 * The streaming v1 reader: one pass over the file with csv-parse, every cell validated, every
 * problem reported as `file:line:column`.
 *
 * Line numbers are resolved lazily. Asking csv-parse for per-record line info costs about two
 * thirds of its parse time, so the hot loop counts records instead, and only when a row must be
 * reported does a second, slow pass find the line a record index starts on.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse, type CsvError, type Options as CsvOptions } from 'csv-parse';
import { INVALID, describeInvalid, parseCell } from './cells.js';
import {
  COLUMN_FIELDS,
  TRACE_COLUMNS,
  TRACE_FORMAT_MARKER,
  TRACE_FORMAT_VERSION,
  type CellKind,
  type TraceColumn,
  type TraceRecord,
} from './columns.js';
import { TraceError } from './errors.js';

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
  /** The first few skipped rows' errors, with lines resolved. */
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
  const skipBadRows = options.skipBadRows ?? false;
  let totalBytes: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new TraceError(file, {}, 'not a file');
    totalBytes = info.size;
  } catch (error) {
    if (error instanceof TraceError) throw error;
    throw new TraceError(file, {}, `cannot read the trace: ${describeFsError(error)}`);
  }

  const prologue = createPrologue(file);
  let header: TraceHeader | undefined;
  let plan: CellPlan[] = [];
  let rows = 0;
  let recordIndex = -1;
  let skippedRows = 0;
  const skipped: TraceError[] = [];
  let failure: unknown;

  const skip = (error: TraceError): void => {
    skippedRows++;
    if (skipped.length < 2 * SKIPPED_SAMPLES) skipped.push(error);
  };

  const parser = parse({
    ...csvOptions(skipBadRows),
    on_skip: (error: CsvError | undefined) => {
      // csv-parse already knows the line of a record it cannot split.
      if (error !== undefined) skip(csvErrorToTraceError(file, error, prologue.lineOffset()));
    },
  });

  const consume = (): void => {
    let record: string[] | null;
    while ((record = parser.read() as string[] | null) !== null) {
      if (header === undefined) {
        const parsed = readHeader(file, record, prologue.lineOffset() + 1, prologue.hasMarker());
        header = parsed.header;
        plan = parsed.plan;
        options.onHeader?.(header);
        continue;
      }
      recordIndex++;
      const row = readRow(record, plan, recordIndex);
      if (typeof row === 'string') {
        const [column, reason] = splitCellError(row);
        const error = new TraceError(file, { recordIndex, column }, reason);
        if (!skipBadRows) throw error;
        skip(error);
        continue;
      }
      rows++;
      onRow(row);
    }
  };

  let lastProgress = 0;
  // The default 64 KiB chunks: csv-parse is measurably slower on 1 MiB ones.
  const source: Readable = createReadStream(file);
  if (options.onProgress !== undefined) {
    const onProgress = options.onProgress;
    source.on('data', () => {
      const read = (source as unknown as { bytesRead: number }).bytesRead;
      if (read - lastProgress >= 1 << 20 || read === totalBytes) {
        lastProgress = read;
        onProgress(read, totalBytes);
      }
    });
  }
  parser.on('readable', () => {
    if (failure !== undefined) return;
    try {
      consume();
    } catch (error) {
      failure = error;
      parser.destroy(error as Error);
    }
  });

  try {
    if (file.endsWith('.gz')) await pipeline(source, createGunzip(), prologue.stream, parser);
    else await pipeline(source, prologue.stream, parser);
  } catch (error) {
    throw await toTraceError(file, failure ?? error, prologue.lineOffset(), skipBadRows);
  }
  if (header === undefined) {
    throw new TraceError(file, { line: 1 }, 'empty trace: expected a header row naming the columns (at least "ts")');
  }

  // csv-parse reports rows it cannot split while parsing ahead, so samples arrive out of order.
  const resolved = (await resolveLines(file, skipped, skipBadRows))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
    .slice(0, SKIPPED_SAMPLES);
  return { ...header, bytes: totalBytes, rows, skippedRows, skippedSamples: resolved };
}

/** Turn `recordIndex`-tagged errors into errors with lines (one extra pass over the file). */
export async function resolveLines(
  file: string,
  errors: readonly TraceError[],
  skipBadRows: boolean,
): Promise<TraceError[]> {
  const pending = errors.filter((e) => e.line === undefined && e.recordIndex !== undefined);
  if (pending.length === 0) return [...errors];
  const wanted = new Set(pending.map((e) => e.recordIndex as number));
  const lines = await locateRecords(file, wanted, skipBadRows);
  return errors.map((e) => {
    if (e.line !== undefined || e.recordIndex === undefined) return e;
    const line = lines.get(e.recordIndex);
    return line === undefined ? e : e.withLine(line);
  });
}

interface CellPlan {
  readonly index: number;
  readonly column: TraceColumn;
  readonly field: keyof TraceRecord;
  readonly kind: CellKind;
}

/** The csv-parse options of a read (the benchmark's csv-parse baseline uses them too). */
export function csvOptions(skipBadRows: boolean): CsvOptions {
  return {
    skip_empty_lines: true,
    skip_records_with_error: skipBadRows,
  };
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
    plan.push({ index, column, field, kind });
  });
  if (!seen.has('ts')) {
    const looksLikeData = record.some((cell) => /^\d{4}-\d{2}-\d{2}T|^\d{11,}$/.test(cell));
    throw new TraceError(
      file,
      { line },
      looksLikeData
        ? 'missing header row: the first row looks like data; add a header naming the columns (at least "ts")'
        : `missing required column "ts" (header has: ${record.map((c) => JSON.stringify(c)).join(', ')})`,
    );
  }
  return { header: { columns, unknownColumns, hasMarker }, plan };
}

/** A validated row, or an error as `"<column>\t<reason>"` (a string is cheaper than an object on the hot path). */
function readRow(record: readonly string[], plan: readonly CellPlan[], recordIndex: number): ReadRow | string {
  // Every field is present (possibly undefined) so all rows share one hidden class.
  const row: { -readonly [K in keyof ReadRow]: ReadRow[K] } = {
    recordIndex,
    tsMs: 0,
    requestId: undefined,
    session: undefined,
    account: undefined,
    model: undefined,
    status: undefined,
    inputTokens: undefined,
    outputTokens: undefined,
    cacheReadTokens: undefined,
    cacheCreationTokens: undefined,
    durationMs: undefined,
    utilization5h: undefined,
    reset5hSecs: undefined,
    status5h: undefined,
    utilization7d: undefined,
    reset7dSecs: undefined,
    status7d: undefined,
  };
  let hasTs = false;
  for (let i = 0; i < plan.length; i++) {
    const cell = plan[i] as CellPlan;
    const raw = record[cell.index] as string;
    if (raw === '') continue;
    const value = parseCell(cell.kind, raw);
    if (value === INVALID) return `${cell.index + 1}\tcolumn "${cell.column}": ${describeInvalid(cell.kind, raw)}`;
    (row as Record<string, unknown>)[cell.field] = value;
    if (cell.kind === 'timestamp') hasTs = true;
  }
  if (!hasTs) {
    const tsCell = plan.find((c) => c.column === 'ts') as CellPlan;
    return `${tsCell.index + 1}\tcolumn "ts" is empty: every row needs the time its request started`;
  }
  return row;
}

function splitCellError(encoded: string): [number, string] {
  const tab = encoded.indexOf('\t');
  return [Number(encoded.slice(0, tab)), encoded.slice(tab + 1)];
}

/**
 * Strips a UTF-8 BOM and the `# shunt-trace vN` marker line (checking N) before csv-parse sees
 * the bytes, so `#` stays an ordinary character everywhere else in the file.
 */
function createPrologue(file: string): { stream: Transform; lineOffset: () => number; hasMarker: () => boolean } {
  let decided = false;
  let marker = false;
  let head: Buffer = Buffer.alloc(0);
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (decided) return callback(null, chunk);
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      let start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
      if (head.length - start < 1) return callback();
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

function markerError(file: string, start: string): TraceError {
  return new TraceError(file, { line: 1, column: 1 }, `first line ${JSON.stringify(start)}… is not a trace marker`);
}

async function toTraceError(file: string, error: unknown, lineOffset: number, skipBadRows: boolean): Promise<TraceError> {
  if (error instanceof TraceError) {
    if (error.line === undefined && error.recordIndex !== undefined) {
      const [resolved] = await resolveLines(file, [error], skipBadRows);
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
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const got = Array.isArray(info.record) ? info.record.length : undefined;
      reason = `malformed row: expected as many fields as the header${got === undefined ? '' : `, got ${got}`}`;
      break;
    }
    case 'CSV_QUOTE_NOT_CLOSED':
      reason = 'malformed row: a quoted field is never closed';
      break;
    default:
      reason = `malformed row: ${error.message.replace(/ at line \d+.*$/, '').replace(/^Invalid /, 'invalid ')}`;
  }
  // For a wrong field count the parser's column is where the row ended, which only misleads.
  const column = typeof info.column === 'number' && info.code !== 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' ? info.column + 1 : undefined;
  return new TraceError(file, { line, column }, reason);
}

/** One slow pass that maps data record indexes to the line each starts on. */
async function locateRecords(file: string, wanted: ReadonlySet<number>, skipBadRows: boolean): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  const max = Math.max(...wanted);
  const prologue = createPrologue(file);
  const parser = parse({ ...csvOptions(skipBadRows), info: true, raw: true });
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
