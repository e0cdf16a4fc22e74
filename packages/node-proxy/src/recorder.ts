/**
 * @module
 * Trace recording (`record_trace = "FILE"`, `shunt start --record FILE`): one row per upstream
 * response in the simulator's trace format v1 (docs/trace-format.md), written with `@shunt/core`'s
 * `formatTraceRow`, so `pnpm sim FILE` replays what the proxy saw. Rows are buffered and appended
 * off the request path; the file is rotated by size and a failing disk costs one warning, never a
 * request. Nothing of a request's content is recorded: the conversation is its fingerprint.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { TRACE_COLUMNS, TRACE_FORMAT_MARKER, TRACE_PREAMBLE, TRACE_WINDOW_STATUSES, formatTraceRow, type TraceRecord } from '@shunt/core/trace';
import { asBuffer, bytesAt, includesBytes, indexOfByte, skipWhitespaceBack } from './bytes.js';
import type { Logger } from './logger.js';

/** The file operations the recorder uses (tests swap in failing ones). */
export interface TraceRecorderFs {
  /** Append `data`, creating the file with `mode` when it does not exist. */
  appendFile(path: string, data: string, options: { readonly mode: number }): Promise<void>;
  /** Rename `from` to `to`, replacing `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Delete a file; no error when it does not exist. */
  rm(path: string, options: { readonly force: true }): Promise<void>;
  /** The file's size in bytes; rejects (ENOENT) when it does not exist. */
  stat(path: string): Promise<{ readonly size: number }>;
}

/** Options for {@link createTraceRecorder}. */
export interface TraceRecorderOptions {
  /** The trace file. Created (mode 0600) with the marker and header if missing; appended to otherwise. */
  readonly path: string;
  /**
   * Size at which the file is rotated: `path` becomes `path.1`, `path.1` becomes `path.2`, …
   * @default 67108864 (64 MiB)
   */
  readonly maxBytes?: number | undefined;
  /**
   * Files kept, the live one included; the oldest beyond this is deleted at rotation.
   * @default 4
   */
  readonly keep?: number | undefined;
  /** Where the one warning about a failing write goes. */
  readonly logger?: Logger | undefined;
  /**
   * How often buffered rows are appended, in milliseconds (and on close).
   * @default 1000
   */
  readonly flushIntervalMs?: number | undefined;
  /** File operations. @default node:fs/promises */
  readonly fs?: TraceRecorderFs | undefined;
}

/** An open trace file. */
export interface TraceRecorder {
  /** The file rows go to. */
  readonly path: string;
  /** Queue one row; it reaches the file at the next flush. Never throws, never waits. */
  record(record: TraceRecord): void;
  /** Append everything queued now. Resolves when it is written (or the write failed and was logged). */
  flush(): Promise<void>;
  /** Flush and stop the timer. Later rows are dropped. */
  close(): Promise<void>;
  /** Rows queued so far, rows dropped (failing disk or an over-full buffer), rotations done, and the write failure under way. */
  stats(): TraceRecorderStats;
}

/** What a recorder has done so far (for `/status`, `/metrics` and `shunt status`). */
export interface TraceRecorderStats {
  /** Rows accepted (queued or written). */
  readonly rows: number;
  /** Rows lost: a failing disk, a row that could not be formatted, or an over-full buffer. */
  readonly dropped: number;
  /** Rotations done. */
  readonly rotations: number;
  /** Why the last write failed, while writes keep failing; null once one succeeds. */
  readonly lastError: string | null;
  /** Since when writes have been failing, epoch ms; null while they succeed. */
  readonly failingSinceMs: number | null;
}

/** Thrown when the file exists but is not a v1 trace (the recorder never appends to someone else's file). */
export class TraceFileError extends Error {
  /** The file. */
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'TraceFileError';
    this.path = path;
  }
}

/** Default rotation size: 64 MiB, about 300,000 rows. */
export const DEFAULT_TRACE_MAX_BYTES: number = 64 * 1024 * 1024;
/** Default number of files kept (the live one and three rotated ones). */
export const DEFAULT_TRACE_KEEP = 4;

