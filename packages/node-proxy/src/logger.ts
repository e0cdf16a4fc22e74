/**
 * @module
 * The proxy's log: one JSON object per line, to stderr by default. What is logged is decided
 * by the proxy's call sites, which never pass request bodies, prompts or credentials; credential
 * field names are redacted as well, in case one ever does.
 */
import { batchedFdWriter, type BatchedFdWriter } from './fd-writer.js';

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields of one log record. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where the proxy writes its log. Inject your own to route records elsewhere. */
export interface Logger {
  /** Routing detail: every candidate's score, every attempt. */
  debug(message: string, fields?: LogFields): void;
  /** One line per request, listener start and stop. */
  info(message: string, fields?: LogFields): void;
  /** Something worth a look: a failover, an in-stream error, an ignored config key. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed. */
  error(message: string, fields?: LogFields): void;
  /**
   * False when records of `level` are dropped, so a call site can skip building their fields.
   * Absent: every record is built and passed on.
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

/** Options for {@link jsonLogger}. */
export interface JsonLoggerOptions {
  /**
   * Where each line goes (the line ends with its newline).
   * @default stderr, in batches (64 KiB or 250 ms) and flushed at exit
   */
  readonly write?: ((line: string) => void) | undefined;
  /**
   * Records below this level are dropped.
   * @default "info"
   */
  readonly level?: LogLevel | undefined;
  /**
   * The clock for the `time` field, in epoch milliseconds.
   * @default Date.now
   */
  readonly now?: (() => number) | undefined;
}

/** Ranks of {@link LogLevel}, for filtering. */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = Object.freeze({ debug: 10, info: 20, warn: 30, error: 40 });

/**
 * Field names whose values are replaced by `[redacted]`, at the top level of a record or one object
 * down (inside `headers`, say), whatever a call site passes. The call sites never log credentials;
 * this is the second guard.
 */
export const REDACTED_FIELDS: readonly string[] = Object.freeze([
  'authorization',
  'x-api-key',
  'api_key',
  'apiKey',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'password',
  'cookie',
]);

/**
 * A logger writing JSON lines: `{"level":"info","time":"…",…fields,"msg":"…"}`. Each field is
 * serialised on its own (a value `JSON.stringify` cannot write, such as a cycle, is written as
 * `"[unserializable]"`; an `undefined` one is left out), so a bad field never costs the line.
 *
 * @example
 * ```ts
 * const logger = jsonLogger({ level: 'debug' });
 * logger.info('listening', { url: 'http://127.0.0.1:8082' });
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const threshold = LOG_LEVELS[options.level ?? 'info'];
  const destination = options.write === undefined ? stderrDestination() : { write: options.write };
  // Under load several lines share a millisecond: the ISO text is formatted once per millisecond.
  let timeMs = Number.NaN;
  let timeField = '';
  let timeSecond = Number.NaN;
  let timePrefix = '';
  const time = (): string => {
    const ms = now();
    if (ms !== timeMs) {
      timeMs = ms;
      // The date and time to the second are formatted once per second, the milliseconds appended.
      const second = Math.floor(ms / 1000);
      const milli = Math.floor(ms) - second * 1000;
      if (second !== timeSecond || !Number.isFinite(ms)) {
        const iso = new Date(ms).toISOString();
        timeSecond = second;
        timePrefix = `,"time":"${iso.slice(0, -4)}`;
      }
      timeField = `${timePrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z"`;
    }
    return timeField;
  };
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (LOG_LEVELS[level] < threshold) return;
      destination.write(logLine(level, time(), message, fields));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (level) => LOG_LEVELS[level] >= threshold,
  };
}

const REDACTED: ReadonlySet<string> = new Set(REDACTED_FIELDS);
const REDACTED_TEXT = '"[redacted]"';

// Field names repeat on every line: each is escaped once.
const keyTexts = new Map<string, string>();
function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (keyTexts.size < 1_000) keyTexts.set(key, text);
  }
  return text;
}

function logLine(level: LogLevel, timeField: string, message: string, fields: LogFields | undefined): string {
  let line = `{"level":"${level}"${timeField}`;
  // The usual record (the access log's) has nothing to redact: one JSON.stringify writes it whole,
  // about half the time and a third of the garbage of writing it field by field.
  const whole = fields === undefined ? null : plainFieldsText(fields);
  if (whole !== null) return `${line}${whole.length === 2 ? '' : `,${whole.slice(1, -1)}`},"msg":${JSON.stringify(message)}}\n`;
  if (fields !== undefined) {
    for (const key of Object.keys(fields)) {
      const value = fields[key];
      if (value === undefined) continue;
      const text = REDACTED.has(key) ? REDACTED_TEXT : valueText(typeof value === 'object' ? redactOneDown(value) : value);
      if (text !== undefined) line += `,${keyText(key)}:${text}`;
    }
  }
  return `${line},"msg":${JSON.stringify(message)}}\n`;
}

/**
 * The fields as `JSON.stringify` writes them, when that is what the line needs: no credential name
 * at the top level or one object down, and nothing that makes `JSON.stringify` throw (a cycle, a
 * bigint). Null otherwise: the line is then written field by field.
 */
function plainFieldsText(fields: LogFields): string | null {
  if (Array.isArray(fields) || 'toJSON' in fields) return null;
  for (const key in fields) {
    if (REDACTED.has(key)) return null;
    const value = fields[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    for (const inner of Object.keys(value)) if (REDACTED.has(inner)) return null;
  }
  try {
    return JSON.stringify(fields);
  } catch {
    return null;
  }
}

/** A field's JSON text; undefined for a value JSON leaves out (a function, a symbol). */
function valueText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      try {
        return JSON.stringify(value) as string | undefined;
      } catch {
        return '"[unserializable]"';
      }
  }
}

/** An object field (`headers`, say) with its credential-named members redacted; a copy only when one is. */
function redactOneDown(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    if (!REDACTED.has(key)) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    copy[key] = '[redacted]';
  }
  return copy ?? value;
}

/**
 * One batched stderr writer per process. Lines are gathered and written in batches (64 KiB, or every
 * 250 ms, whichever comes first): under load that is one write for about 180 requests instead of a
 * system call per line. Each write goes through libuv's thread pool (a thread wake-up and a
 * completion on the event loop), which a profile under load showed costing more than the line
 * itself at 4 KiB batches. What is pending is flushed when the process exits. Once stderr is gone
 * (EPIPE: a closed terminal, a parent that exited) the log goes nowhere and the proxy carries on.
 */
let stderr: BatchedFdWriter | undefined;

const STDERR_BATCH_BYTES = 64 * 1024;

function stderrDestination(): { write(line: string): void } {
  if (stderr === undefined) {
    const destination = batchedFdWriter({ fd: 2, minBytes: STDERR_BATCH_BYTES });
    setInterval(() => destination.flush(), 250).unref();
    process.on('exit', () => destination.flushSync());
    stderr = destination;
  }
  return stderr;
}

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  isLevelEnabled: () => false,
});
