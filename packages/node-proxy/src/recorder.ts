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
import { asBuffer, bytesAt, includesBytes, indexOfByte, lastIndexFinder, skipWhitespaceBack } from './bytes.js';
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
    // The usual event is read in place ({@link eventUsageFromBytes}); one it does not fully understand is parsed.
    if (eventUsageFromBytes(buf, start + 5, end, tokens)) return;
    try {
      const text = buf.toString('utf8', start + 5, end);
      const event = JSON.parse(text) as { type?: unknown; message?: { usage?: unknown }; usage?: unknown };
      const type = eventType(text, event);
      const usage = type === 'message_start' ? event.message?.usage : type === 'message_delta' ? event.usage : undefined;
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
      else chunks.push(asBuffer(chunk));
    },
    end() {},
    tokens() {
      if (tokens !== null) return tokens;
      tokens = {};
      if (chunks !== null && chunks.length > 0) {
        try {
          const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
          readJsonUsage(body, tokens);
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
const lastUsageKey = lastIndexFinder(USAGE_KEY);

/**
 * The tokens of a JSON answer's top-level `usage`. The API writes it as the body's last member, so
 * only that member is read, straight from the bytes ({@link usageFromBytes}); a `"usage"` that is
 * not a key opening the last member (a nested key, a string) or bytes the byte reader does not
 * fully understand send it to `JSON.parse`, of the member (`{` + `"usage": {…}` + `}`) and failing
 * that of the whole body. The byte reader spares a string of the tail and its object tree per request.
 */
function readJsonUsage(body: Buffer, into: UsageTokens): void {
  const at = lastUsageKey(body);
  if (at !== -1) {
    const close = skipWhitespaceBack(body, body.length - 1);
    // A member's key follows `{` or `,`; a `"usage"` after anything else is not a key (or not the
    // top level's), whatever its tail looks like.
    const before = skipWhitespaceBack(body, at - 1);
    if (close > at && body[close] === CLOSE_BRACE && before !== -1 && (body[before] === OPEN_BRACE || body[before] === COMMA)) {
      if (usageFromBytes(body, at + USAGE_KEY.length, close, into)) return;
      try {
        readUsage((JSON.parse(`{${body.toString('utf8', at, close)}}`) as { usage?: unknown }).usage, into);
        return;
      } catch {
        // Not the last top-level member after all.
      }
    }
  }
  readUsage((JSON.parse(body.toString('utf8')) as { usage?: unknown }).usage, into);
}

/**
 * An event's type: its first member's, when that is `type` written plainly, as the API writes
 * every event (and as the scanner reads it in place); otherwise the `type` JSON.parse keeps. The
 * API never repeats a key, so the two differ only for an event no API sends.
 */
function eventType(text: string, event: { type?: unknown }): unknown {
  return FIRST_TYPE.exec(text)?.[1] ?? event.type;
}

const FIRST_TYPE = /^\s*\{\s*"type"\s*:\s*"([^"\\]*)"/;
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

// The byte reader of a `usage` member's value: a JSON object read in place, its six counts picked
// out as `readUsage` would pick them from `JSON.parse`'s object (the last of duplicate keys wins,
// a count is a safe non-negative integer). It answers false for anything it does not fully
// understand (an escape in a key, nesting past MAX_DEPTH, bytes that are not JSON), and the caller
// then parses. Module state, not objects, carries its results: it is synchronous and allocates
// nothing on the usual answer.

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MAX_DEPTH = 32;
const UNKNOWN = -1;

// Slots of `counts`, in `UsageTokens` order; `usage`'s keys fill the first four, `cache_creation`'s the last two.
const INPUT = 0;
const OUTPUT = 1;
const CACHE_READ = 2;
const CACHE_CREATION = 3;
const CACHE_5M = 4;
const CACHE_1H = 5;
const counts = new Float64Array(6);
/** What {@link keySlot} answers for `cache_creation`, and for a key that is not read. */
const SPLIT_KEY = -2;
const OTHER_KEY = -1;
/** What {@link keySlot} answers for `usage` in a `message_start` event's message. */
const USAGE_SLOT = -3;
/** Levels: the `usage` object, its `cache_creation` object, and any other object. */
const USAGE_LEVEL = 0;
const SPLIT_LEVEL = 1;
const OTHER_LEVEL = 2;
/** A `message_start` event's message, whose `usage` is read. */
const MESSAGE_LEVEL = 3;

// The keys read, each with its closing quote: a key that matches one byte for byte ends there.
const INPUT_TOKENS = Buffer.from('input_tokens"');
const OUTPUT_TOKENS = Buffer.from('output_tokens"');
const CACHE_READ_TOKENS = Buffer.from('cache_read_input_tokens"');
const CACHE_CREATION_TOKENS = Buffer.from('cache_creation_input_tokens"');
const CACHE_CREATION_SPLIT = Buffer.from('cache_creation"');
const EPHEMERAL_5M_TOKENS = Buffer.from('ephemeral_5m_input_tokens"');
const EPHEMERAL_1H_TOKENS = Buffer.from('ephemeral_1h_input_tokens"');
const USAGE_KEY_NAME = Buffer.from('usage"');
// A stream event's members, with their quotes.
const TYPE_KEY = Buffer.from('"type"');
const MESSAGE_KEY = Buffer.from('"message"');
const USAGE_MEMBER_KEY = Buffer.from('"usage"');
const MESSAGE_START_VALUE = Buffer.from('"message_start"');
const MESSAGE_DELTA_VALUE = Buffer.from('"message_delta"');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** Read `: {…}` from `from` (just after the `"usage"` key) into `into`; false when it must be parsed instead. */
function usageFromBytes(body: Buffer, from: number, close: number, into: UsageTokens): boolean {
  resetCounts(0);
  let p = valueAfterColon(body, from, close);
  if (p === -1 || body[p] !== OPEN_BRACE) return false;
  p = objectEnd(body, p, close, USAGE_LEVEL, 0);
  // The object must be all that is left before the body's closing brace.
  if (p === -1 || skipWhitespace(body, p, close) !== close) return false;
  storeCounts(into);
  return true;
}

/**
 * The usage of a stream event whose data JSON is `body[from, end)`, as `readUsage` would take it
 * from `JSON.parse`'s object: a `message_start`'s `message.usage`, a `message_delta`'s `usage`
 * (the last of duplicate keys wins, as there). Read in place, as the API writes events: `type`
 * first, and that first `type` is the event's (see {@link eventType}). False for anything else
 * it does not fully understand (another first key, an escape in a key or in the type, bytes that
 * are not JSON): the caller then parses. Spares the profile's largest piece of a stream's own
 * work, a parse of `message_start`'s whole message per stream.
 */
function eventUsageFromBytes(body: Buffer, from: number, end: number, into: UsageTokens): boolean {
  const close = skipWhitespaceBack(body, end - 1);
  let p = skipWhitespace(body, from, close);
  if (p >= close || body[p] !== OPEN_BRACE || body[close] !== CLOSE_BRACE) return false;
  p = skipWhitespace(body, p + 1, close);
  if (!bytesAt(body, p, TYPE_KEY)) return false;
  p = valueAfterColon(body, p + TYPE_KEY.length, close);
  if (p === -1) return false;
  const start = bytesAt(body, p, MESSAGE_START_VALUE);
  if (!start && !bytesAt(body, p, MESSAGE_DELTA_VALUE)) {
    // Another type, written plainly: no usage to read. One written with an escape is parsed.
    return body[p] === QUOTE && keyClose(body, p + 1, close) !== -1;
  }
  // Where the usage sits: in `message` (message_start) or at the top (message_delta).
  const holder = start ? MESSAGE_KEY : USAGE_MEMBER_KEY;
  resetCounts(0);
  p = skipWhitespace(body, p + (start ? MESSAGE_START_VALUE : MESSAGE_DELTA_VALUE).length, close);
  for (;;) {
    if (p === close) break;
    if (body[p] !== COMMA) return false;
    p = skipWhitespace(body, p + 1, close);
    if (body[p] !== QUOTE) return false;
    const wanted = bytesAt(body, p, holder);
    const keyEnd = wanted ? p + holder.length - 1 : keyClose(body, p + 1, close);
    if (keyEnd === -1) return false; // an escape: the key could spell any name
    p = valueAfterColon(body, keyEnd + 1, close);
    if (p === -1) return false;
    if (!wanted) p = valueEnd(body, p, close, 1);
    else if (!start) p = usageValueEnd(body, p, close, 1);
    // A later `message` replaces an earlier one whole, usage and all.
    else p = body[p] === OPEN_BRACE ? objectEnd(body, p, resetCounts(close), MESSAGE_LEVEL, 1) : resetCounts(valueEnd(body, p, close, 1));
    if (p === -1) return false;
    p = skipWhitespace(body, p, close);
  }
  storeCounts(into);
  return true;
}

/** The index after a `usage` member's value, its counts stored (none for a value that is not an object); -1 when not understood. */
function usageValueEnd(body: Buffer, p: number, close: number, depth: number): number {
  resetCounts(0);
  return body[p] === OPEN_BRACE ? objectEnd(body, p, close, USAGE_LEVEL, depth) : valueEnd(body, p, close, depth);
}

/** Forget every count read so far (a later member replaces an earlier one whole); returns `passThrough`. */
function resetCounts(passThrough: number): number {
  for (let i = 0; i < counts.length; i++) counts[i] = UNKNOWN;
  return passThrough;
}

/** Copy the counts read into `into`, as `readUsage` copies the ones it finds. */
function storeCounts(into: UsageTokens): void {
  if (counts[INPUT] !== UNKNOWN) into.inputTokens = counts[INPUT] as number;
  if (counts[OUTPUT] !== UNKNOWN) into.outputTokens = counts[OUTPUT] as number;
  if (counts[CACHE_READ] !== UNKNOWN) into.cacheReadTokens = counts[CACHE_READ] as number;
  if (counts[CACHE_CREATION] !== UNKNOWN) into.cacheCreationTokens = counts[CACHE_CREATION] as number;
  if (counts[CACHE_5M] !== UNKNOWN) into.cacheCreation5mTokens = counts[CACHE_5M] as number;
  if (counts[CACHE_1H] !== UNKNOWN) into.cacheCreation1hTokens = counts[CACHE_1H] as number;
}

/** The index after the object opening at `open`, its counts (at `level`) stored as they come; -1 when not understood. */
function objectEnd(body: Buffer, open: number, close: number, level: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  let p = skipWhitespace(body, open + 1, close);
  if (body[p] === CLOSE_BRACE) return p + 1;
  for (;;) {
    if (body[p] !== QUOTE) return -1;
    const slot = level === OTHER_LEVEL ? OTHER_KEY : keySlot(body, p + 1, level);
    // A key with an escape could name a count (`input\u005ftokens`): only where no count is read
    // (OTHER_LEVEL) is it passed over.
    const keyEnd = slot !== OTHER_KEY ? p + keyEndAt : level === OTHER_LEVEL ? stringClose(body, p + 1, close) : keyClose(body, p + 1, close);
    if (keyEnd === -1) return -1;
    p = valueAfterColon(body, keyEnd + 1, close);
    if (p === -1) return -1;
    if (slot === USAGE_SLOT) {
      p = usageValueEnd(body, p, close, depth + 1);
    } else if (slot === SPLIT_KEY) {
      // A later `cache_creation` replaces an earlier one whole, as in JSON.parse's object.
      counts[CACHE_5M] = UNKNOWN;
      counts[CACHE_1H] = UNKNOWN;
      p = body[p] === OPEN_BRACE ? objectEnd(body, p, close, SPLIT_LEVEL, depth + 1) : valueEnd(body, p, close, depth + 1);
    } else if (slot >= 0) {
      // A string, null or object there is no count: the slot stays unknown.
      counts[slot] = UNKNOWN;
      p = isNumberStart(body[p]) ? numberEnd(body, p, close, slot) : valueEnd(body, p, close, depth + 1);
    } else {
      p = valueEnd(body, p, close, depth + 1);
    }
    if (p === -1) return -1;
    p = skipWhitespace(body, p, close);
    if (body[p] === CLOSE_BRACE) return p + 1;
    if (body[p] !== COMMA) return -1;
    p = skipWhitespace(body, p + 1, close);
  }
}

/** The index after the value starting at `p`; -1 when not understood. */
function valueEnd(body: Buffer, p: number, close: number, depth: number): number {
  const c = body[p];
  if (c === QUOTE) {
    const end = stringClose(body, p + 1, close);
    return end === -1 ? -1 : end + 1;
  }
  if (c === OPEN_BRACE) return objectEnd(body, p, close, OTHER_LEVEL, depth);
  if (c === OPEN_BRACKET) return arrayEnd(body, p, close, depth);
  if (isNumberStart(c)) return numberEnd(body, p, close, -1);
  if (c === 0x74) return bytesAt(body, p, TRUE) ? p + TRUE.length : -1; // t
  if (c === 0x66) return bytesAt(body, p, FALSE) ? p + FALSE.length : -1; // f
  if (c === 0x6e) return bytesAt(body, p, NULL) ? p + NULL.length : -1; // n
  return -1;
}

/** The index after the array opening at `open`; -1 when not understood. */
function arrayEnd(body: Buffer, open: number, close: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  let p = skipWhitespace(body, open + 1, close);
  if (body[p] === CLOSE_BRACKET) return p + 1;
  for (;;) {
    p = valueEnd(body, p, close, depth + 1);
    if (p === -1) return -1;
    p = skipWhitespace(body, p, close);
    if (body[p] === CLOSE_BRACKET) return p + 1;
    if (body[p] !== COMMA) return -1;
    p = skipWhitespace(body, p + 1, close);
  }
}

/**
 * The index after the JSON number at `start`, storing it in `counts[slot]` (when `slot` is one)
 * if it is a count; -1 when it is not a JSON number. A plain integer, the usual count, is summed
 * from its digits (exact up to 2^53; past that the sum, like JSON.parse's value, is no safe
 * integer); any other form (a sign, a fraction, an exponent) is converted by `Number` as
 * `JSON.parse` would, so `1e3` and `1.0` count there too, and `-0` is kept as `-0`.
 */
function numberEnd(body: Buffer, start: number, close: number, slot: number): number {
  let p = start;
  let plain = true;
  if (body[p] === 0x2d) { // -
    plain = false;
    p++;
  }
  let value = 0;
  if (body[p] === 0x30) { // 0: no digit may follow
    p++;
  } else {
    const first = p;
    while (p < close && isDigit(body[p])) value = value * 10 + ((body[p++] as number) - 0x30);
    if (p === first) return -1;
  }
  if (body[p] === 0x2e) { // .
    plain = false;
    const first = ++p;
    while (p < close && isDigit(body[p])) p++;
    if (p === first) return -1;
  }
  if (body[p] === 0x65 || body[p] === 0x45) { // e, E
    plain = false;
    p++;
    if (body[p] === 0x2b || body[p] === 0x2d) p++; // +, -
    const first = p;
    while (p < close && isDigit(body[p])) p++;
    if (p === first) return -1;
  }
  if (slot >= 0) {
    if (!plain) value = Number(body.toString('latin1', start, p));
    counts[slot] = count(value) ?? UNKNOWN;
  }
  return p;
}

/** Where the key matched by the last {@link keySlot} closes, from its opening quote. */
let keyEndAt = 0;

/**
 * The slot the key starting at `start` fills at `level` (its first bytes tell which it can be, and
 * that one is compared whole, closing quote included), or OTHER_KEY.
 */
function keySlot(body: Buffer, start: number, level: number): number {
  const first = body[start];
  if (level === MESSAGE_LEVEL) return matched(body, start, USAGE_KEY_NAME, USAGE_SLOT);
  if (level === SPLIT_LEVEL) {
    if (first !== 0x65) return OTHER_KEY; // e: ephemeral_5m… or ephemeral_1h…
    return body[start + 10] === 0x35 ? matched(body, start, EPHEMERAL_5M_TOKENS, CACHE_5M) : matched(body, start, EPHEMERAL_1H_TOKENS, CACHE_1H);
  }
  if (first === 0x69) return matched(body, start, INPUT_TOKENS, INPUT); // i
  if (first === 0x6f) return matched(body, start, OUTPUT_TOKENS, OUTPUT); // o
  if (first !== 0x63) return OTHER_KEY; // c: cache_read…, cache_creation" or cache_creation_…
  if (body[start + 6] === 0x72) return matched(body, start, CACHE_READ_TOKENS, CACHE_READ);
  return body[start + 14] === QUOTE ? matched(body, start, CACHE_CREATION_SPLIT, SPLIT_KEY) : matched(body, start, CACHE_CREATION_TOKENS, CACHE_CREATION);
}

/** `slot` when `key` is at `start`, noting where it closes; OTHER_KEY otherwise. */
function matched(body: Buffer, start: number, key: Buffer, slot: number): number {
  if (start + key.length > body.length) return OTHER_KEY;
  for (let j = 0; j < key.length; j++) if (body[start + j] !== key[j]) return OTHER_KEY;
  keyEndAt = key.length;
  return slot;
}

/** The index of the quote closing a key that starts at `p`; -1 for a key with an escape (its name is then not its bytes). */
function keyClose(body: Buffer, p: number, close: number): number {
  for (let i = p; i < close; i++) {
    const c = body[i] as number;
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/** The index of the quote closing a string that starts at `p`; -1 when it is not a JSON string. */
function stringClose(body: Buffer, p: number, close: number): number {
  for (let i = p; i < close; i++) {
    const c = body[i] as number;
    if (c === QUOTE) return i;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = body[++i];
      if (e === 0x75) { // u: four hex digits
        if (i + 4 >= close) return -1;
        for (let k = 1; k <= 4; k++) if (!isHex(body[i + k])) return -1;
        i += 4;
      } else if (!(e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
        return -1; // not one of " \ / b f n r t
      }
    }
  }
  return -1;
}

/** Where the value after a key starts: past whitespace, a colon and whitespace from `p`; -1 when no colon follows. */
function valueAfterColon(body: Buffer, p: number, close: number): number {
  const colon = skipWhitespace(body, p, close);
  return body[colon] === COLON ? skipWhitespace(body, colon + 1, close) : -1;
}

/** The index of the first byte at or after `p` (and before `close`) that is not JSON whitespace, or `close`. */
function skipWhitespace(body: Buffer, p: number, close: number): number {
  let i = p;
  while (i < close && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  return i;
}

function isNumberStart(c: number | undefined): boolean {
  return c === 0x2d || isDigit(c);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}