/** Rows queued beyond this many bytes (the disk is stalled) are dropped instead of held. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

const defaultFs: TraceRecorderFs = {
  appendFile: (path, data, options) => appendFile(path, data, { mode: options.mode, encoding: 'utf8' }),
  rename,
  rm,
  stat,
};

/**
 * Open (or create) a trace file for appending. Throws a {@link TraceFileError} at once when `path`
 * exists, is not empty and does not start with the v1 marker and header: point the recorder at a
 * new file, or move the old one away.
 *
 * @example
 * ```ts
 * const recorder = createTraceRecorder({ path: 'week.csv' });
 * recorder.record({ tsMs: Date.now(), requestId: 'r1', account: 'work', status: 200 });
 * await recorder.close();
 * ```
 */
export function createTraceRecorder(options: TraceRecorderOptions): TraceRecorder {
  const { path, logger } = options;
  const maxBytes = options.maxBytes ?? DEFAULT_TRACE_MAX_BYTES;
  const keep = Math.max(1, Math.floor(options.keep ?? DEFAULT_TRACE_KEEP));
  const fs = options.fs ?? defaultFs;
  // A file begun by an earlier version keeps its columns: rows appended to it leave out the
  // columns added since (a new file, or one after rotation, gets them all).
  let legacy = checkExisting(path);
  // A recording that cannot be written must stop the start, not a week later: the folder is made
  // now, and the folder (or the file) must be writable.
  if (options.fs === undefined) prepareFolder(path);

  let queue: string[] = [];
  let queuedBytes = 0;
  let rows = 0;
  let dropped = 0;
  let rotations = 0;
  let failing = false;
  let lastError: string | null = null;
  let failingSinceMs: number | null = null;
  let closed = false;
  // One write at a time, in order.
  let writing: Promise<void> = Promise.resolve();

  const drop = (count: number, error: unknown): void => {
    dropped += count;
    lastError = error instanceof Error ? error.message : String(error);
    if (failing) return;
    failing = true;
    failingSinceMs = Date.now();
    logger?.warn('trace recording failed; rows are dropped until a write succeeds (requests are still served)', {
      path,
      error: error instanceof Error ? error.message : String(error),
    });
  };

  const write = async (lines: string[]): Promise<void> => {
    let data = lines.join('');
    try {
      let size = await fs.stat(path).then(
        (s) => s.size,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return 0;
          throw error;
        },
      );
      if (size > TRACE_PREAMBLE.length && size + Buffer.byteLength(data) > maxBytes) {
        await rotate();
        size = 0;
      }
      if (size === 0) {
        legacy = false;
        data = TRACE_PREAMBLE + data;
      } else if (legacy) {
        data = lines.map(withoutAddedColumns).join('');
      }
      await fs.appendFile(path, data, { mode: 0o600 });
      if (failing) logger?.info('trace recording works again', { path, dropped });
      failing = false;
      lastError = null;
      failingSinceMs = null;
    } catch (error) {
      drop(lines.length, error);
    }
  };

  const rotate = async (): Promise<void> => {
    // path.(keep-1) is the oldest kept; it goes, and every other moves up one.
    if (keep === 1) {
      await fs.rm(path, { force: true });
    } else {
      await fs.rm(`${path}.${keep - 1}`, { force: true });
      for (let i = keep - 2; i >= 1; i--) {
        await fs.rename(`${path}.${i}`, `${path}.${i + 1}`).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
      await fs.rename(path, `${path}.1`);
    }
    rotations++;
  };

  const flush = (): Promise<void> => {
    if (queue.length > 0) {
      const lines = queue;
      queue = [];
      queuedBytes = 0;
      writing = writing.then(() => write(lines));
    }
    return writing;
  };

  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1000);
  timer.unref();

  return {
    path,
    record(record) {
      if (closed) return;
      let line: string;
      try {
        line = formatTraceRow(record);
      } catch (error) {
        drop(1, error);
        return;
      }
      if (queuedBytes + line.length > MAX_QUEUED_BYTES) {
        drop(1, new Error('the disk is not keeping up: more than 16 MiB of rows are waiting'));
        return;
      }
      queue.push(line);
      queuedBytes += line.length;
      rows++;
    },
    flush,
    async close() {
      if (closed) return writing;
      closed = true;
      clearInterval(timer);
      await flush();
    },
    stats: () => ({ rows, dropped, rotations, lastError, failingSinceMs }),
  };
}

