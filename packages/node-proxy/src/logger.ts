/**
 * @module
 * The proxy's log: one JSON object per line (pino), to stderr by default. What is logged is decided
 * by the proxy's call sites, which never pass request bodies, prompts or credentials; credential
 * field names are redacted as well, in case one ever does.
 */
import { pino } from 'pino';
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
 * Field names whose values are replaced by `[redacted]`, at the top level of a record or inside its
 * `headers`, whatever a call site passes. The call sites never log credentials; this is the second
 * guard. Explicit paths, not pino's `*` wildcards: a wildcard costs ~25 µs per line, explicit
 * paths ~1 µs.
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
 * A logger writing JSON lines through pino: `{"level":"info","time":"…",…fields,"msg":"…"}`.
 *
 * @example
 * ```ts
 * const logger = jsonLogger({ level: 'debug' });
 * logger.info('listening', { url: 'http://127.0.0.1:8082' });
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const now = options.now ?? Date.now;
  const paths = REDACTED_FIELDS.flatMap((name) => [`["${name}"]`, `headers["${name}"]`]);
  // Under load several lines share a millisecond: the ISO text is formatted once per millisecond.
  let timeMs = Number.NaN;
  let timeField = '';
  let timeSecond = Number.NaN;
  let timePrefix = '';
  const log = pino(
    {
      level: options.level ?? 'info',
      base: null,
      messageKey: 'msg',
      // The proxy's clock (injectable), as ISO text rather than pino's epoch number.
      timestamp: () => {
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
      },
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths, censor: '[redacted]' },
    },
    options.write === undefined ? stderrDestination() : { write: options.write },
  );
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
    isLevelEnabled: (level) => log.isLevelEnabled(level),
  };
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
