import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { pureSha256Hex, sha256Hex } from './sha256.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const nodeSha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Byte arrays whose lengths sit on the padding boundaries (one or two final blocks) and beyond. */
const boundaryBytes = fc
  .constantFrom(0, 1, 55, 56, 57, 63, 64, 65, 111, 119, 120, 121, 127, 128, 129, 191, 192, 1000)
  .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

describe('pureSha256Hex', () => {
  // FIPS 180-4 / NIST CAVP example vectors.
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
  ])('should hash the NIST vector %j', (message, digest) => {
    expect(pureSha256Hex(ascii(message))).toBe(digest);
  });

  it('should hash the NIST one-million-"a" vector', () => {
    expect(pureSha256Hex(new Uint8Array(1_000_000).fill(0x61))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('should match node:crypto for every length from 0 to 300 bytes', () => {
    const bytes = new Uint8Array(300);
    for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 167 + 13) & 0xff;
    for (let n = 0; n <= bytes.length; n++) {
      expect(pureSha256Hex(bytes.subarray(0, n)), `length ${n}`).toBe(nodeSha256(bytes.subarray(0, n)));
    }
  });

  test.prop([fc.uint8Array({ maxLength: 2048 })])('should match node:crypto on arbitrary bytes', (bytes) => {
    expect(pureSha256Hex(bytes)).toBe(nodeSha256(bytes));
  });

  test.prop([boundaryBytes])('should match node:crypto on lengths around the block boundaries', (bytes) => {
    expect(pureSha256Hex(bytes)).toBe(nodeSha256(bytes));
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat()])(
    'should hash a view at any byte offset of a larger buffer like a copy',
    (bytes, at) => {
      const offset = at % bytes.length;
      expect(pureSha256Hex(bytes.subarray(offset))).toBe(pureSha256Hex(bytes.slice(offset)));
    },
  );
});

describe('sha256Hex', () => {
  it('should give lowercase hex of 64 digits', () => {
    expect(sha256Hex(ascii('abc'))).toMatch(/^[0-9a-f]{64}$/);
  });

  test.prop([fc.uint8Array({ maxLength: 1024 })])('should agree with the pure implementation', (bytes) => {
    expect(sha256Hex(bytes)).toBe(pureSha256Hex(bytes));
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 200 })])(
    'should hash a string as its UTF-8 encoding, lone surrogates as U+FFFD',
    (text) => {
      expect(sha256Hex(text)).toBe(pureSha256Hex(new TextEncoder().encode(text)));
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    },
  );
});
