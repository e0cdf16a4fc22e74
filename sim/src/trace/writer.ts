/**
 * @module
 * Writing v1 trace files: {@link createTraceWriter}. One line is `formatTraceRow` from
 * `@shunt/core`, which the proxy's recorder uses too, so that what a user records is exactly what
 * the generator writes and the simulator reads.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { TRACE_PREAMBLE, formatTraceRow, type TraceRecord } from '@shunt/core/trace';

export { TRACE_PREAMBLE, formatTraceRow };

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
