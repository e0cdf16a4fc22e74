/**
 * @module
 * Writing v1 traces: {@link formatTraceRow} for one line, {@link createTraceWriter} for a file.
 * The generator uses both, and the proxy's recorder can reuse them so that what a user records
 * is exactly what the simulator reads.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { COLUMN_FIELDS, TRACE_COLUMNS, TRACE_FORMAT_MARKER, type TraceRecord } from './columns.js';

/** The marker line and the header row, each ending in `\n`. */
export const TRACE_PREAMBLE: string = `${TRACE_FORMAT_MARKER}\n${TRACE_COLUMNS.join(',')}\n`;

/**
 * One record as a CSV line (with the trailing `\n`), columns in {@link TRACE_COLUMNS} order.
 * Missing fields are empty cells; `ts` is written as ISO-8601 with milliseconds in UTC; numbers
 * are written in their shortest exact form, so reading the line back gives the same record.
 *
 * @example
 * ```ts
 * formatTraceRow({ tsMs: Date.UTC(2026, 0, 5, 9), account: 'work', status: 200 });
 * // "2026-01-05T09:00:00.000Z,,,work,,200,,,,,,,,,,,\n"
 * ```
 */
export function formatTraceRow(record: TraceRecord): string {
  let line = formatTimestamp(record.tsMs);
  for (let i = 1; i < TRACE_COLUMNS.length; i++) {
    const value = record[COLUMN_FIELDS[TRACE_COLUMNS[i] as (typeof TRACE_COLUMNS)[number]].field];
    line += ',';
    if (value === undefined) continue;
    line += typeof value === 'number' ? formatNumber(value) : escapeCell(value);
  }
  return `${line}\n`;
}

/** Writes a trace file: the marker and header first, then one line per {@link TraceWriter.write}. */
export interface TraceWriter {
  /** Append one record; resolves when the stream can take more (backpressure). */
  write(record: TraceRecord): Promise<void> | void;
  /** Flush and close the file. */
  close(): Promise<void>;
  /** Rows written so far. */
  readonly rows: number;
}

/**
 * Open `file` for writing a v1 trace (truncating it) and write the marker and header.
 *
 * @example
 * ```ts
 * const writer = createTraceWriter('week.csv');
 * await writer.write({ tsMs: Date.now(), account: 'work', status: 200, outputTokens: 812 });
 * await writer.close();
 * ```
 */
export function createTraceWriter(file: string | WriteStream): TraceWriter {
  const stream = typeof file === 'string' ? createWriteStream(file) : file;
  let failure: Error | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  stream.write(TRACE_PREAMBLE);
  let rows = 0;
  let buffered = '';
  const flush = (): boolean => {
    if (buffered === '') return true;
    const ok = stream.write(buffered);
    buffered = '';
    return ok;
  };
  return {
    get rows() {
      return rows;
    },
    write(record) {
      if (failure !== undefined) throw failure;
      buffered += formatTraceRow(record);
      rows++;
      // Batch small writes: one syscall-sized chunk instead of one per row.
      if (buffered.length < 64 * 1024) return;
      if (!flush()) return once(stream, 'drain').then(() => undefined);
      return;
    },
    async close() {
      flush();
      if (failure !== undefined) throw failure;
      await new Promise<void>((resolve, reject) => {
        stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
      if (failure !== undefined) throw failure;
    },
  };
}

function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

function formatNumber(value: number): string {
  // String() gives the shortest representation that reads back to the same double.
  return String(value);
}

function escapeCell(value: string): string {
  if (!/[",\r\n]/.test(value) && value.trim() === value) return value;
  return `"${value.replace(/"/g, '""')}"`;
}
