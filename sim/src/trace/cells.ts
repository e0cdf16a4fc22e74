/**
 * @module
 * Reading one cell of a v1 trace. Parsers return {@link INVALID} instead of throwing, because the
 * hot loop reads millions of cells and most traces have no bad ones.
 */
import { WINDOW_STATUSES, type CellKind } from './columns.js';

/** What a cell parser returns for a cell that does not hold a valid value. */
export const INVALID: unique symbol = Symbol('invalid');

/** Epoch milliseconds below this (3 March 1973) are almost certainly epoch seconds by mistake. */
const MIN_EPOCH_MS = 1e11;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parse a non-empty cell of the given kind; empty cells never reach here (they mean "missing"). */
export function parseCell(kind: CellKind, raw: string): number | string | typeof INVALID {
  switch (kind) {
    case 'text':
      return raw;
    case 'count':
      return parseCount(raw);
    case 'timestamp':
      return parseTimestampMs(raw);
    case 'httpStatus': {
      const status = parseCount(raw);
      return status !== INVALID && status >= 100 && status <= 599 ? status : INVALID;
    }
    case 'utilization': {
      if (!DECIMAL.test(raw)) return INVALID;
      const value = Number(raw);
      return Number.isFinite(value) ? value : INVALID;
    }
    case 'epochSecs': {
      const secs = parseCount(raw);
      return secs !== INVALID && secs < MIN_EPOCH_MS ? secs : INVALID;
    }
    case 'windowStatus':
      return WINDOW_STATUSES.includes(raw) ? raw : INVALID;
  }
}

/** Why a cell of this kind was rejected, for the error message. */
export function describeInvalid(kind: CellKind, raw: string): string {
  const got = JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);
  switch (kind) {
    case 'count':
      return `expected a non-negative integer, got ${got}`;
    case 'timestamp': {
      if (/^\d+$/.test(raw) && Number(raw) < MIN_EPOCH_MS) {
        return `expected ISO-8601 or epoch milliseconds, got ${got} (this looks like epoch seconds: multiply by 1000)`;
      }
      return `expected ISO-8601 (2026-01-05T09:30:00.000Z) or epoch milliseconds, got ${got}`;
    }
    case 'httpStatus':
      return `expected an HTTP status code (100-599), got ${got}`;
    case 'utilization':
      return `expected a non-negative decimal fraction such as 0.42, got ${got}`;
    case 'epochSecs': {
      if (/^\d+$/.test(raw)) return `expected epoch seconds, got ${got} (this looks like epoch milliseconds: divide by 1000)`;
      return `expected epoch seconds (an integer), got ${got}`;
    }
    case 'windowStatus':
      return `unknown window status ${got}: expected one of ${WINDOW_STATUSES.join(', ')}`;
    case 'text':
      return `invalid text ${got}`;
  }
}

/** A non-negative safe integer written in plain digits. */
function parseCount(raw: string): number | typeof INVALID {
  const n = raw.length;
  if (n === 0 || n > 15) return INVALID;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const digit = raw.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return INVALID;
    value = value * 10 + digit;
  }
  return value;
}

function parseTimestampMs(raw: string): number | typeof INVALID {
  const first = raw.charCodeAt(0);
  if (raw.length >= 11 && raw.length <= 15 && raw.indexOf('-') === -1) {
    const ms = parseCount(raw);
    return ms !== INVALID && ms >= MIN_EPOCH_MS ? ms : INVALID;
  }
  if (first < 48 || first > 57 || !ISO_8601.test(raw)) return INVALID;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? ms : INVALID;
}
