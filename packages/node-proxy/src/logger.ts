/**
 * @module
 * The proxy's log: one JSON object per line, to stderr by default. What is logged is decided by
 * the proxy's call sites, which never pass request bodies, prompts or credentials.
 */

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
}

/** Options for {@link jsonLogger}. */
export interface JsonLoggerOptions {
  /**
   * Where each line goes (the line ends with its newline).
   * @default stderr, the lines of one event-loop turn in one write
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
 * A logger writing JSON lines: `{"time":"…","level":"info","msg":"…",…fields}`.
 *
 * @example
 * ```ts
 * const logger = jsonLogger({ level: 'debug' });
 * logger.info('listening', { url: 'http://127.0.0.1:8082' });
 * ```
 */
export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const write = options.write ?? writeStderr;
  const min = LOG_LEVELS[options.level ?? 'info'];
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, message: string, fields: LogFields | undefined): void => {
    if (LOG_LEVELS[level] < min) return;
    // Built by hand rather than by spreading the fields into a new object: this runs per request.
    const head = `{"time":"${new Date(now()).toISOString()}","level":"${level}","msg":${JSON.stringify(message)}`;
    let rest: string;
    try {
      rest = fields === undefined ? '}' : JSON.stringify(fields);
    } catch {
      rest = '{"fields":"unserialisable"}';
    }
    write(`${head}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}\n`);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

/**
 * Lines for stderr are gathered and written once per event-loop turn: under load that is one
 * write for many requests instead of one each. Whatever is pending is written when the process
 * exits.
 */
let pending = '';
let scheduled = false;
let exitHooked = false;

function flushStderr(): void {
  scheduled = false;
  if (pending === '') return;
  const text = pending;
  pending = '';
  process.stderr.write(text);
}

function writeStderr(line: string): void {
  pending += line;
  if (pending.length >= 65_536) {
    flushStderr();
  } else if (!scheduled) {
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', flushStderr);
    }
    scheduled = true;
    setImmediate(flushStderr).unref();
  }
}

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});
