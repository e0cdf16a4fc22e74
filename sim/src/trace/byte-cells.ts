/**
 * @module
 * Reading the cells of a plain record straight from its bytes, for the shapes recorders write:
 * plain digits, `2026-01-05T09:30:00.000Z`, `0.47`, `allowed`. A byte reader answers only when it
 * is sure to give the value cells.ts's parseCell would; for anything else it answers
 * {@link NOT_PLAIN} and the caller decodes the cell and asks parseCell. So a cell is only ever
 * found invalid, and its error worded, in one place.
 */
import { MIN_EPOCH_MS, daysInMonth } from './cells.js';
import { WINDOW_STATUSES } from './columns.js';

/** What a numeric byte reader returns when the caller must take the string path (no valid value is negative). */
export const NOT_PLAIN = -1;

const ZERO = 0x30;
const MINUS = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const LETTER_T = 0x54;
const LETTER_Z = 0x5a;

/** Powers of ten up to the longest plain decimal (15 digits), as literals: each is an exact double, with no pow rounding to trust. */
const POWERS_OF_TEN: readonly number[] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** A count: 1 to 15 plain digits, as parseCell reads them. */
export function countFromBytes(buf: Buffer, start: number, end: number): number {
  if (end === start || end - start > 15) return NOT_PLAIN;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (buf[i] as number) - ZERO;
    if (digit < 0 || digit > 9) return NOT_PLAIN;
    value = value * 10 + digit;
  }
  return value;
}

/** An HTTP status (100-599) in plain digits. */
export function httpStatusFromBytes(buf: Buffer, start: number, end: number): number {
  const status = countFromBytes(buf, start, end);
  return status >= 100 && status <= 599 ? status : NOT_PLAIN;
}

/** Epoch seconds in plain digits (not so large that they look like milliseconds). */
export function epochSecsFromBytes(buf: Buffer, start: number, end: number): number {
  const secs = countFromBytes(buf, start, end);
  return secs < MIN_EPOCH_MS ? secs : NOT_PLAIN;
}

/** A `ts`: epoch milliseconds in plain digits, or exactly `YYYY-MM-DDTHH:MM:SS.sssZ`. */
export function timestampFromBytes(buf: Buffer, start: number, end: number): number {
  const length = end - start;
  if (length === 24) return isoMillisZFromBytes(buf, start);
  if (length < 11 || length > 15) return NOT_PLAIN;
  const ms = countFromBytes(buf, start, end);
  return ms >= MIN_EPOCH_MS ? ms : NOT_PLAIN;
}

/**
 * A utilization written as plain digits with at most one `.`, 15 digits at most: the digits as an
 * integer over a power of ten. Both are exact doubles, and one IEEE division rounds correctly, so
 * the result is the double nearest the decimal, which is what `Number(text)` gives too.
 */
export function utilizationFromBytes(buf: Buffer, start: number, end: number): number {
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    if (byte === DOT && point === -1) {
      point = i;
      continue;
    }
    const digit = byte - ZERO;
    if (digit < 0 || digit > 9) return NOT_PLAIN;
    mantissa = mantissa * 10 + digit;
    digits++;
  }
  if (digits === 0 || digits > 15) return NOT_PLAIN;
  return mantissa / (POWERS_OF_TEN[point === -1 ? 0 : end - point - 1] as number);
}

/** The known window statuses as bytes, each with the one string every row shares. */
const STATUSES: readonly { readonly bytes: Buffer; readonly text: string }[] = WINDOW_STATUSES.map((text) => ({
  bytes: Buffer.from(text, 'latin1'),
  text,
}));

/** A known window status, or undefined (for the string path to judge). */
export function windowStatusFromBytes(buf: Buffer, start: number, end: number): string | undefined {
  for (let k = 0; k < STATUSES.length; k++) {
    const status = STATUSES[k] as (typeof STATUSES)[number];
    if (sameBytes(buf, start, end, status.bytes)) return status.text;
  }
  return undefined;
}

