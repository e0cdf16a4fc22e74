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

/** True when `bytes` holds `pattern` at `offset`. */
export function bytesAt(bytes: Uint8Array, offset: number, pattern: Uint8Array): boolean {
  if (offset + pattern.length > bytes.length) return false;
  for (let j = 0; j < pattern.length; j++) if (bytes[offset + j] !== pattern[j]) return false;
  return true;
}

/** A Buffer over the same memory (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
