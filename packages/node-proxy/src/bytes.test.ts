import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { asksForOneHourCache, bytesAt, includesBytes, includesFinder, indexOfByte, lastIndexFinder, lastLineBreak } from './bytes.js';

// Lengths on both sides of the switch to the native search, and bytes drawn from a small alphabet so
// that patterns and line breaks occur.
const bytes = fc.uint8Array({ maxLength: 1200 }).map((b) => b.map((x) => [0x0a, 0x0d, 0x61, 0x62, 0x65, 0x72][x % 6] as number));

describe('byte searches', () => {
  test.prop([bytes, fc.constantFrom(0x0a, 0x0d, 0x61), fc.nat({ max: 1300 })])('should find a byte where Buffer#indexOf does', (b, byte, from) => {
    expect(indexOfByte(b, byte, Math.min(from, b.length))).toBe(Buffer.from(b).indexOf(byte, Math.min(from, b.length)));
  });

  test.prop([bytes])('should find the last line break where Buffer#lastIndexOf does', (b) => {
    const buffer = Buffer.from(b);
    expect(lastLineBreak(b)).toBe(Math.max(buffer.lastIndexOf(0x0a), buffer.lastIndexOf(0x0d)));
  });

  test.prop([bytes, fc.constantFrom('error', 'ab', 'r', 'rere\n')])('should find a pattern where Buffer#includes does', (b, pattern) => {
    expect(includesBytes(b, Buffer.from(pattern))).toBe(Buffer.from(b).includes(pattern));
  });

  // Patterns that repeat their own bytes (`aaa`, `erre`) test the steps over windows.
  const pattern = fc.oneof(fc.constantFrom('error', 'ab', 'r', 'rere\n', 'aaa', 'erre', 'bea').map((p) => Buffer.from(p)), bytes.filter((b) => b.length > 0).map((b) => b.subarray(0, 7)));
  // The pattern planted a few bytes before the end, where a step too long passes over it.
  const planted = fc.tuple(bytes, pattern, fc.nat({ max: 6 })).map(([b, p, tail]) => ({ p, b: Buffer.concat([b, p, b.subarray(0, tail)]) }));
  test.prop([fc.oneof(fc.tuple(bytes, pattern).map(([b, p]) => ({ b, p })), planted)])('should find a pattern anywhere where Buffer#includes does', ({ b, p }) => {
    expect(includesFinder(p)(b)).toBe(Buffer.from(b).includes(Buffer.from(p)));
  });

  test.prop([fc.oneof(fc.tuple(bytes, pattern).map(([b, p]) => ({ b, p })), planted)])('should find the last pattern where Buffer#lastIndexOf does', ({ b, p }) => {
    expect(lastIndexFinder(p)(b)).toBe(Buffer.from(b).lastIndexOf(Buffer.from(p)));
  });

  it('should find the last pattern on either side of where the plain loop hands over to the native search', () => {
    const p = Buffer.from('"usage"');
    for (const length of [520, 600, 1200]) {
      for (let at = Math.max(0, length - 512 - p.length - 2); at <= length - 512 + 2; at++) {
        const b = Buffer.alloc(length, 0x61);
        p.copy(b, at);
        expect(lastIndexFinder(p)(b)).toBe(at);
      }
    }
  });

  test.prop([bytes, fc.nat({ max: 1300 }), fc.uint8Array({ minLength: 1, maxLength: 4 })])('should say whether a pattern sits at an offset', (b, offset, pattern) => {
    const at = Math.min(offset, b.length);
    expect(bytesAt(b, at, pattern)).toBe(Buffer.from(b).subarray(at, at + pattern.length).equals(pattern));
  });
});

describe('asksForOneHourCache', () => {
  // JSON text around a ttl value: keys, values and whitespace that make near misses likely.
  const piece = fc.constantFrom('"ttl"', '"1h"', '"5m"', ':', ' ', '\n', '\t', ',', '{', '}', '"x"', '"ttl":', 'ttl', '1h', '"');
  const text = fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(''));

  test.prop([text, fc.nat({ max: 2000 })])('should say what a regular expression over the text says', (t, padding) => {
    // Padded past the native-search threshold half of the time.
    const body = Buffer.from(`${'a'.repeat(padding % 2 === 0 ? padding : 0)}${t}`);
    expect(asksForOneHourCache(body)).toBe(/"ttl"[ \t\n\r]*:[ \t\n\r]*"1h"/.test(body.toString()));
  });

  test('should find the spellings JSON.stringify and pretty printers write, and nothing else', () => {
    const cached = { system: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral', ttl: '1h' } }] };
    expect(asksForOneHourCache(Buffer.from(JSON.stringify(cached)))).toBe(true);
    expect(asksForOneHourCache(Buffer.from(JSON.stringify(cached, null, 2)))).toBe(true);
    expect(asksForOneHourCache(Buffer.from('{"ttl" :\n "1h"}'))).toBe(true);
    expect(asksForOneHourCache(Buffer.from('{"ttl":"5m","note":"1h"}'))).toBe(false);
    expect(asksForOneHourCache(Buffer.from('{"xttl":"1h"}'))).toBe(false);
    expect(asksForOneHourCache(Buffer.from('"1h"'))).toBe(false);
  });
});