/** Node's decoders behind `Buffer#toString`, without its argument checks. */
interface BufferDecoders {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * A text cell decoded as UTF-8 (invalid sequences become U+FFFD, as in csv-parse). When every
 * byte of the record is ASCII, latin1 decoding gives the same string and is cheaper.
 */
export function textFromBytes(buf: Buffer, start: number, end: number, ascii: boolean): string {
  const decoders = buf as unknown as BufferDecoders;
  return ascii ? decoders.latin1Slice(start, end) : decoders.utf8Slice(start, end);
}

/** How many distinct values a {@link TextCache} remembers. */
const TEXT_CACHE_ENTRIES = 16;

/**
 * Decoded text for a column with few distinct values (account, model): the same handful of
 * strings a million times over is cheaper to recognise by bytes than to decode. Values past the
 * first {@link TEXT_CACHE_ENTRIES} are decoded every time.
 */
export class TextCache {
  private readonly entries: { readonly bytes: Buffer; readonly text: string }[] = [];

  text(buf: Buffer, start: number, end: number, ascii: boolean): string {
    const entries = this.entries;
    for (let k = 0; k < entries.length; k++) {
      const entry = entries[k] as (typeof entries)[number];
      if (sameBytes(buf, start, end, entry.bytes)) return entry.text;
    }
    const text = textFromBytes(buf, start, end, ascii);
    // A copy: a view would keep the whole chunk alive.
    if (entries.length < TEXT_CACHE_ENTRIES) entries.push({ bytes: Buffer.from(buf.subarray(start, end)), text });
    return text;
  }
}

/** Whether `buf[start, end)` holds exactly `bytes` (compared from the end: values often share a prefix). */
function sameBytes(buf: Buffer, start: number, end: number, bytes: Buffer): boolean {
  if (end - start !== bytes.length) return false;
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (buf[start + i] !== bytes[i]) return false;
  }
  return true;
}

/**
 * The byte twin of cells.ts's parseIsoMillisZ: the same shape and the same range checks (real
 * dates, years from 1000), so it accepts exactly what that accepts, with the same value.
 */
function isoMillisZFromBytes(buf: Buffer, s: number): number {
  if (
    buf[s + 4] !== MINUS ||
    buf[s + 7] !== MINUS ||
    buf[s + 10] !== LETTER_T ||
    buf[s + 13] !== COLON ||
    buf[s + 16] !== COLON ||
    buf[s + 19] !== DOT ||
    buf[s + 23] !== LETTER_Z
  ) {
    return NOT_PLAIN;
  }
  const year = digitsAt(buf, s, 4);
  const month = digitsAt(buf, s + 5, 2);
  const day = digitsAt(buf, s + 8, 2);
  const hour = digitsAt(buf, s + 11, 2);
  const minute = digitsAt(buf, s + 14, 2);
  const second = digitsAt(buf, s + 17, 2);
  const millis = digitsAt(buf, s + 20, 3);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour < 0 || hour > 23) return NOT_PLAIN;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || millis < 0) return NOT_PLAIN;
  // Date.UTC(y, m, d, h, mi, s, ms) is defined as the day's start plus the time of day, all
  // integers well below 2^53, so the sum is exact.
  return dayStartMs(year, month, day) + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis;
}

/** The number written by `count` ASCII digits at `start`, or -1. */
function digitsAt(buf: Buffer, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const digit = (buf[i] as number) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

let lastDay = -1;
let lastDayStartMs = 0;

/** Date.UTC of a day's midnight, remembered for the next row: a trace's rows come a day at a time. */
function dayStartMs(year: number, month: number, day: number): number {
  const key = (year * 100 + month) * 100 + day;
  if (key !== lastDay) {
    lastDay = key;
    lastDayStartMs = Date.UTC(year, month - 1, day);
  }
  return lastDayStartMs;
}
