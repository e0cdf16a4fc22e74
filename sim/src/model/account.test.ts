import { parseRateLimitHeaders } from '@shunt/core';
import { describe, expect, it } from 'vitest';
import { WARNING_UTILIZATION, createAccountModel, nextWeeklyReset } from './account.js';
import { planCapacity } from './plans.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;
const capacity = { window5hCredits: 10, window7dCredits: 100 };

describe('createAccountModel', () => {
  it('should open the 5-hour window with the first request and reset it 5 hours later', () => {
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: null });
    expect(account.utilization5hAt(T0)).toBe(0);
    const first = account.respond(T0, 2, 2);
    expect(first.status).toBe(200);
    const info = parseRateLimitHeaders(first.headers, T0);
    expect(info?.utilization5h).toBeCloseTo(0.2);
    expect(info?.reset5hSecs).toBe((T0 + 5 * HOUR) / 1000);
    expect(info?.status5h).toBe('allowed');
    account.respond(T0 + HOUR, 3, 3);
    expect(account.utilization5hAt(T0 + HOUR)).toBeCloseTo(0.5);
    expect(account.utilization5hAt(T0 + 5 * HOUR)).toBe(0);
    // The next request after the reset opens a new window from its own time.
    const later = account.respond(T0 + 6 * HOUR, 1, 1);
    expect(parseRateLimitHeaders(later.headers, T0 + 6 * HOUR)?.reset5hSecs).toBe((T0 + 11 * HOUR) / 1000);
    expect(account.utilization5hAt(T0 + 6 * HOUR)).toBeCloseTo(0.1);
  });

  it('should warn from the warning threshold and refuse once a window is full', () => {
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: null });
    const warning = account.respond(T0, WARNING_UTILIZATION * 10, 0);
    expect(parseRateLimitHeaders(warning.headers, T0)?.status5h).toBe('allowed_warning');
    // Still below 1: admitted, and the whole cost is charged (utilization may pass 1).
    const over = account.respond(T0 + 1, 5, 0);
    expect(over.status).toBe(200);
    expect(account.utilization5hAt(T0 + 1)).toBeCloseTo(1.3);
    const refused = account.respond(T0 + 2, 1, 0);
    expect(refused.status).toBe(429);
    const info = parseRateLimitHeaders(refused.headers, T0 + 2);
    expect(info?.status5h).toBe('rejected');
    expect(info?.status7d).toBe('allowed');
    expect(account.utilization5hAt(T0 + 2)).toBeCloseTo(1.3);
    expect(account.stats).toMatchObject({ served: 2, rateLimited: 1, firstExhaustedMs: T0 + 1 });
    expect(account.stats.peakUtilization5h).toBeCloseTo(1.3);
  });

  it('should keep the weekly window on its anchor and count quota that expires unused', () => {
    const anchor = T0 + 2 * HOUR; // resets 2 hours in, then weekly
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: anchor - 3 * WEEK, utilization7d: 0.4 });
    expect(account.utilization7dAt(T0)).toBeCloseTo(0.4);
    const response = account.respond(T0, 10, 10);
    expect(parseRateLimitHeaders(response.headers, T0)?.reset7dSecs).toBe(anchor / 1000);
    expect(account.utilization7dAt(T0)).toBeCloseTo(0.5);
    // The reset wastes what was left; two idle weeks later, two more whole weeks are gone.
    account.advance(anchor + 2 * WEEK);
    expect(account.stats.expiredWeekly).toBeCloseTo(0.5 + 2);
    expect(account.utilization7dAt(anchor + 2 * WEEK)).toBe(0);
    expect(account.stats.weeklyUse).toBeCloseTo(0.1);
  });

  it('should count what the weekly window still holds at the end as expiring at its next reset', () => {
    // A one-hour trace on an account whose week resets tomorrow with 70 % left.
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: T0 + 20 * HOUR, utilization7d: 0.3 });
    account.respond(T0, 1, 1);
    const used = account.utilization7dAt(T0);
    account.close(T0 + HOUR);
    expect(account.stats.expiredWeekly).toBeCloseTo(1 - used);
  });

  it('should refuse on a full weekly window even when the 5-hour window is empty', () => {
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: T0 + HOUR, utilization7d: 1 });
    const refused = account.respond(T0, 1, 1);
    expect(refused.status).toBe(429);
    const info = parseRateLimitHeaders(refused.headers, T0);
    expect(info?.status7d).toBe('rejected');
    expect(info?.reset7dSecs).toBe((T0 + HOUR) / 1000);
    expect(account.respond(T0 + HOUR, 1, 1).status).toBe(200);
  });

  it('should never refuse with unlimited capacity', () => {
    const unlimited = { window5hCredits: Number.POSITIVE_INFINITY, window7dCredits: Number.POSITIVE_INFINITY };
    const account = createAccountModel('a', unlimited, T0, { weeklyAnchorMs: null });
    for (let i = 0; i < 100; i++) expect(account.respond(T0 + i, 1e9, 1e9).status).toBe(200);
  });

  it('should scale the same cost by plan capacity', () => {
    const pro = createAccountModel('p', planCapacity('pro'), T0, { weeklyAnchorMs: null });
    const max20 = createAccountModel('m', planCapacity('max20'), T0, { weeklyAnchorMs: null });
    pro.respond(T0, 1, 1);
    max20.respond(T0, 1, 1);
    expect(pro.utilization5hAt(T0) / max20.utilization5hAt(T0)).toBeCloseTo(20);
  });
});

describe('nextWeeklyReset', () => {
  it('should give the first reset strictly after the instant, in either direction from the anchor', () => {
    expect(nextWeeklyReset(T0, T0)).toBe(T0 + WEEK);
    expect(nextWeeklyReset(T0, T0 - 1)).toBe(T0);
    expect(nextWeeklyReset(T0 + 10 * WEEK, T0)).toBe(T0 + WEEK);
  });
});

describe('model response headers', () => {
  it('should answer exactly the unified headers, and nothing for any other name', () => {
    const account = createAccountModel('a', capacity, T0, { weeklyAnchorMs: T0 + HOUR });
    const { headers } = account.respond(T0, 1, 1);
    const record = headers.toRecord();
    expect(Object.keys(record).sort()).toEqual([
      'anthropic-ratelimit-unified-5h-reset',
      'anthropic-ratelimit-unified-5h-status',
      'anthropic-ratelimit-unified-5h-utilization',
      'anthropic-ratelimit-unified-7d-reset',
      'anthropic-ratelimit-unified-7d-status',
      'anthropic-ratelimit-unified-7d-utilization',
      'anthropic-ratelimit-unified-representative-claim',
    ]);
    const prefix = 'anthropic-ratelimit-unified-';
    for (const name of ['retry-after', 'retry-after-ms', 'x-should-retry', `${prefix}overage-status`, `${prefix}overage-disabled-reason`, `${prefix}7d_oi-utilization`, `${prefix}status`, `${prefix}reset`]) {
      expect(headers.get(name)).toBeNull();
    }
    for (const [name, value] of Object.entries(record)) expect(headers.get(name)).toBe(value);
    expect([...headers.keys()].sort()).toEqual(Object.keys(record).sort());
  });
});
