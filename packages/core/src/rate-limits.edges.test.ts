// Boundary cases of header parsing and merging that mutation testing (docs/mutation.md) found
// unpinned: number forms the fast path hands to the general one, header-record shapes, and the
// instant a window rolls over.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { T0_MS } from '../test/arbitraries.js';
import {
  cappedResetSecs,
  isOnOverage,
  isPlainDecimal,
  isResetBogus,
  mergeRateLimitInfo,
  parseRateLimitHeaders,
  readHeader,
  type HeaderSource,
  type RateLimitInfo,
} from './rate-limits.js';

const U = 'anthropic-ratelimit-unified-';
const UTILIZATION = `${U}5h-utilization`;

/** The utilization header's value as parsed, or undefined when it was dropped. */
function utilizationOf(raw: string): number | undefined {
  return parseRateLimitHeaders({ [UTILIZATION]: raw }, T0_MS)?.utilization5h;
}

/** The documented contract, stated directly: plain decimal notation, finite, not negative. */
function referenceNumber(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

describe('number headers: the general path', () => {
  it.each([
    ['1e3', 1000],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['1e-3', 0.001],
    ['+1e3', 1000],
    ['.5e1', 5],
    ['5.e1', 50],
    ['5.5e1', 55],
    ['1234567890123456789', 1234567890123456800],
    ['0.00000000000000000000001', 1e-23],
  ])('should read %j as %d', (raw, expected) => {
    expect(utilizationOf(raw)).toBe(expected);
  });

  it.each(['', '.', '+', '..5', '.5.', '1e', '1e+', '1e-', 'e3', '.e1', '+.e1', '1ee3', '1e3x', '1e3.5', '1.2.3', '0x10', '0b11', '0o7', '-0', '++1'])(
    'should drop %j',
    (raw) => {
      expect(utilizationOf(raw)).toBeUndefined();
    },
  );

  test.prop([fc.string({ unit: fc.constantFrom('0', '1', '5', '9', '.', '+', '-', 'e', 'E', 'x', 'b', ' '), maxLength: 24 })])(
    'should parse any number-like text exactly as the documented pattern and Number() do',
    (raw) => {
      expect(utilizationOf(raw)).toBe(referenceNumber(raw));
    },
  );
});

describe('isPlainDecimal (the general path\'s syntax check)', () => {
  const PATTERN = /^[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

  it.each(['1', '+1', '1.', '.1', '1.5', '1e3', '1E+3', '1e-3', '.5e1', '5.e1', '+0.0e00'])('should accept %j', (text) => {
    expect(isPlainDecimal(text)).toBe(true);
  });

  it.each(['', '+', '.', '+.', '.e1', '+.e1', '1e', '1e+', '1e-', 'e3', '1ee3', '1e3x', '1e3.5', '1.2.3', '-1', '++1', ' 1', '1 ', '0x10'])(
    'should refuse %j',
    (text) => {
      expect(isPlainDecimal(text)).toBe(false);
    },
  );

  // Called directly, not through Number(), which would hide a check that lets too much through.
  test.prop([fc.string({ unit: fc.constantFrom('0', '7', '.', '+', '-', 'e', 'E', 'x'), maxLength: 12 })])(
    'should answer exactly as the pattern it stands for',
    (text) => {
      expect(isPlainDecimal(text)).toBe(PATTERN.test(text));
    },
  );
});

describe('number headers: the bounds', () => {
  it('should keep a utilization of exactly 0 and a reset at the epoch (the lower bounds are inclusive)', () => {
    expect(parseRateLimitHeaders({ [UTILIZATION]: '0', [`${U}5h-reset`]: '0' }, T0_MS)).toStrictEqual({
      utilization5h: 0,
      reset5hSecs: 0,
      updatedMs: T0_MS,
    });
  });

  it('should keep the largest reset whose milliseconds are a safe integer, and drop the next', () => {
    const largest = Math.floor(Number.MAX_SAFE_INTEGER / 1000);
    expect(parseRateLimitHeaders({ [`${U}7d-reset`]: String(largest) }, T0_MS)?.reset7dSecs).toBe(largest);
    expect(parseRateLimitHeaders({ [`${U}7d-reset`]: String(largest + 1) }, T0_MS)).toBeNull();
  });
});

describe('header sources', () => {
  it('should never throw on a header literally named "undefined"', () => {
    const sources: HeaderSource[] = [{ undefined: '1', [UTILIZATION]: '0.5' }, new Headers({ undefined: '1', [UTILIZATION]: '0.5' })];
    for (const headers of sources) expect(parseRateLimitHeaders(headers, T0_MS)?.utilization5h).toBe(0.5);
  });

  it('should drop a malformed value read through get() as it does from a record', () => {
    expect(parseRateLimitHeaders(new Headers({ [UTILIZATION]: 'abc' }), T0_MS)).toBeNull();
  });

  it('should skip absent values under mixed-case names (as Node leaves them) while folding case', () => {
    const headers = { 'X-Absent': undefined, 'Anthropic-ratelimit-unified-5h-utilization': '0.25', [`${U}7d-utiliZation`]: '0.75' };
    expect(parseRateLimitHeaders(headers, T0_MS)).toStrictEqual({ utilization5h: 0.25, utilization7d: 0.75, updatedMs: T0_MS });
  });
});

describe('plain-record header names', () => {
  it('should fold a name whose only capital is A or Z, or is not ASCII (the Kelvin sign folds to k)', () => {
    expect(readHeader({ 'x-Alpha': '1' }, 'x-alpha')).toBe('1');
    expect(readHeader({ 'x-Zulu': '2' }, 'x-zulu')).toBe('2');
    expect(readHeader({ 'x-\u212Aey': '3' }, 'x-key')).toBe('3');
  });

  it("should list a record's keys once per parse however many headers it lacks", () => {
    let listed = 0;
    const record = new Proxy<Record<string, string>>(
      { 'Content-Type': 'application/json', [UTILIZATION]: '0.5' },
      {
        ownKeys(target) {
          listed++;
          return Reflect.ownKeys(target);
        },
      },
    );
    // Eight of the nine rate-limit headers are absent: each miss consults the case-folded index.
    expect(parseRateLimitHeaders(record, T0_MS)?.utilization5h).toBe(0.5);
    expect(listed).toBe(1);
  });
});

describe('mergeRateLimitInfo: edges', () => {
  it('should roll a window over when the new record arrives exactly at its reset', () => {
    const resetSecs = T0_MS / 1000 + 60;
    const previous: RateLimitInfo = { utilization5h: 0.9, reset5hSecs: resetSecs, status5h: 'rejected', updatedMs: T0_MS };
    const merged = mergeRateLimitInfo(previous, { utilization7d: 0.1, updatedMs: resetSecs * 1000 });
    expect(merged).toStrictEqual({ utilization7d: 0.1, updatedMs: resetSecs * 1000 });
  });

  it('should not let a field that is present but undefined erase the stored one', () => {
    const previous: RateLimitInfo = { utilization5h: 0.4, updatedMs: T0_MS };
    const next = { utilization5h: undefined, updatedMs: T0_MS + 1 } as unknown as RateLimitInfo;
    expect(mergeRateLimitInfo(previous, next)).toStrictEqual({ utilization5h: 0.4, updatedMs: T0_MS + 1 });
  });
});

// The window helpers the router, the stores and the failover policy share (internal exports),
// held to their own documented contracts rather than only through their current callers.
describe('window helpers', () => {
  const NOW_SECS = T0_MS / 1000;

  it('should cap a reset at the window plus the margin after updatedMs, and keep an unknown reset unknown', () => {
    const info: RateLimitInfo = { reset5hSecs: NOW_SECS + 10 * 365 * 86_400, reset7dSecs: NOW_SECS + 3600, updatedMs: T0_MS };
    expect(cappedResetSecs(info, '5h')).toBe(NOW_SECS + 18_000 + 600);
    expect(cappedResetSecs(info, '7d')).toBe(NOW_SECS + 3600);
    expect(cappedResetSecs(info, '5h', 0)).toBe(NOW_SECS + 18_000);
    // Exactly at the cap is not beyond it.
    expect(cappedResetSecs({ reset5hSecs: NOW_SECS + 18_600, updatedMs: T0_MS }, '5h')).toBe(NOW_SECS + 18_600);
    expect(cappedResetSecs({ updatedMs: T0_MS }, '5h')).toBeUndefined();
    expect(cappedResetSecs({ reset5hSecs: NOW_SECS, updatedMs: T0_MS }, '7d')).toBeUndefined();
  });

  it('should call a reset bogus only for the window it lies beyond', () => {
    const weeklyBogus: RateLimitInfo = { reset5hSecs: NOW_SECS + 600, reset7dSecs: NOW_SECS + 30 * 86_400, updatedMs: T0_MS };
    expect(isResetBogus(weeklyBogus, '7d')).toBe(true);
    expect(isResetBogus(weeklyBogus, '5h')).toBe(false);
    const sane: RateLimitInfo = { reset5hSecs: NOW_SECS + 600, reset7dSecs: NOW_SECS + 86_400, updatedMs: T0_MS };
    expect(isResetBogus(sane, '7d')).toBe(false);
    expect(isResetBogus({ updatedMs: T0_MS }, '7d')).toBe(false);
  });

  it('should be on overage only while overage is allowed and some window is rejected', () => {
    const rejected7d: RateLimitInfo = { status7d: 'rejected', reset7dSecs: NOW_SECS + 3600, overageStatus: 'allowed', updatedMs: T0_MS };
    expect(isOnOverage(rejected7d, T0_MS)).toBe(true);
    expect(isOnOverage({ ...rejected7d, overageStatus: 'allowed_warning' }, T0_MS)).toBe(true);
    expect(isOnOverage({ ...rejected7d, overageStatus: 'rejected' }, T0_MS)).toBe(false);
    expect(isOnOverage({ ...rejected7d, status7d: 'allowed' }, T0_MS)).toBe(false);
    expect(isOnOverage(rejected7d, (NOW_SECS + 3600) * 1000)).toBe(false);
  });
});
