/**
 * @module
 * `@shunt/core/trace`: trace format v1, the CSV rows a recording proxy writes and the simulator
 * replays (docs/trace-format.md is the specification). Kept off the main entry so a gateway that
 * only routes does not carry a file format it never uses.
 */
export {
  TRACE_COLUMNS,
  TRACE_COLUMN_FIELDS,
  TRACE_FORMAT_MARKER,
  TRACE_FORMAT_VERSION,
  TRACE_PREAMBLE,
  TRACE_WINDOW_STATUSES,
  formatTraceRow,
} from './format.js';
export type { TraceCellKind, TraceColumn, TraceRecord } from './format.js';
