import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ByteJsonScanner } from './json-scan.js';

// The byte scanner reads string content several bytes at a time. These tests place strings at every
// alignment, inside views at every offset of larger buffers whose bytes outside the view are junk that
// would change the verdict if read (a '"' after an unterminated string would close it), and compare
// the verdict with JSON.parse's.

/** Bytes around a view that must never be read: a quote, a backslash, a control byte, a letter, a non-UTF-8 byte. */
const JUNK = [0x22, 0x5c, 0x00, 0x41, 0xff] as const;

/** Pieces of string content: plain runs long and short, multi-byte UTF-8, every kind of escape, and what ends or breaks a string. */
const PIECES = [
  'a',
  'hello, world',
  'x'.repeat(37),
  ' ',
  'é',
  '€',
  '→',
  '😀',
  '\u007f',
  '"',
  '\\',
  '\\"',
  '\\\\',
  '\\/',
  '\\b\\f\\n\\r\\t',
  '\\u00e9',
  '\\u20AC',
  '\\ud83d\\ude00',
  '\\ud83d',
  '\\ude00',
  '\\u12',
  '\\x',
  '\u0000',
  '\u001f',
  '\t',
  '\n',
] as const;

const contentArb = fc
  .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 12 })
  .map((pieces) => pieces.join(''));

/** A JSON document that is (or starts like) one string: whitespace before, content, maybe a closing quote. */
const documentArb = fc
  .record({ pad: fc.integer({ min: 0, max: 7 }), content: contentArb, closed: fc.boolean() })
  .map(({ pad, content, closed }) => ({ pad, text: `${' '.repeat(pad)}"${content}${closed ? '"' : ''}` }));

/** Where the document's bytes sit: a view at byteOffset 0..7 into a (maybe shared) buffer with junk before and after. */
const placementArb = fc.record({
  byteOffset: fc.integer({ min: 0, max: 7 }),
  junkAfter: fc.integer({ min: 0, max: 9 }),
  junk: fc.constantFrom(...JUNK),
  shared: fc.boolean(),
});

type Placement = { byteOffset: number; junkAfter: number; junk: number; shared: boolean };

/** `bytes` copied into a view at `byteOffset` of a buffer filled with `junk` around it. */
function place(bytes: Uint8Array, { byteOffset, junkAfter, junk, shared }: Placement): Uint8Array {
  const length = byteOffset + bytes.length + junkAfter;
  const buffer = shared ? new SharedArrayBuffer(length) : new ArrayBuffer(length);
  new Uint8Array(buffer).fill(junk);
  const view = new Uint8Array(buffer, byteOffset, bytes.length);
  view.set(bytes);
  return view;
}

/** Whether `text` is exactly one JSON string the scanner must accept: JSON.parse's verdict, minus lone surrogates (as serde_json). */
function isJsonString(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  // The text is well-formed, so a lone surrogate in the value came from a \u escape.
  return typeof value === 'string' && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
}

/** The scanner's verdict on a whole document: one value, then nothing but whitespace. */
function scansAsOneValue(bytes: Uint8Array): boolean {
  const sc = new ByteJsonScanner(bytes);
  return sc.skipValue(0) && sc.peek() === -1;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
/** Property runs scaled by FC_NUM_RUNS (see test/setup.ts), relative to its default of 100. */
const runs = (n: number): number => Math.max(1, Math.round((n * (fc.readConfigureGlobal().numRuns ?? 100)) / 100));

describe('ByteJsonScanner string content', () => {
  test.prop([documentArb, placementArb], { numRuns: runs(1000) })(
    'should accept exactly what JSON.parse accepts at every alignment, reading nothing outside the view',
    ({ text }, placement) => {
      expect(scansAsOneValue(place(utf8(text), placement))).toBe(isJsonString(text));
    },
  );

  test.prop([documentArb, placementArb], { numRuns: runs(500) })(
    'should read a string to the same end and value wherever its bytes sit',
    ({ pad, text }, placement) => {
      const bytes = utf8(text);
      const read = (input: Uint8Array): { ok: boolean; end: number; value: string } => {
        const sc = new ByteJsonScanner(input);
        sc.pos = pad;
        const ok = sc.readString();
        const value = ok ? new TextDecoder().decode(sc.utf8(sc.strStart, sc.strEnd, sc.strEscaped)) : '';
        return { ok, end: ok ? sc.pos : -1, value };
      };
      const placed = read(place(bytes, placement));
      expect(placed).toEqual(read(bytes));
      if (placed.ok) {
        // The string read is a JSON string, and its value is JSON.parse's.
        const token = new TextDecoder().decode(bytes.subarray(pad, placed.end));
        expect(isJsonString(token)).toBe(true);
        expect(placed.value).toBe(JSON.parse(token));
      }
    },
  );

  it('should never take a quote after the end of the view for the closing one', () => {
    for (let byteOffset = 0; byteOffset < 8; byteOffset++) {
      for (let pad = 0; pad < 8; pad++) {
        for (let length = 0; length <= 20; length++) {
          const open = utf8(`${' '.repeat(pad)}"${'a'.repeat(length)}`);
          for (const shared of [false, true]) {
            const where = `byteOffset ${byteOffset}, pad ${pad}, length ${length}, shared ${shared}`;
            const placement = { byteOffset, junkAfter: 8, junk: 0x22, shared };
            expect(scansAsOneValue(place(open, placement)), where).toBe(false);
            const closed = utf8(`${' '.repeat(pad)}"${'a'.repeat(length)}"`);
            expect(scansAsOneValue(place(closed, { ...placement, junk: 0x00 })), where).toBe(true);
          }
        }
      }
    }
  });

  it('should find a quote, backslash or control byte at every position of a word', () => {
    for (let byteOffset = 0; byteOffset < 4; byteOffset++) {
      for (let at = 0; at < 12; at++) {
        const before = 'b'.repeat(at);
        const where = `byteOffset ${byteOffset}, at ${at}`;
        const placement = { byteOffset, junkAfter: 3, junk: 0x41, shared: false };
        expect(scansAsOneValue(place(utf8(`"${before}"`), placement)), where).toBe(true);
        expect(scansAsOneValue(place(utf8(`"${before}\u0001bbbbbbbb"`), placement)), where).toBe(false);
        expect(scansAsOneValue(place(utf8(`"${before}\\"bbbbbbbb"`), placement)), where).toBe(true);
        expect(scansAsOneValue(place(utf8(`"${before}"bbbbbbbb"`), placement)), where).toBe(false);
      }
    }
  });

  it('should reject empty input at any offset of an ArrayBuffer or SharedArrayBuffer', () => {
    for (const buffer of [new ArrayBuffer(7), new SharedArrayBuffer(7), new ArrayBuffer(0)]) {
      for (let byteOffset = 0; byteOffset <= buffer.byteLength; byteOffset++) {
        new Uint8Array(buffer).fill(0x22);
        const sc = new ByteJsonScanner(new Uint8Array(buffer, byteOffset, 0));
        expect(sc.peek()).toBe(-1);
        expect(sc.skipValue(0)).toBe(false);
      }
    }
  });
});
