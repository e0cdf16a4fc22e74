/**
 * @module
 * Trace format v1 (docs/trace-format.md): the columns, the version marker, the record one row
 * holds, and {@link formatTraceRow}, which turns a record into one CSV line. Pure string work, so
 * the proxy's recorder and the simulator write byte-identical rows from one implementation.
 */

/** The first line of every trace this version writes; a reader rejects any other version. */
export const TRACE_FORMAT_MARKER = '# shunt-trace v1';

/** The trace format version this package writes. */
export const TRACE_FORMAT_VERSION = 1;

/** Every v1 column, in the order the writer emits them. Readers accept any order. */
export const TRACE_COLUMNS = [
  'ts',
  'request_id',
  'session',
  'account',
  'model',
  'status',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'duration_ms',
  'util_5h',
  'reset_5h',
  'status_5h',
  'util_7d',
  'reset_7d',
  'status_7d',
  'cache_creation_5m_tokens',
  'cache_creation_1h_tokens',
] as const;

/** A v1 column name. */
export type TraceColumn = (typeof TRACE_COLUMNS)[number];

/** Window statuses a v1 trace may carry (what Anthropic sends in `anthropic-ratelimit-unified-*-status`). */
export const TRACE_WINDOW_STATUSES: readonly string[] = ['allowed', 'allowed_warning', 'rejected'];

/** The marker line and the header row, each ending in `\n`: how every v1 file starts. */
export const TRACE_PREAMBLE: string = `${TRACE_FORMAT_MARKER}\n${TRACE_COLUMNS.join(',')}\n`;

/**
 * One row of a trace: one upstream response (or attempt). Only `tsMs` is required; every other
 * field is undefined when the column is missing or the cell is empty.
 */
export interface TraceRecord {
  /** When the attempt started, in epoch milliseconds. */
  readonly tsMs: number;
  /** Shared by all attempts of one client request. */
  readonly requestId?: string | undefined;
  /** Conversation key (the core fingerprint or any stable id). */
  readonly session?: string | undefined;
  /** The account that served (or refused) the attempt when it was recorded. */
  readonly account?: string | undefined;
  /** The model named in the request. */
  readonly model?: string | undefined;
  /** HTTP status of the upstream response. */
  readonly status?: number | undefined;
  /** Uncached input tokens. */
  readonly inputTokens?: number | undefined;
  /** Output tokens. */
  readonly outputTokens?: number | undefined;
  /** Input tokens read from the prompt cache. */
  readonly cacheReadTokens?: number | undefined;
  /** Input tokens written to the prompt cache. */
  readonly cacheCreationTokens?: number | undefined;
  /** Wall time of the attempt, in milliseconds. */
  readonly durationMs?: number | undefined;
  /** `anthropic-ratelimit-unified-5h-utilization` on the response (fraction, may exceed 1). */
  readonly utilization5h?: number | undefined;
  /** `anthropic-ratelimit-unified-5h-reset`, in epoch seconds. */
  readonly reset5hSecs?: number | undefined;
  /** `anthropic-ratelimit-unified-5h-status`. */
  readonly status5h?: string | undefined;
  /** `anthropic-ratelimit-unified-7d-utilization` (fraction, may exceed 1). */
  readonly utilization7d?: number | undefined;
  /** `anthropic-ratelimit-unified-7d-reset`, in epoch seconds. */
  readonly reset7dSecs?: number | undefined;
  /** `anthropic-ratelimit-unified-7d-status`. */
  readonly status7d?: string | undefined;
  /** Of `cacheCreationTokens`, those cached for 5 minutes (`usage.cache_creation.ephemeral_5m_input_tokens`). */
  readonly cacheCreation5mTokens?: number | undefined;
  /** Of `cacheCreationTokens`, those cached for 1 hour (`usage.cache_creation.ephemeral_1h_input_tokens`). */
  readonly cacheCreation1hTokens?: number | undefined;
}

/** How a cell of a column is validated by a reader. */
export type TraceCellKind = 'timestamp' | 'text' | 'httpStatus' | 'count' | 'utilization' | 'epochSecs' | 'windowStatus';

/** Which record field each column fills, and what kind of value its cell holds. */
export const TRACE_COLUMN_FIELDS: Readonly<Record<TraceColumn, { readonly field: keyof TraceRecord; readonly kind: TraceCellKind }>> = {
  ts: { field: 'tsMs', kind: 'timestamp' },
  request_id: { field: 'requestId', kind: 'text' },
  session: { field: 'session', kind: 'text' },
  account: { field: 'account', kind: 'text' },
  model: { field: 'model', kind: 'text' },
  status: { field: 'status', kind: 'httpStatus' },
  input_tokens: { field: 'inputTokens', kind: 'count' },
  output_tokens: { field: 'outputTokens', kind: 'count' },
  cache_read_tokens: { field: 'cacheReadTokens', kind: 'count' },
  cache_creation_tokens: { field: 'cacheCreationTokens', kind: 'count' },
  duration_ms: { field: 'durationMs', kind: 'count' },
  util_5h: { field: 'utilization5h', kind: 'utilization' },
  reset_5h: { field: 'reset5hSecs', kind: 'epochSecs' },
  status_5h: { field: 'status5h', kind: 'windowStatus' },
  util_7d: { field: 'utilization7d', kind: 'utilization' },
  reset_7d: { field: 'reset7dSecs', kind: 'epochSecs' },
  status_7d: { field: 'status7d', kind: 'windowStatus' },
  cache_creation_5m_tokens: { field: 'cacheCreation5mTokens', kind: 'count' },
  cache_creation_1h_tokens: { field: 'cacheCreation1hTokens', kind: 'count' },
};

/**
 * One record as a CSV line (with the trailing `\n`), columns in {@link TRACE_COLUMNS} order.
 * Missing fields are empty cells; `ts` is written as ISO-8601 with milliseconds in UTC; numbers
 * are written in their shortest exact form, so reading the line back gives the same record.
 *
 * @example
 * ```ts
 * formatTraceRow({ tsMs: Date.UTC(2026, 0, 5, 9), account: 'work', status: 200 });
 * // "2026-01-05T09:00:00.000Z,,,work,,200,,,,,,,,,,,,,\n"
 * ```
 */
export function formatTraceRow(record: TraceRecord): string {
  let line = new Date(record.tsMs).toISOString();
  for (let i = 1; i < TRACE_COLUMNS.length; i++) {
    const value = record[TRACE_COLUMN_FIELDS[TRACE_COLUMNS[i] as TraceColumn].field];
    line += ',';
    if (value === undefined) continue;
    // String() gives the shortest representation that reads back to the same double.
    line += typeof value === 'number' ? String(value) : escapeCell(value);
  }
  return `${line}\n`;
}

function escapeCell(value: string): string {
  if (!/[",\r\n]/.test(value) && value.trim() === value) return value;
  return `"${value.replace(/"/g, '""')}"`;
}
