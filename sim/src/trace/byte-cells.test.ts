import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  NOT_PLAIN,
  TextCache,
  countFromBytes,
  epochSecsFromBytes,
  httpStatusFromBytes,
  textFromBytes,
  timestampFromBytes,
  utilizationFromBytes,
  windowStatusFromBytes,
} from './byte-cells.js';
import { INVALID, parseCell } from './cells.js';
import { WINDOW_STATUSES } from './columns.js';

const NUMERIC_READERS = {
  count: countFromBytes,
  httpStatus: httpStatusFromBytes,
  epochSecs: epochSecsFromBytes,
  timestamp: timestampFromBytes,
  utilization: utilizationFromBytes,
} as const;

type NumericKind = keyof typeof NUMERIC_READERS;
const numericKind = fc.constantFrom(...(Object.keys(NUMERIC_READERS) as NumericKind[]));

/** `text` in the middle of a larger buffer, as cells are. */
function inBuffer(text: string): { buf: Buffer; start: number; end: number } {
  const bytes = Buffer.from(text);
  return { buf: Buffer.concat([Buffer.from('9,'), bytes, Buffer.from(',9')]), start: 2, end: 2 + bytes.length };
}

/** Valid ISO timestamps with milliseconds and `Z`, from year 1000 on. */
const isoMillis = fc.date({ min: new Date('1000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString());

/** `YYYY-MM-DDT12:34:56.789Z`, the day perhaps past the month's end. */
function isoDate([year, month, day]: [number, number, number]): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T12:34:56.789Z`;
}

/** Strings near the shapes the byte readers know: digits and the punctuation of numbers and timestamps. */
const nearMisses = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'0123456789.-:TZeE+ x'), maxLength: 26 }),
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 18, size: 'max' }),
  fc.string({ unit: fc.constantFrom(...'0123456789.'), minLength: 1, maxLength: 18, size: 'max' }),
  fc.tuple(isoMillis, fc.nat(23), fc.constantFrom(...'0123456789-:.TZz+')).map(([iso, at, char]) => iso.slice(0, at) + char + iso.slice(at + 1)),
);

/** What the byte readers must take without the string path: what recorders write. */
const recorded: Record<NumericKind, fc.Arbitrary<string>> = {
  count: fc.nat().map(String),
  httpStatus: fc.integer({ min: 100, max: 599 }).map(String),
  epochSecs: fc.integer({ min: 0, max: 99_999_999_999 }).map(String),
  timestamp: fc.oneof(
    isoMillis,
    fc.integer({ min: 1e11, max: 999_999_999_999_999 }).map(String),
  ),
  utilization: fc
    .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.nat(7))
    .map(([mantissa, places]) => (places === 0 ? String(mantissa) : (mantissa / 10 ** places).toFixed(places))),
};

describe('byte cell readers', () => {
  test.prop([numericKind, nearMisses], { numRuns: 2_000 })(
    "should give parseCell's value or leave the cell to parseCell",
    (kind, text) => {
      const { buf, start, end } = inBuffer(text);
      const value = NUMERIC_READERS[kind](buf, start, end);
      if (value !== NOT_PLAIN) expect(value).toBe(parseCell(kind, text));
    },
  );

  test.prop([numericKind.chain((kind) => fc.tuple(fc.constant(kind), recorded[kind]))], { numRuns: 1_000 })(
    'should read what recorders write without the string path',
    ([kind, text]) => {
      const { buf, start, end } = inBuffer(text);
      expect(parseCell(kind, text)).not.toBe(INVALID);
      expect(NUMERIC_READERS[kind](buf, start, end)).toBe(parseCell(kind, text));
    },
  );

  test.prop([fc.oneof(isoMillis, fc.tuple(fc.integer({ min: 1000, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 28, max: 31 })).map(isoDate))], {
    numRuns: 1_000,
  })('should read a recorder timestamp as Date.parse does, the last days of months included', (text) => {
    const { buf, start, end } = inBuffer(text);
    const value = timestampFromBytes(buf, start, end);
    const parsed = Date.parse(text);
    if (value !== NOT_PLAIN) expect(value).toBe(parsed);
    expect(parseCell('timestamp', text)).toBe(parsed);
  });

  test.prop([fc.oneof(fc.constantFrom(...WINDOW_STATUSES), fc.constantFrom('allowe', 'allowed ', 'Allowed', 'rejected_', 'allowed_warninG', ''), fc.string())])(
    'should recognise exactly the known window statuses',
    (text) => {
      const { buf, start, end } = inBuffer(text);
      const status = windowStatusFromBytes(buf, start, end);
      expect(status).toBe(WINDOW_STATUSES.includes(text) ? text : undefined);
    },
  );

  test.prop([fc.uint8Array({ maxLength: 40 })])('should decode text as UTF-8, invalid sequences included', (bytes) => {
    const buf = Buffer.from(bytes);
    const ascii = bytes.every((byte) => byte < 0x80);
    expect(textFromBytes(buf, 0, buf.length, ascii)).toBe(buf.toString('utf8'));
  });

  test.prop([fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'ë', '日', '🙂'), maxLength: 4 }), { maxLength: 80 })])(
    'should give every cell its own text from a TextCache, past its capacity and with the buffer reused',
    (values) => {
      const cache = new TextCache();
      const buf = Buffer.alloc(64);
      for (const value of values) {
        const length = buf.write(value, 5);
        expect(cache.text(buf, 5, 5 + length, /^[\x00-\x7f]*$/.test(value))).toBe(value);
        buf.fill(0x61); // the next chunk lands in memory the cache must not depend on
      }
    },
  );
});
