// The public API of @shunt/core: written by `pnpm api:report`, checked by CI. Review every change.
/**
 * @module
 * Trace format v1 (docs/trace-format.md): the columns, the version marker, the record one row
 * holds, and {@link formatTraceRow}, which turns a record into one CSV line. Pure string work, so
 * the proxy's recorder and the simulator write byte-identical rows from one implementation.
 */
/** The first line of every trace this version writes; a reader rejects any other version. */
declare const TRACE_FORMAT_MARKER = "# shunt-trace v1";
/** The trace format version this package writes. */
declare const TRACE_FORMAT_VERSION = 1;
/** Every v1 column, in the order the writer emits them. Readers accept any order. */
declare const TRACE_COLUMNS: readonly ["ts", "request_id", "session", "account", "model", "status", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "duration_ms", "util_5h", "reset_5h", "status_5h", "util_7d", "reset_7d", "status_7d"];
/** A v1 column name. */
type TraceColumn = (typeof TRACE_COLUMNS)[number];
/** Window statuses a v1 trace may carry (what Anthropic sends in `anthropic-ratelimit-unified-*-status`). */
declare const TRACE_WINDOW_STATUSES: readonly string[];
/** The marker line and the header row, each ending in `\n`: how every v1 file starts. */
declare const TRACE_PREAMBLE: string;
/**
 * One row of a trace: one upstream response (or attempt). Only `tsMs` is required; every other
 * field is undefined when the column is missing or the cell is empty.
 */
interface TraceRecord {
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
}
/** How a cell of a column is validated by a reader. */
type TraceCellKind = 'timestamp' | 'text' | 'httpStatus' | 'count' | 'utilization' | 'epochSecs' | 'windowStatus';
/** Which record field each column fills, and what kind of value its cell holds. */
declare const TRACE_COLUMN_FIELDS: Readonly<Record<TraceColumn, {
    readonly field: keyof TraceRecord;
    readonly kind: TraceCellKind;
}>>;
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
declare function formatTraceRow(record: TraceRecord): string;

export { TRACE_COLUMNS, TRACE_COLUMN_FIELDS, TRACE_FORMAT_MARKER, TRACE_FORMAT_VERSION, TRACE_PREAMBLE, TRACE_WINDOW_STATUSES, type TraceCellKind, type TraceColumn, type TraceRecord, formatTraceRow };
