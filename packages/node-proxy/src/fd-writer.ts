/**
 * @module
 * A batched, never-failing writer to a file descriptor (the log's stderr). Lines are gathered and
 * written in batches; a destination that has gone away (EPIPE: the terminal closed, the parent
 * process or service manager exited) turns the writer off instead of crashing the proxy or hanging
 * its exit. pino's own destination (sonic-boom 4) retries every failed write at exit forever, so a
 * proxy whose stderr reader had gone never exited.
 */
import { writeSync as fsWriteSync, write as fsWrite } from 'node:fs';

/** The two file-system calls the writer makes (node:fs by default; tests inject failing ones). */
export interface FdWriteOps {
  /** Write some of `buffer` to `fd`; the callback gets the bytes written. */
  write(fd: number, buffer: Buffer, callback: (error: NodeJS.ErrnoException | null, written: number) => void): void;
  /** Write some of `buffer` to `fd` now; returns the bytes written, throws on error. */
  writeSync(fd: number, buffer: Buffer): number;
}

/** Options for {@link batchedFdWriter}. */
export interface BatchedFdWriterOptions {
  /** The file descriptor, e.g. 2 for stderr. */
  readonly fd: number;
  /**
   * A batch goes out once this many bytes are waiting (or on `flush()`).
   * @default 4096
   */
  readonly minBytes?: number | undefined;
  /**
   * While the destination does not keep up, text beyond this many waiting bytes is dropped, so a
   * stalled reader cannot grow the proxy's memory.
   * @default 1 MiB
   */
  readonly maxPendingBytes?: number | undefined;
  /** @default node:fs */
  readonly ops?: FdWriteOps | undefined;
}

/** A batched writer; see {@link batchedFdWriter}. */
export interface BatchedFdWriter {
  /** Queue `text`; a full batch starts an asynchronous write. Never throws. */
  write(text: string): void;
  /** Start an asynchronous write of what is queued, unless one is under way. Never throws. */
  flush(): void;
  /**
   * Write what is queued before returning (at exit). Never throws, and gives up at once on a
   * broken destination and after a bounded number of tries on a busy one (EAGAIN).
   */
  flushSync(): void;
  /** True once a write failed for good: everything written since is dropped. */
  readonly broken: boolean;
}

/** Tries of a write that keeps answering EAGAIN, at exit, before the rest is dropped. */
const SYNC_EAGAIN_TRIES = 20;
/** The pause between those tries (20 × 5 ms: an exit waits at most 100 ms for a busy reader). */
const SYNC_EAGAIN_PAUSE_MS = 5;

/**
 * A writer that batches text to `fd`. A write that fails with anything but EAGAIN (EPIPE, EBADF, …)
 * turns it off for good; EAGAIN keeps the batch for the next flush.
 *
 * @example
 * ```ts
 * const out = batchedFdWriter({ fd: 2 });
 * out.write('{"msg":"hello"}\n');
 * process.on('exit', () => out.flushSync());
 * ```
 */
export function batchedFdWriter(options: BatchedFdWriterOptions): BatchedFdWriter {
  const { fd } = options;
  const minBytes = options.minBytes ?? 4096;
  const maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
  const ops = options.ops ?? { write: (f, b, cb) => fsWrite(f, b, 0, b.length, null, cb), writeSync: (f, b) => fsWriteSync(f, b) };
  // Queued text, encoded as it arrives: the caller's string (a rope of the pieces it was built
  // from) can die young instead of waiting in the queue, through young-generation collections,
  // until its batch is written. `filled` are full blocks, `block` the one being filled; `carry` is
  // the unwritten rest of a batch that EAGAIN or a short write left over.
  let filled: Buffer[] = [];
  let block: Buffer | null = null;
  let used = 0;
  let pendingBytes = 0;
  let carry: Buffer | null = null;
  let writing = false;
  let broken = false;
  const blockBytes = Math.max(minBytes, 1024);

  const enqueue = (text: string): void => {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: with that much room the text fits whole.
    const most = text.length * 3;
    if (block === null || block.length - used < most) {
      if (block !== null && used > 0) filled.push(block.subarray(0, used));
      block = Buffer.allocUnsafe(Math.max(blockBytes, most));
      used = 0;
    }
    const written = block.write(text, used);
    used += written;
    pendingBytes += written;
  };
  const takeBatch = (): Buffer => {
    const parts = carry === null ? filled : [carry, ...filled];
    if (block !== null && used > 0) parts.push(block.subarray(0, used));
    const batch = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    // The block's memory now belongs to the batch being written: the next text starts a new one.
    filled = [];
    block = null;
    used = 0;
    pendingBytes = 0;
    carry = null;
    return batch;
  };
  const fail = (): void => {
    broken = true;
    filled = [];
    block = null;
    used = 0;
    pendingBytes = 0;
    carry = null;
  };
  const send = (batch: Buffer): void => {
    writing = true;
    ops.write(fd, batch, (error, written) => {
      if (error !== null) {
        writing = false;
        // A full pipe on a non-blocking descriptor: keep the batch for the next flush.
        if (error.code === 'EAGAIN') carry = batch;
        else fail();
        return;
      }
      if (written < batch.length) {
        send(batch.subarray(written));
        return;
      }
      writing = false;
      if (pendingBytes >= minBytes) flush();
    });
  };
  const flush = (): void => {
    if (writing || broken || (pendingBytes === 0 && carry === null)) return;
    send(takeBatch());
  };

  return {
    write(text) {
      if (broken || text.length === 0) return;
      if (pendingBytes + text.length * 3 > maxPendingBytes && pendingBytes + Buffer.byteLength(text) > maxPendingBytes) return;
      enqueue(text);
      if (pendingBytes >= minBytes) flush();
    },
    flush,
    flushSync() {
      if (broken || (pendingBytes === 0 && carry === null)) return;
      let batch = takeBatch();
      let eagain = 0;
      while (batch.length > 0) {
        try {
          batch = batch.subarray(ops.writeSync(fd, batch));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || ++eagain > SYNC_EAGAIN_TRIES) {
            fail();
            return;
          }
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SYNC_EAGAIN_PAUSE_MS);
        }
      }
    },
    get broken() {
      return broken;
    },
  };
}
