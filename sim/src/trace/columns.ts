/**
 * @module
 * Trace format v1: the columns, the version marker and the record one row holds live in
 * `@shunt/core/trace` (the proxy's recorder writes the same rows); this module adds what only the
 * reader needs. docs/trace-format.md is the specification.
 */
import type { TraceRecord } from '@shunt/core/trace';

export {
  TRACE_COLUMNS,
  TRACE_COLUMN_FIELDS as COLUMN_FIELDS,
  TRACE_FORMAT_MARKER,
  TRACE_FORMAT_VERSION,
  TRACE_WINDOW_STATUSES as WINDOW_STATUSES,
} from '@shunt/core/trace';
export type { TraceCellKind as CellKind, TraceColumn, TraceRecord } from '@shunt/core/trace';

/** A record as read from a file, with the 1-based line it started on. */
export interface TraceRow extends TraceRecord {
  /** 1-based line number in the file (the marker line counts). */
  readonly line: number;
}
