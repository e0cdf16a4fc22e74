import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  arbHeaderRecord,
  arbRateLimitInfo,
  headerShapes,
  rateLimitHeadersOf,
  T0_MS,
} from '../test/arbitraries.js';
import {
  hasRateLimitHeaders,
  isWindowExhausted,
  mergeRateLimitInfo,
  parseRateLimitHeaders,
  parseShortDecimal,
  readHeader,
  type RateLimitInfo,
} from './rate-limits.js';

const NOW = T0_MS;
const NOW_SECS = NOW / 1000;
/** `n` property runs at the default of 100, scaled with FC_NUM_RUNS. */
const runs = (n: number): number => Math.max(1, Math.round((n * (fc.readConfigureGlobal().numRuns ?? 100)) / 100));

/** A full set of headers as a real Claude subscription response carries them (shape from captures). */
const CAPTURED: Readonly<Record<string, string>> = {
  'anthropic-ratelimit-unified-status': 'allowed',
  'anthropic-ratelimit-unified-reset': String(NOW_SECS + 7200),
  'anthropic-ratelimit-unified-representative-claim': 'five_hour',
  'anthropic-ratelimit-unified-fallback-percentage': '0.5',
  'anthropic-ratelimit-unified-upgrade-paths': 'max_20x',
  'anthropic-ratelimit-unified-5h-status': 'allowed',
  'anthropic-ratelimit-unified-5h-reset': String(NOW_SECS + 7200),
  'anthropic-ratelimit-unified-5h-utilization': '0.42',
  'anthropic-ratelimit-unified-5h-surpassed-threshold': '0.25',
  'anthropic-ratelimit-unified-7d-status': 'allowed_warning',
  'anthropic-ratelimit-unified-7d-reset': String(NOW_SECS + 300_000),
  'anthropic-ratelimit-unified-7d-utilization': '0.81',
  'anthropic-ratelimit-unified-7d-surpassed-threshold': '0.75',
  'anthropic-ratelimit-unified-7d_oi-status': 'rejected',
  'anthropic-ratelimit-unified-7d_oi-reset': String(NOW_SECS + 10),
  'anthropic-ratelimit-unified-7d_oi-utilization': '1.2',
  'anthropic-ratelimit-unified-overage-status': 'rejected',
  'anthropic-ratelimit-unified-overage-disabled-reason': 'org_level_disabled',
  'content-type': 'text/event-stream',
};

const CAPTURED_INFO: RateLimitInfo = {
  utilization5h: 0.42,
  reset5hSecs: NOW_SECS + 7200,
  status5h: 'allowed',
  utilization7d: 0.81,
  reset7dSecs: NOW_SECS + 300_000,
  status7d: 'allowed_warning',
  overageStatus: 'rejected',
  overageDisabledReason: 'org_level_disabled',
  representativeClaim: 'five_hour',
  updatedMs: NOW,
};

const U = 'anthropic-ratelimit-unified-';