/** Create the trace file's folder (0700) when missing, and check that the recording can be written there. */
function prepareFolder(path: string): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new TraceFileError(path, `cannot create the folder ${folder} for the recording (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let target = folder;
  try {
    if (statSync(path, { throwIfNoEntry: false }) !== undefined) target = path;
    accessSync(target, constants.W_OK);
  } catch (error) {
    throw new TraceFileError(path, `cannot write the recording: ${target} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The v1 header before `cache_creation_5m_tokens` and `cache_creation_1h_tokens` were added. */
const LEGACY_PREAMBLE = `${TRACE_FORMAT_MARKER}\n${TRACE_COLUMNS.slice(0, TRACE_COLUMNS.indexOf('cache_creation_5m_tokens')).join(',')}\n`;

/** A row without its last two cells (the columns a legacy file lacks; they never hold a comma). */
function withoutAddedColumns(line: string): string {
  return `${line.slice(0, line.lastIndexOf(',', line.lastIndexOf(',') - 1))}\n`;
}

/**
 * Refuse a non-empty file that is not a v1 trace with this recorder's columns, or with the
 * columns of the version before (returns true for that one: append rows without the new columns).
 */
function checkExisting(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new TraceFileError(path, `cannot open the trace file (${(error as Error).message})`);
  }
  try {
    const head = Buffer.alloc(TRACE_PREAMBLE.length);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read === 0) return false;
    const text = head.subarray(0, read).toString('utf8');
    if (text.startsWith(LEGACY_PREAMBLE)) return true;
    if (text !== TRACE_PREAMBLE) {
      const first = JSON.stringify((text.split('\n')[0] ?? '').slice(0, 60));
      throw new TraceFileError(
        path,
        `exists and is not a shunt trace v1 with this version's columns (its first line is ${first}); record to a new file or move this one away`,
      );
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The unified rate-limit headers of a response, as trace fields (values that do not parse are left out). */
export function traceRateLimitFields(headers: Readonly<Record<string, string | string[] | undefined>>): Partial<TraceRecord> {
  const out: {
    utilization5h?: number;
    reset5hSecs?: number;
    status5h?: string;
    utilization7d?: number;
    reset7dSecs?: number;
    status7d?: string;
  } = {};
  const u5 = decimal(headers['anthropic-ratelimit-unified-5h-utilization']);
  if (u5 !== undefined) out.utilization5h = u5;
  const r5 = epochSecs(headers['anthropic-ratelimit-unified-5h-reset']);
  if (r5 !== undefined) out.reset5hSecs = r5;
  const s5 = windowStatus(headers['anthropic-ratelimit-unified-5h-status']);
  if (s5 !== undefined) out.status5h = s5;
  const u7 = decimal(headers['anthropic-ratelimit-unified-7d-utilization']);
  if (u7 !== undefined) out.utilization7d = u7;
  const r7 = epochSecs(headers['anthropic-ratelimit-unified-7d-reset']);
  if (r7 !== undefined) out.reset7dSecs = r7;
  const s7 = windowStatus(headers['anthropic-ratelimit-unified-7d-status']);
  if (s7 !== undefined) out.status7d = s7;
  return out;
}

/**
 * The `model` of a request body, when it is named near the start (where every client puts it).
 * A cheap look at the first 4 KiB with a model-id alphabet; nothing else of the body is read.
 */
export function requestModel(body: Uint8Array): string | undefined {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, 4096)).toString('latin1');
  return MODEL_FIELD.exec(head)?.[1];
}

