import { isUtf8 } from 'node:buffer';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isUtf8Portable, validUtf8 } from './utf8.js';

/** What the WHATWG decoder (and so the reference fingerprint) accepts. */
function decodes(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Valid UTF-8 with some bytes replaced, inserted or cut: the near misses a validator gets wrong. */
const nearlyUtf8 = fc
  .tuple(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    fc.nat(),
  )
  .map(([text, edits, cut]) => {
    const bytes = Array.from(Buffer.from(text, 'utf8'));
    for (const [at, value] of edits) bytes.splice(at % (bytes.length + 1), at % 2, value);
    return new Uint8Array(bytes.slice(0, bytes.length - (cut % 3)));
  });

describe('isUtf8Portable', () => {
  it.each([
    ['ASCII', [0x41, 0x42], true],
    ['2-byte', [0xc3, 0xa9], true],
    ['3-byte', [0xe2, 0x86, 0x92], true],
    ['4-byte', [0xf0, 0x9f, 0x9a, 0x80], true],
    ['U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], true],
    ['a BOM', [0xef, 0xbb, 0xbf], true],
    ['a lone continuation byte', [0x80], false],
    ['an overlong 2-byte form', [0xc0, 0x80], false],
    ['an overlong 3-byte form', [0xe0, 0x80, 0x80], false],
    ['an overlong 4-byte form', [0xf0, 0x80, 0x80, 0x80], false],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], false],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], false],
    ['a truncated sequence', [0xe2, 0x86], false],
    ['0xFF', [0xff], false],
  ])('should judge %s as %s', (_, bytes, valid) => {
    expect(isUtf8Portable(new Uint8Array(bytes))).toBe(valid);
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])('should agree with TextDecoder on arbitrary bytes', (bytes) => {
    expect(isUtf8Portable(bytes)).toBe(decodes(bytes));
  });

  test.prop([nearlyUtf8, fc.integer({ min: 0, max: 7 })])(
    'should agree with TextDecoder and node:buffer on near-valid UTF-8 at any alignment',
    (bytes, offset) => {
      // Shifting the view exercises the four-bytes-at-a-time ASCII path at every alignment.
      const shifted = new Uint8Array(bytes.length + offset);
      shifted.set(bytes, offset);
      const view = shifted.subarray(offset);
      expect(isUtf8Portable(view)).toBe(decodes(bytes));
      expect(isUtf8Portable(view)).toBe(isUtf8(bytes));
    },
  );
});

describe('validUtf8', () => {
  it('should return a plain Uint8Array over the same memory for a Buffer', () => {
    const buffer = Buffer.from('{"a":1}');
    const plain = validUtf8(buffer);
    expect(plain?.constructor).toBe(Uint8Array);
    expect(plain?.buffer).toBe(buffer.buffer);
    expect(plain?.byteOffset).toBe(buffer.byteOffset);
  });

  it('should return null for invalid UTF-8', () => {
    expect(validUtf8(new Uint8Array([0x7b, 0xff, 0x7d]))).toBeNull();
  });
});
