// The readings behind the optional StateStore methods, held to their contracts directly: the
// stores that answer with them only ever show a few of these cases (docs/mutation.md).
import { describe, expect, it } from 'vitest';
import type { RateLimitInfo } from '../rate-limits.js';
import { isExhaustedAt, resetSecsAt, utilizationAt } from './readings.js';

const NOW_MS = Date.UTC(2026, 0, 1);
const NOW_SECS = NOW_MS / 1000;
const HOUR = 3600;

/** A record received now. */
function info(fields: Omit<RateLimitInfo, 'updatedMs'>): RateLimitInfo {
  return { ...fields, updatedMs: NOW_MS };
}

/** A record whose `window` is rejected until an hour from now, at `utilization`, with `overageStatus`. */
function rejected(window: '5h' | '7d', utilization: number, overageStatus?: string): RateLimitInfo {
  const fields =
    window === '5h'
      ? { status5h: 'rejected', utilization5h: utilization, reset5hSecs: NOW_SECS + HOUR }
      : { status7d: 'rejected', utilization7d: utilization, reset7dSecs: NOW_SECS + HOUR };
  return info({ ...fields, ...(overageStatus === undefined ? {} : { overageStatus }) } as Omit<RateLimitInfo, 'updatedMs'>);
}

describe.each(['5h', '7d'] as const)('utilizationAt (%s)', (window) => {
  it.each(['allowed', 'allowed_warning'])('should read a rejected window served on overage (%s) as full', (overage) => {
    expect(utilizationAt(rejected(window, 0.97, overage), window, NOW_MS)).toBe(1);
    expect(isExhaustedAt(rejected(window, 0.97, overage), NOW_MS)).toBe(false);
  });

  it('should keep a reading above 1 as it is', () => {
    expect(utilizationAt(rejected(window, 1.25, 'allowed'), window, NOW_MS)).toBe(1.25);
  });

  it.each([['rejected'], [undefined]])('should not round a rejected window up when overage is %s (it is exhausted instead)', (overage) => {
    expect(utilizationAt(rejected(window, 0.97, overage), window, NOW_MS)).toBe(0.97);
    expect(isExhaustedAt(rejected(window, 0.97, overage), NOW_MS)).toBe(true);
  });

  it('should not round up a window that is not rejected, whatever the overage', () => {
    const allowed = { ...rejected(window, 0.97, 'allowed'), status5h: 'allowed', status7d: 'allowed' } as const;
    expect(utilizationAt(allowed, window, NOW_MS)).toBe(0.97);
  });

  it('should read 0 once the reset has passed, and never roll over a window with no reset', () => {
    const record = rejected(window, 0.6);
    expect(utilizationAt(record, window, NOW_MS + HOUR * 1000 - 1)).toBe(0.6);
    expect(utilizationAt(record, window, NOW_MS + HOUR * 1000)).toBe(0);
    const { reset5hSecs: _5, reset7dSecs: _7, ...noReset } = record;
    expect(utilizationAt(noReset, window, NOW_MS + 1000 * HOUR * 1000)).toBe(0.6);
  });
});

describe('utilizationAt', () => {
  it("should roll over the weekly window on its own reset when the 5-hour window has none", () => {
    const record = info({ utilization7d: 0.8, reset7dSecs: NOW_SECS + HOUR });
    expect(utilizationAt(record, '7d', NOW_MS)).toBe(0.8);
    expect(utilizationAt(record, '7d', NOW_MS + HOUR * 1000)).toBe(0);
  });
});

describe('resetSecsAt', () => {
  it('should give the reset while it is ahead, and null (not undefined) once it is not or when unknown', () => {
    const record = info({ reset5hSecs: NOW_SECS + HOUR });
    expect(resetSecsAt(record, '5h', NOW_MS)).toBe(NOW_SECS + HOUR);
    expect(resetSecsAt(record, '5h', NOW_MS + HOUR * 1000)).toBeNull();
    expect(resetSecsAt(record, '7d', NOW_MS)).toBeNull();
  });

  it('should cap a reset beyond the window at the window plus the margin after the record', () => {
    const record = info({ reset5hSecs: NOW_SECS + 100 * HOUR });
    expect(resetSecsAt(record, '5h', NOW_MS)).toBe(NOW_SECS + 5 * HOUR + 600);
  });
});