describe('parseRateLimitHeaders', () => {
  it.each(headerShapes(CAPTURED))('should read every field of a captured response from a $shape', ({ headers }) => {
    expect(parseRateLimitHeaders(headers, NOW)).toStrictEqual(CAPTURED_INFO);
  });

  it('should ignore the 7d_oi window, surpassed-threshold, fallback-percentage and upgrade-paths', () => {
    const onlyIgnored = {
      [`${U}7d_oi-status`]: 'rejected',
      [`${U}7d_oi-reset`]: String(NOW_SECS + 10),
      [`${U}7d_oi-utilization`]: '1.2',
      [`${U}5h-surpassed-threshold`]: '0.25',
      [`${U}fallback-percentage`]: '0.5',
      [`${U}upgrade-paths`]: 'max_20x',
    };
    expect(parseRateLimitHeaders(onlyIgnored, NOW)).toBeNull();
  });

  it('should ignore the aggregate unified status and reset (routing reads the per-window ones)', () => {
    expect(parseRateLimitHeaders({ [`${U}status`]: 'rejected', [`${U}reset`]: String(NOW_SECS + 60) }, NOW)).toBeNull();
  });

  it('should return null when no unified header is present', () => {
    expect(parseRateLimitHeaders({}, NOW)).toBeNull();
    expect(parseRateLimitHeaders(new Headers({ 'retry-after': '30', 'x-ratelimit-remaining-tokens': '5' }), NOW)).toBeNull();
  });

  it('should return null when every unified header is malformed', () => {
    expect(parseRateLimitHeaders({ [`${U}5h-utilization`]: 'abc', [`${U}5h-status`]: '  ' }, NOW)).toBeNull();
  });

  it('should keep a utilization above 1.0 as reported (seen: 1.01)', () => {
    expect(parseRateLimitHeaders({ [`${U}5h-utilization`]: '1.01' }, NOW)).toStrictEqual({ utilization5h: 1.01, updatedMs: NOW });
  });

  it('should stamp the record with the given time', () => {
    expect(parseRateLimitHeaders({ [`${U}5h-status`]: 'allowed' }, 12_345)?.updatedMs).toBe(12_345);
  });

  it('should read a partial set of headers and leave the other fields out', () => {
    // A real exhausted-window 429 may carry only the per-window headers of one window.
    const info = parseRateLimitHeaders({ [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 3600) }, NOW);
    expect(info).toStrictEqual({ status7d: 'rejected', reset7dSecs: NOW_SECS + 3600, updatedMs: NOW });
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['a word', 'abc'],
    ['hexadecimal', '0x10'],
    ['negative', '-0.1'],
    ['infinite', '1e400'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['a decimal comma', '0,5'],
    ['trailing junk', '0.5abc'],
    ['two values', '0.5, 0.6'],
  ])('should drop a utilization that is %s and keep the other fields', (_, raw) => {
    const info = parseRateLimitHeaders({ [`${U}5h-utilization`]: raw, [`${U}5h-status`]: 'allowed' }, NOW);
    expect(info).toStrictEqual({ status5h: 'allowed', updatedMs: NOW });
  });

  it.each([
    ['fractional', '1767225600.5'],
    ['negative', '-1767225600'],
    ['a date string', 'Thu, 01 Jan 2026 00:00:00 GMT'],
    ['too large to be milliseconds', '9e307'],
    ['past the safe-integer range in milliseconds', String(Math.floor(Number.MAX_SAFE_INTEGER / 1000) + 1)],
  ])('should drop a reset that is %s and keep the other fields', (_, raw) => {
    const info = parseRateLimitHeaders({ [`${U}7d-reset`]: raw, [`${U}7d-utilization`]: '0.3' }, NOW);
    expect(info).toStrictEqual({ utilization7d: 0.3, updatedMs: NOW });
  });

  it('should accept surrounding whitespace, a plus sign and exponents in numbers', () => {
    const info = parseRateLimitHeaders(
      { [`${U}5h-utilization`]: ' +0.25 ', [`${U}5h-reset`]: '1.7672256e9', [`${U}7d-utilization`]: '.5' },
      NOW,
    );
    expect(info).toStrictEqual({ utilization5h: 0.25, reset5hSecs: 1_767_225_600, utilization7d: 0.5, updatedMs: NOW });
  });

  it('should trim a status and keep an unknown status string as-is', () => {
    const info = parseRateLimitHeaders({ [`${U}5h-status`]: ' rejected ', [`${U}7d-status`]: 'brand_new_status' }, NOW);
    expect(info).toStrictEqual({ status5h: 'rejected', status7d: 'brand_new_status', updatedMs: NOW });
  });

  it('should match names case-insensitively in a record with mixed-case keys', () => {
    const info = parseRateLimitHeaders(
      { 'Anthropic-RateLimit-Unified-5h-Utilization': '0.7', 'ANTHROPIC-RATELIMIT-UNIFIED-5H-STATUS': 'allowed' },
      NOW,
    );
    expect(info).toStrictEqual({ utilization5h: 0.7, status5h: 'allowed', updatedMs: NOW });
  });

  it('should read a single-element array value as that value (Node repeated-header form)', () => {
    const info = parseRateLimitHeaders({ [`${U}5h-status`]: ['rejected'], [`${U}5h-reset`]: [String(NOW_SECS)] }, NOW);
    expect(info).toStrictEqual({ status5h: 'rejected', reset5hSecs: NOW_SECS, updatedMs: NOW });
  });

  it('should skip undefined record values (Node leaves absent headers undefined)', () => {
    const info = parseRateLimitHeaders({ [`${U}5h-status`]: undefined, [`${U}7d-status`]: 'allowed' }, NOW);
    expect(info).toStrictEqual({ status7d: 'allowed', updatedMs: NOW });
  });

  it('should read numeric record values', () => {
    expect(parseRateLimitHeaders({ [`${U}5h-reset`]: NOW_SECS }, NOW)).toStrictEqual({ reset5hSecs: NOW_SECS, updatedMs: NOW });
  });

  test.prop([arbHeaderRecord, fc.integer()])('should never throw on arbitrary header names and values', (record, nowMs) => {
    const info = parseRateLimitHeaders(record, nowMs);
    if (info === null) return;
    expect(info.updatedMs).toBe(nowMs);
    for (const key of ['utilization5h', 'reset5hSecs', 'utilization7d', 'reset7dSecs'] as const) {
      const value = info[key];
      if (value !== undefined) expect(Number.isFinite(value) && value >= 0).toBe(true);
    }
  });

  test.prop([fc.dictionary(fc.string(), fc.string())])('should never throw on a record of arbitrary strings', (record) => {
    const info = parseRateLimitHeaders(record, NOW);
    expect(info === null || info.updatedMs === NOW).toBe(true);
  });

  test.prop([arbRateLimitInfo(NOW)])('should read back exactly the record its headers were written from', (info) => {
    const headers = rateLimitHeadersOf(info);
    const expected = Object.keys(headers).length === 0 ? null : info;
    expect(parseRateLimitHeaders(headers, NOW)).toStrictEqual(expected);
    expect(parseRateLimitHeaders(new Headers(headers), NOW)).toStrictEqual(expected);
  });
});

describe('parseShortDecimal (the fast path of number headers)', () => {
  /** Digit strings with zeros over-represented, so leading and trailing zeros are common. */
  const arbDigits = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
    fc.string({ unit: fc.constantFrom('0', '0', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), minLength, maxLength, size: 'max' });

  /** `digits` with an optional `+` and a decimal point anywhere or nowhere (`.5` and `5.` included). */
  const withSignAndPoint = (digits: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .tuple(fc.constantFrom('', '', '+'), digits, fc.option(fc.nat(), { nil: undefined }))
      .map(([sign, d, point]) => {
        if (point === undefined) return sign + d;
        const at = point % (d.length + 1);
        return `${sign}${d.slice(0, at)}.${d.slice(at)}`;
      });

  const arbZeros = fc.string({ unit: fc.constant('0'), maxLength: 8 });

  /** Plain decimals of 1–30 digits, and ones around the fast path's limit of 15 significant digits. */
  const arbDecimalText = fc.oneof(
    withSignAndPoint(arbDigits(1, 30)),
    withSignAndPoint(
      fc
        .tuple(arbZeros, fc.integer({ min: 1, max: 9 }), arbDigits(0, 14), arbZeros)
        .map(([leading, first, rest, trailing]) => `${leading}${first}${rest}${trailing}`),
    ),
  );

  it.each([
    ['1767600642', 1_767_600_642],
    ['0.4712', 0.4712],
    ['+0.25', 0.25],
    ['.5', 0.5],
    ['5.', 5],
    ['0', 0],
    ['000.000', 0],
    ['999999999999999', 999_999_999_999_999],
    ['0.0000000000000000000001', 1e-22],
  ])('should read %s as Number does', (text, expected) => {
    expect(parseShortDecimal(text)).toBe(expected);
  });

  it.each([
    ['empty', ''],
    ['a lone sign', '+'],
    ['a lone point', '.'],
    ['negative', '-1'],
    ['an exponent', '1.7672256e9'],
    ['two points', '1.2.3'],
    ['whitespace', ' 1'],
    ['16 significant digits', '1234567890123456'],
    ['23 fraction digits', '0.00000000000000000000001'],
  ])('should leave %s to the general parse', (_, text) => {
    expect(parseShortDecimal(text)).toBeUndefined();
  });

  test.prop([arbDecimalText], { numRuns: runs(2000) })('should be exactly Number(text) whenever it answers', (text) => {
    const value = parseShortDecimal(text);
    if (value !== undefined) expect(Object.is(value, Number(text)), `${text} → ${value}, Number: ${Number(text)}`).toBe(true);
  });

  test.prop([arbDecimalText], { numRuns: runs(2000) })(
    'should answer for every plain decimal of at most 15 significant and 22 fraction digits',
    (text) => {
      const digits = text.replace(/[^0-9]/g, '');
      const significant = digits.replace(/^0+/, '').length;
      const point = text.indexOf('.');
      const fractionDigits = point < 0 ? 0 : text.length - point - 1;
      expect(parseShortDecimal(text) !== undefined).toBe(significant <= 15 && fractionDigits <= 22);
    },
  );

  /** The number rule parseRateLimitHeaders has always applied, written the obvious way. */
  const referenceNumber = (raw: string): number | undefined => {
    const text = raw.trim();
    if (!/^[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return undefined;
    const value = Number(text);
    return Number.isFinite(value) ? value : undefined;
  };
  const arbHeaderNumber = fc
    .tuple(fc.constantFrom('', ' '), fc.oneof(arbDecimalText, fc.constantFrom('', '-1', '0x10', '1e400', 'NaN')), fc.constantFrom('', '', 'e3', 'E-2', 'x', ' '))
    .map((parts) => parts.join(''));

  test.prop([arbHeaderNumber], { numRuns: runs(2000) })('should leave what parseRateLimitHeaders reads unchanged', (text) => {
    const value = referenceNumber(text);
    const expected: Record<string, number> = {};
    if (value !== undefined && value >= 0) expected['utilization5h'] = value;
    if (value !== undefined && value >= 0 && Number.isInteger(value) && value <= Math.floor(Number.MAX_SAFE_INTEGER / 1000)) {
      expected['reset5hSecs'] = value;
    }
    const headers = { [`${U}5h-utilization`]: text, [`${U}5h-reset`]: text };
    const info = parseRateLimitHeaders(headers, NOW);
    expect(info).toStrictEqual(Object.keys(expected).length === 0 ? null : { updatedMs: NOW, ...expected });
    expect(parseRateLimitHeaders(new Headers(headers), NOW)).toStrictEqual(info);
  });
});

describe('mergeRateLimitInfo', () => {
  const previous: RateLimitInfo = {
    utilization5h: 0.4,
    reset5hSecs: NOW_SECS + 3600,
    status5h: 'allowed',
    utilization7d: 0.6,
    reset7dSecs: NOW_SECS + 86_400,
    status7d: 'allowed',
    overageStatus: 'rejected',
    updatedMs: NOW - 1000,
  };

  it('should keep the fields a partial record lacks and take the ones it has', () => {
    const next: RateLimitInfo = { status7d: 'rejected', reset7dSecs: NOW_SECS + 90_000, updatedMs: NOW };
    expect(mergeRateLimitInfo(previous, next)).toStrictEqual({
      ...previous,
      status7d: 'rejected',
      reset7dSecs: NOW_SECS + 90_000,
      updatedMs: NOW,
    });
  });

  it('should return a copy of next when there is no previous record', () => {
    const next: RateLimitInfo = { utilization5h: 0.1, updatedMs: NOW };
    for (const none of [undefined, null]) {
      const merged = mergeRateLimitInfo(none, next);
      expect(merged).toStrictEqual(next);
      expect(merged).not.toBe(next);
    }
  });

  it('should not modify its inputs', () => {
    const prev = { ...previous };
    const next: RateLimitInfo = { utilization5h: 0.9, updatedMs: NOW };
    mergeRateLimitInfo(prev, next);
    expect(prev).toStrictEqual(previous);
    expect(next).toStrictEqual({ utilization5h: 0.9, updatedMs: NOW });
  });

  it('should drop a window whose reset had passed when next was received', () => {
    const stale: RateLimitInfo = { utilization5h: 1, reset5hSecs: NOW_SECS - 10, status5h: 'rejected', updatedMs: NOW - 60_000 };
    // A partial record with only the new window's reset must not revive the old `rejected`.
    const merged = mergeRateLimitInfo(stale, { reset5hSecs: NOW_SECS + 18_000, updatedMs: NOW });
    expect(merged).toStrictEqual({ reset5hSecs: NOW_SECS + 18_000, updatedMs: NOW });
    expect(isWindowExhausted(merged, '5h', NOW)).toBe(false);
  });

  it('should drop a rolled-over window at exactly its reset, and keep the other window', () => {
    const stale: RateLimitInfo = { utilization7d: 0.9, reset7dSecs: NOW_SECS, status7d: 'allowed', utilization5h: 0.2, reset5hSecs: NOW_SECS + 1, updatedMs: 0 };
    expect(mergeRateLimitInfo(stale, { utilization7d: 0.01, updatedMs: NOW })).toStrictEqual({
      utilization7d: 0.01,
      utilization5h: 0.2,
      reset5hSecs: NOW_SECS + 1,
      updatedMs: NOW,
    });
  });

  test.prop([arbRateLimitInfo(NOW - 3_600_000), arbRateLimitInfo(NOW)])(
    'should merge field by field, dropping only windows that had rolled over',
    (prev, next) => {
      const merged = mergeRateLimitInfo(prev, next);
      const rolledOver = (resetSecs: number | undefined): boolean => resetSecs !== undefined && resetSecs * 1000 <= next.updatedMs;
      const windowOf = (key: string): '5h' | '7d' | null => (key.includes('5h') ? '5h' : key.includes('7d') ? '7d' : null);
      const keys = new Set([...Object.keys(prev), ...Object.keys(next)]) as Set<keyof RateLimitInfo>;
      for (const key of keys) {
        const window = windowOf(key);
        const stale = window !== null && rolledOver(window === '5h' ? prev.reset5hSecs : prev.reset7dSecs);
        const expected = next[key] !== undefined ? next[key] : stale ? undefined : prev[key];
        expect(merged[key], key).toBe(expected);
      }
      for (const key of Object.keys(merged)) expect(keys.has(key as keyof RateLimitInfo)).toBe(true);
    },
  );

  test.prop([arbRateLimitInfo(NOW), arbRateLimitInfo(NOW + 1)])(
    'should keep every field of previous that next lacks when no window has rolled over',
    (prev, next) => {
      fc.pre((prev.reset5hSecs ?? Infinity) * 1000 > next.updatedMs && (prev.reset7dSecs ?? Infinity) * 1000 > next.updatedMs);
      const merged = mergeRateLimitInfo(prev, next);
      for (const key of Object.keys(prev) as Array<keyof RateLimitInfo>) {
        expect(merged[key]).toBe(next[key] ?? prev[key]);
      }
    },
  );

  test.prop([arbRateLimitInfo(NOW)])('should deep-equal next when merged into nothing', (next) => {
    expect(mergeRateLimitInfo(undefined, next)).toStrictEqual(next);
  });
});

describe('isWindowExhausted', () => {
  it.each(['rejected', 'exhausted'])('should be true for status %s with a reset ahead', (status) => {
    expect(isWindowExhausted({ status5h: status, reset5hSecs: NOW_SECS + 1, updatedMs: NOW }, '5h', NOW)).toBe(true);
    expect(isWindowExhausted({ status7d: status, reset7dSecs: NOW_SECS + 1, updatedMs: NOW }, '7d', NOW)).toBe(true);
  });

  it.each(['allowed', 'allowed_warning', 'Rejected', 'something_new'])('should be false for status %s', (status) => {
    expect(isWindowExhausted({ status5h: status, reset5hSecs: NOW_SECS + 3600, updatedMs: NOW }, '5h', NOW)).toBe(false);
  });

  it('should be false once the reset is reached', () => {
    const info: RateLimitInfo = { status5h: 'rejected', reset5hSecs: NOW_SECS, updatedMs: NOW };
    expect(isWindowExhausted(info, '5h', NOW - 1)).toBe(true);
    expect(isWindowExhausted(info, '5h', NOW)).toBe(false);
    expect(isWindowExhausted(info, '5h', NOW + 1)).toBe(false);
  });

  it('should be false for a rejected window without a reset', () => {
    expect(isWindowExhausted({ status7d: 'rejected', updatedMs: NOW }, '7d', NOW)).toBe(false);
  });

  it('should look only at the window asked about', () => {
    const info: RateLimitInfo = { status7d: 'rejected', reset7dSecs: NOW_SECS + 60, status5h: 'allowed', reset5hSecs: NOW_SECS + 60, updatedMs: NOW };
    expect(isWindowExhausted(info, '7d', NOW)).toBe(true);
    expect(isWindowExhausted(info, '5h', NOW)).toBe(false);
  });
});

describe('hasRateLimitHeaders', () => {
  it.each([
    ['a unified header', { [`${U}5h-utilization`]: '0.1' }],
    ['an aggregate unified header', { [`${U}status`]: 'allowed' }],
    ['a classic Anthropic rate-limit header', { 'anthropic-ratelimit-requests-remaining': '10' }],
    ['an OpenAI-style header', { 'x-ratelimit-remaining-tokens': '100' }],
    ['a mixed-case name', { 'X-RateLimit-Limit-Tokens': '100' }],
  ])('should be true for %s', (_, record) => {
    expect(hasRateLimitHeaders(record)).toBe(true);
    expect(hasRateLimitHeaders(new Headers(record))).toBe(true);
  });

  it('should be false for a request-scoped 429 that carries only x-should-retry', () => {
    const record = { 'x-should-retry': 'true', 'retry-after': '3', 'content-type': 'application/json' };
    expect(hasRateLimitHeaders(record)).toBe(false);
    expect(hasRateLimitHeaders(new Headers(record))).toBe(false);
  });

  it('should be false for no headers, and for a getter-only source it cannot list', () => {
    expect(hasRateLimitHeaders({})).toBe(false);
    expect(hasRateLimitHeaders(new Headers())).toBe(false);
    expect(hasRateLimitHeaders({ get: (name: string) => (name === `${U}5h-status` ? 'allowed' : null) })).toBe(false);
  });
});

describe('readHeader', () => {
  it('should read fetch Headers case-insensitively', () => {
    expect(readHeader(new Headers({ 'Retry-After': '30' }), 'RETRY-AFTER')).toBe('30');
  });

  it('should read a record case-insensitively both ways', () => {
    expect(readHeader({ 'retry-after': '30' }, 'Retry-After')).toBe('30');
    expect(readHeader({ 'Retry-After': '30' }, 'retry-after')).toBe('30');
    expect(readHeader({ 'RETRY-after': '30' }, 'Retry-AFTER')).toBe('30');
  });

  it('should join repeated values with ", " as fetch does', () => {
    const headers = new Headers();
    headers.append('x-multi', 'a');
    headers.append('x-multi', 'b');
    expect(readHeader(headers, 'x-multi')).toBe('a, b');
    expect(readHeader({ 'x-multi': ['a', 'b'] }, 'x-multi')).toBe('a, b');
    expect(readHeader({ 'X-Multi': ['a', 'b'] }, 'x-multi')).toBe('a, b');
  });

  it('should turn a number into its string', () => {
    expect(readHeader({ 'content-length': 42 }, 'Content-Length')).toBe('42');
  });

  it('should return undefined when the header is absent or undefined', () => {
    expect(readHeader({}, 'retry-after')).toBeUndefined();
    expect(readHeader({ 'retry-after': undefined }, 'retry-after')).toBeUndefined();
    expect(readHeader(new Headers(), 'retry-after')).toBeUndefined();
  });

  it('should not read inherited properties of a plain record', () => {
    expect(readHeader({}, 'constructor')).toBeUndefined();
    expect(readHeader({}, '__proto__')).toBeUndefined();
    expect(readHeader({}, 'hasOwnProperty')).toBeUndefined();
  });

  it('should return an empty value as the empty string', () => {
    expect(readHeader({ 'x-empty': '' }, 'x-empty')).toBe('');
    expect(readHeader(new Headers({ 'x-empty': '' }), 'x-empty')).toBe('');
  });
});
