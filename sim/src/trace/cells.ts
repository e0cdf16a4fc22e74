/**
 * @module
 * Reading one cell of a v1 trace. Parsers return {@link INVALID} instead of throwing, because the
 * hot loop reads millions of cells and most traces have no bad ones.
 */
import { WINDOW_STATUSES, type CellKind } from './columns.js';

/** What a cell parser returns for a cell that does not hold a valid value. */
export const INVALID: unique symbol = Symbol('invalid');

/** Epoch milliseconds below this (3 March 1973) are almost certainly epoch seconds by mistake. */
export const MIN_EPOCH_MS = 1e11;

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
  if (raw.length === 24) {
    const ms = parseIsoMillisZ(raw);
    if (ms !== -1) return ms;
  }
  if (first < 48 || first > 57 || !ISO_8601.test(raw)) return INVALID;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? ms : INVALID;
}

/**
 * The shape recorders write, `YYYY-MM-DDTHH:MM:SS.sssZ`, without a regular expression or
 * Date.parse; -1 for anything else (the caller falls back to the general path). Only real dates
 * take this path (Date.parse rolls 30 February over to March), so it agrees with Date.parse exactly.
 */
function parseIsoMillisZ(raw: string): number {
  if (
    raw.charCodeAt(4) !== 45 /* - */ ||
    raw.charCodeAt(7) !== 45 ||
    raw.charCodeAt(10) !== 84 /* T */ ||
    raw.charCodeAt(13) !== 58 /* : */ ||
    raw.charCodeAt(16) !== 58 ||
    raw.charCodeAt(19) !== 46 /* . */ ||
    raw.charCodeAt(23) !== 90 /* Z */
  ) {
    return -1;
  }
  const year = digits(raw, 0, 4);
  const month = digits(raw, 5, 2);
  const day = digits(raw, 8, 2);
  const hour = digits(raw, 11, 2);
  const minute = digits(raw, 14, 2);
  const second = digits(raw, 17, 2);
  const millis = digits(raw, 20, 3);
  // Date.UTC reads years 0-99 as 1900-1999.
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23) return -1;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || millis < 0) return -1;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/** How many days `month` (1-12) of `year` has. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The number written by `count` ASCII digits at `start`, or -1. */
function digits(raw: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = raw.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}
