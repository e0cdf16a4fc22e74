/**
 * @module
 * Byte searches for the small chunks a stream arrives in. `Buffer#indexOf` is a call into C++ that
 * costs about 0.3 µs however short the buffer; a stream's events are a few hundred bytes, where a
 * plain loop is several times cheaper. Past {@link NATIVE_FROM} bytes the native search (memchr)
 * wins and is used.
 */

/** Lengths from which the native search is used. */
const NATIVE_FROM = 512;

/** The index of the first `byte` in `bytes` at or after `from`, or -1. */
export function indexOfByte(bytes: Uint8Array, byte: number, from: number): number {
  const end = bytes.length;
  if (end - from > NATIVE_FROM) return asBuffer(bytes).indexOf(byte, from);
  for (let i = from; i < end; i++) if (bytes[i] === byte) return i;
  return -1;
}

/** The index of the last LF or CR in `bytes`, or -1. */
export function lastLineBreak(bytes: Uint8Array): number {
  if (bytes.length > NATIVE_FROM) {
    const buffer = asBuffer(bytes);
    return Math.max(buffer.lastIndexOf(0x0a), buffer.lastIndexOf(0x0d));
  }
  for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] === 0x0a || bytes[i] === 0x0d) return i;
  return -1;
}

/** True when `pattern` (not empty) occurs in `bytes`. */
export function includesBytes(bytes: Uint8Array, pattern: Uint8Array): boolean {
  if (bytes.length > NATIVE_FROM) return asBuffer(bytes).includes(asBuffer(pattern));
  const first = pattern[0];
  const last = bytes.length - pattern.length;
  for (let i = 0; i <= last; i++) if (bytes[i] === first && bytesAt(bytes, i, pattern)) return true;
  return false;
}

/**
 * A search for `pattern` (not empty) anywhere in a body: `includesBytes` by Horspool's method, whose
 * window moves several bytes a step (the last byte decides how far), so a stream chunk full of
 * the pattern's first byte (`e` of `error` in `event`, `delta`, `text`) is not compared at each
 * one. Natively past {@link NATIVE_FROM} bytes.
 */
export function includesFinder(pattern: Uint8Array): (bytes: Uint8Array) => boolean {
  const length = pattern.length;
  const last = pattern[length - 1];
  // shifts[b]: how far the window may move when its last byte is b (capped at 255: a shorter step is always safe).
  const shifts = new Uint8Array(256).fill(Math.min(length, 255));
  for (let k = 0; k < length - 1; k++) shifts[pattern[k] as number] = Math.min(length - 1 - k, 255);
  const needle = asBuffer(pattern);
  return (bytes) => {
    if (bytes.length > NATIVE_FROM) return asBuffer(bytes).includes(needle);
    for (let i = length - 1; i < bytes.length; ) {
      const byte = bytes[i] as number;
      if (byte === last && bytesAt(bytes, i - length + 1, pattern)) return true;
      i += shifts[byte] as number;
    }
    return false;
  };
}

/** True when `bytes` holds `pattern` at `offset`. */
export function bytesAt(bytes: Uint8Array, offset: number, pattern: Uint8Array): boolean {
  if (offset + pattern.length > bytes.length) return false;
  for (let j = 0; j < pattern.length; j++) if (bytes[offset + j] !== pattern[j]) return false;
  return true;
}

const ONE_HOUR_VALUE = Buffer.from('"1h"');
const TTL_KEY = Buffer.from('"ttl"');

/**
 * Whether a JSON body holds `"ttl": "1h"` (any JSON whitespace around the colon): a request that
 * asks for 1-hour prompt caching. One native search for the rare `"1h"` and a look back from each
 * hit: `Buffer#includes` with a string needle costs ~11 µs on a 10 KB body, this ~0.3 µs.
 */
export function asksForOneHourCache(body: Uint8Array): boolean {
  const buffer = asBuffer(body);
  for (let at = buffer.indexOf(ONE_HOUR_VALUE); at !== -1; at = buffer.indexOf(ONE_HOUR_VALUE, at + 1)) {
    let i = skipWhitespaceBack(buffer, at - 1);
    if (i < 0 || buffer[i] !== 0x3a) continue; // ':'
    i = skipWhitespaceBack(buffer, i - 1);
    if (bytesAt(buffer, i - TTL_KEY.length + 1, TTL_KEY)) return true;
  }
  return false;
}

/** The index of the last byte at or before `from` that is not JSON whitespace, or -1. */
export function skipWhitespaceBack(bytes: Uint8Array, from: number): number {
  let i = from;
  while (i >= 0 && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i--;
  return i;
}

/** A Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * A search for the last `pattern` (not empty) in a body: the index of its start, or -1. The last
 * {@link NATIVE_FROM} bytes, where a JSON answer's closing member sits, are searched in place by
 * Horspool's method run backwards (a window moves back to the nearest place its first byte holds in
 * the pattern, several bytes a step); the bytes before them natively.
 */
export function lastIndexFinder(pattern: Uint8Array): (bytes: Uint8Array) => number {
  const length = pattern.length;
  const first = pattern[0];
  // skips[b]: the nearest k >= 1 where pattern[k] is b (capped at 255: a shorter step is always safe).
  const skips = new Uint8Array(256).fill(Math.min(length, 255));
  for (let k = Math.min(length - 1, 255); k >= 1; k--) skips[pattern[k] as number] = k;
  const needle = asBuffer(pattern);
  return (bytes) => {
    const stop = Math.max(0, bytes.length - NATIVE_FROM);
    for (let i = bytes.length - length; i >= stop; ) {
      const byte = bytes[i] as number;
      if (byte === first && bytesAt(bytes, i, pattern)) return i;
      i -= skips[byte] as number;
    }
    return stop === 0 ? -1 : asBuffer(bytes).lastIndexOf(needle, stop - 1);
  };
}