const MODEL_FIELD = /"model"\s*:\s*"([A-Za-z0-9._:@/-]{1,128})"/;

/** Token counts read from a response's `usage`, as trace fields. */
export interface UsageTokens {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  cacheCreation5mTokens?: number;
  cacheCreation1hTokens?: number;
}

/** Watches response bytes go by (unchanged) and reads the token usage out of them. */
export interface UsageScanner {
  /** Look at the next chunk. */
  push(chunk: Uint8Array): void;
  /** The body ended. */
  end(): void;
  /** What was found so far (empty when nothing was). */
  tokens(): UsageTokens;
}

/**
 * A scanner for a streamed answer: the `usage` of `message_start` (input and cache tokens) and of
 * each `message_delta` (output tokens, cumulative; input and cache tokens when the API repeats
 * them). Only those events' `data:` lines are decoded; every other line is skipped unread.
 */
export function sseUsageScanner(): UsageScanner {
  const tokens: UsageTokens = {};
  // The unfinished line's pieces (joined only when the line ends).
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let skipping = false;
  // One line: `buf` from `start` to `end` (its LF excluded), looked at in place (a subarray per
  // line showed in the profile).
  const line = (buf: Buffer, start: number, lineEnd: number): void => {
    const end = lineEnd > start && buf[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd;
    // `data:`
    if (end - start < 6 || buf[start] !== 0x64 || buf[start + 1] !== 0x61 || buf[start + 2] !== 0x74 || buf[start + 3] !== 0x61 || buf[start + 4] !== 0x3a) return;
    // The API writes every event's data as `{"type":"…"`: its type is read in place, and only a data
    // line in another form is searched.
    if (bytesAt(buf, start, DATA_TYPE)) {
      const at = start + DATA_TYPE.length;
      if (!(bytesAt(buf, at, MESSAGE_START_TYPE) || bytesAt(buf, at, MESSAGE_DELTA_TYPE))) return;
    } else {
      const data = buf.subarray(start, end);
      if (!(includesBytes(data, MESSAGE_START) || includesBytes(data, MESSAGE_DELTA))) return;
    }
    try {
      const event = JSON.parse(buf.toString('utf8', start + 5, end)) as { type?: unknown; message?: { usage?: unknown }; usage?: unknown };
      const usage = event.type === 'message_start' ? event.message?.usage : event.type === 'message_delta' ? event.usage : undefined;
      readUsage(usage, tokens);
    } catch {
      // Not JSON: not an event this scanner reads.
    }
  };
  const joined = (): void => {
    const whole = Buffer.concat(partial);
    line(whole, 0, whole.length);
  };
  return {
    push(chunk) {
      const buf = asBuffer(chunk);
      let start = 0;
      for (;;) {
        const nl = indexOfByte(buf, 0x0a, start);
        if (nl === -1) break;
        if (skipping) {
          skipping = false;
        } else if (partialBytes > 0) {
          partial.push(buf.subarray(start, nl));
          joined();
        } else if (nl - start >= 6 && buf[start] === 0x64) {
          // Only a `data:` line can be one (event names and blank lines are passed over).
          line(buf, start, nl);
        }
        if (partialBytes > 0) {
          partial = [];
          partialBytes = 0;
        }
        start = nl + 1;
      }
      if (start < buf.length && !skipping) {
        // A usage line is short; a long unfinished line is a content delta, skipped to its end.
        if (partialBytes + buf.length - start > MAX_USAGE_LINE) {
          partial = [];
          partialBytes = 0;
          skipping = true;
        } else {
          partial.push(buf.subarray(start));
          partialBytes += buf.length - start;
        }
      }
    },
    end() {
      if (partialBytes > 0 && !skipping) joined();
      partial = [];
      partialBytes = 0;
    },
    tokens: () => tokens,
  };
}

/**
 * A scanner for a JSON answer: keeps the body (up to 4 MiB; larger answers record no tokens) and
 * reads `usage` from it once it has ended, after the client has it.
 */
export function jsonUsageScanner(): UsageScanner {
  let chunks: Buffer[] | null = [];
  let size = 0;
  let tokens: UsageTokens | null = null;
  return {
    push(chunk) {
      if (chunks === null) return;
      size += chunk.length;
      if (size > MAX_JSON_BODY) chunks = null;
      else chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    },
    end() {},
    tokens() {
      if (tokens !== null) return tokens;
      tokens = {};
      if (chunks !== null && chunks.length > 0) {
        try {
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
          readUsage(usageOf(body), tokens);
        } catch {
          // Not JSON after all: no tokens.
        }
      }
      chunks = null;
      return tokens;
    },
  };
}

const USAGE_KEY = Buffer.from('"usage"');

/**
 * The top-level `usage` of a JSON answer. The API writes it as the body's last member, so only
 * that member is parsed (`{` + `"usage": {…}` + `}`): a `"usage"` found anywhere else (a nested
 * key, a string) does not make a valid object of that text, and then the whole body is parsed. It
 * spares a full `JSON.parse` of every answer (a string of the body and its object tree per request).
 */
function usageOf(body: Buffer): unknown {
  const at = body.lastIndexOf(USAGE_KEY);
  if (at !== -1) {
    const close = skipWhitespaceBack(body, body.length - 1);
    if (close > at && body[close] === 0x7d) {
      try {
        return (JSON.parse(`{${body.toString('utf8', at, close)}}`) as { usage?: unknown }).usage;
      } catch {
        // Not the last top-level member after all.
      }
    }
  }
  return (JSON.parse(body.toString('utf8')) as { usage?: unknown }).usage;
}

const MESSAGE_START = Buffer.from('"message_start"');
const MESSAGE_DELTA = Buffer.from('"message_delta"');
const DATA_TYPE = Buffer.from('data: {"type":"');
const MESSAGE_START_TYPE = Buffer.from('message_start"');
const MESSAGE_DELTA_TYPE = Buffer.from('message_delta"');
const MAX_USAGE_LINE = 64 * 1024;
const MAX_JSON_BODY = 4 * 1024 * 1024;

function readUsage(usage: unknown, into: UsageTokens): void {
  if (typeof usage !== 'object' || usage === null) return;
  const u = usage as Record<string, unknown>;
  const input = count(u['input_tokens']);
  if (input !== undefined) into.inputTokens = input;
  const output = count(u['output_tokens']);
  if (output !== undefined) into.outputTokens = output;
  const cacheRead = count(u['cache_read_input_tokens']);
  if (cacheRead !== undefined) into.cacheReadTokens = cacheRead;
  const cacheCreation = count(u['cache_creation_input_tokens']);
  if (cacheCreation !== undefined) into.cacheCreationTokens = cacheCreation;
  // The split by cache lifetime, when the API gives it: 1-hour writes cost more and live longer.
  const split = u['cache_creation'];
  if (typeof split !== 'object' || split === null) return;
  const fiveMinutes = count((split as Record<string, unknown>)['ephemeral_5m_input_tokens']);
  if (fiveMinutes !== undefined) into.cacheCreation5mTokens = fiveMinutes;
  const oneHour = count((split as Record<string, unknown>)['ephemeral_1h_input_tokens']);
  if (oneHour !== undefined) into.cacheCreation1hTokens = oneHour;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : v.trim();
}

function decimal(raw: string | string[] | undefined): number | undefined {
  const v = headerValue(raw);
  if (v === undefined || !/^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function epochSecs(raw: string | string[] | undefined): number | undefined {
  const v = headerValue(raw);
  if (v === undefined || !/^\d{1,11}$/.test(v)) return undefined;
  return Number(v);
}

function windowStatus(raw: string | string[] | undefined): string | undefined {
  const v = headerValue(raw);
  return v !== undefined && TRACE_WINDOW_STATUSES.includes(v) ? v : undefined;
}
