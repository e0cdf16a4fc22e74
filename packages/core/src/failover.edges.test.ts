// Boundary cases of the failover policy that mutation testing (docs/mutation.md) found unpinned:
// each test here fails when one comparison, literal or pattern in failover.ts is changed.
import { describe, expect, it } from 'vitest';
import { T0_MS } from '../test/arbitraries.js';
import { classifyResponse, classifyStreamError, recordResponse, type ResponseAction } from './failover.js';
import type { HeaderSource, RateLimitInfo } from './rate-limits.js';
import { memoryStore, type MemoryStore } from './store/memory.js';

const NOW_SECS = T0_MS / 1000;
const U = 'anthropic-ratelimit-unified-';

function classify429(headers: HeaderSource): ResponseAction {
  return classifyResponse({ status: 429, headers }, { nowMs: T0_MS });
}

describe('classifyResponse: whose fault', () => {
  it('should blame the account for a 529 and for a retry-after 429', () => {
    expect(classifyResponse({ status: 529, headers: {} }, { nowMs: T0_MS })).toMatchObject({ fault: 'account' });
    expect(classify429({ 'retry-after': '5' })).toMatchObject({ reason: 'retry_after', fault: 'account' });
  });
});

describe('classifyResponse: blocked windows', () => {
  it('should name the weekly window when both rejected windows reset at the same instant', () => {
    const reset = String(NOW_SECS + 600);
    const headers = { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: reset, [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: reset };
    expect(classify429(headers)).toMatchObject({ reason: 'window_exhausted', window: '7d', cooldownMs: 600_500 });
  });

  it('should not treat a window below full, without a status, as blocked', () => {
    const headers = { [`${U}5h-utilization`]: '0.99', [`${U}5h-reset`]: String(NOW_SECS + 900) };
    expect(classify429(headers)).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
  });

  it('should not treat a full window whose reset is now as blocked (it has just rolled over)', () => {
    const headers = { [`${U}5h-utilization`]: '1', [`${U}5h-reset`]: String(NOW_SECS) };
    expect(classify429(headers)).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
  });
});

describe('classifyResponse: retry-after forms', () => {
  it.each([
    [' 7 ', 7000],
    ['.25', 250],
    [' Thu, 01 Jan 2026 00:00:45 GMT', 45_000],
    ['Thu, 01 Jan 2026 00:00:45 GMT ', 45_000],
    // The largest valid minute and second (a leap second): 59 minutes is capped at maxRetryAfterMs.
    ['Thu, 01 Jan 2026 00:59:00 GMT', 300_000],
    ['Thu, 01 Jan 2026 00:00:60 GMT', 60_000],
    ['Thu, 01 Jan 2026 00:00:59 GMT', 59_000],
  ])('should read retry-after %j as a wait of %i ms', (value, cooldownMs) => {
    expect(classify429({ 'retry-after': value })).toMatchObject({ reason: 'retry_after', cooldownMs });
  });

  it.each([
    'Date: Thu, 01 Jan 2026 00:00:45 GMT',
    'XThu, 01 Jan 2026 00:00:45 GMT',
    'Thu, 01 Jan 2026 00:00:45 GMT+1',
    'Thu, 01 Jan 2026 00:00:45 GMTX',
    'Thu, 01 Foo 2026 00:00:45 GMT',
    'Thu, 00 Jan 2026 00:00:45 GMT',
    'Thu, 01 Jan 2026 24:00:00 GMT',
    'Thu, 01 Jan 2026 00:60:00 GMT',
    'Thu, 01 Jan 2026 00:00:61 GMT',
  ])('should ignore the malformed retry-after %j and use the fallback', (value) => {
    expect(classify429({ 'retry-after': value })).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
  });
});

describe('policy bounds', () => {
  it('should accept accountFaultRequests up to 64 and refuse 65', () => {
    const outcome = { status: 500, headers: {} };
    expect(classifyResponse(outcome, { nowMs: T0_MS }, { accountFaultRequests: 64 })).toMatchObject({
      fault: 'unconfirmed',
      confirmAfter: { requests: 64 },
    });
    expect(() => classifyResponse(outcome, { nowMs: T0_MS }, { accountFaultRequests: 65 })).toThrow(RangeError);
  });

  it('should say which classifier got a non-finite clock', () => {
    expect(() => classifyStreamError('overloaded_error', { nowMs: Number.NaN })).toThrow(
      'classifyStreamError: context.nowMs must be finite, got NaN',
    );
  });
});

describe('recordResponse: unconfirmed faults', () => {
  it('should never cool for an unconfirmed fault without a request key, even when one request would confirm it', () => {
    const store = memoryStore({ now: () => T0_MS });
    const action: ResponseAction = {
      kind: 'failover',
      reason: 'server_error',
      cooldownMs: 10_000,
      fault: 'unconfirmed',
      confirmAfter: { requests: 1, windowMs: 60_000 },
      rateLimits: null,
    };
    expect(recordResponse(store, { name: 'a' }, action)).toBe(0);
    expect(store.isAvailable('a')).toBe(true);
    // The same action with a key cools at once, so the key is what made the difference.
    expect(recordResponse(store, { name: 'a' }, action, { requestKey: 'r1' })).toBe(10_000);
  });
});

describe('recordResponse: a cooldown that stands on a bogus reset', () => {
  const TEN_YEARS_SECS = 10 * 365 * 86_400;
  const account = { name: 'a' };
  /** A response's rate limits as received now. */
  const info = (fields: Omit<RateLimitInfo, 'updatedMs'>): RateLimitInfo => ({ ...fields, updatedMs: T0_MS });
  const success = (fields: Omit<RateLimitInfo, 'updatedMs'>): ResponseAction => ({ kind: 'success', rateLimits: info(fields) });
  const sane5h = { status5h: 'allowed', utilization5h: 0.4, reset5hSecs: NOW_SECS + 3600 } as const;
  const sane7d = { status7d: 'allowed', utilization7d: 0.4, reset7dSecs: NOW_SECS + 86_400 } as const;

  /** A store whose account `a` cools on a 429 whose `window` reset lies ten years ahead. */
  function coolingOnBogus(window: '5h' | '7d'): MemoryStore {
    const store = memoryStore({ now: () => T0_MS });
    const headers = { [`${U}${window}-status`]: 'rejected', [`${U}${window}-reset`]: String(NOW_SECS + TEN_YEARS_SECS) };
    recordResponse(store, account, classify429(headers));
    expect(store.cooldownUntilMs('a')).not.toBeNull();
    return store;
  }

  it('should end a cooldown made from a bogus weekly reset once a response reports a sane one', () => {
    const store = coolingOnBogus('7d');
    recordResponse(store, account, success(sane7d));
    expect(store.cooldownUntilMs('a')).toBeNull();
    expect(store.isAvailable('a')).toBe(true);
  });

  it('should end a cooldown made from a bogus 5-hour reset when the response reports a sane one, whatever its weekly reset', () => {
    const store = coolingOnBogus('5h');
    // The weekly reset here is bogus too, but the record held no weekly reset to stand on.
    recordResponse(store, account, success({ ...sane5h, status7d: 'allowed', reset7dSecs: NOW_SECS + TEN_YEARS_SECS }));
    expect(store.cooldownUntilMs('a')).toBeNull();
  });

  it.each([
    ['5h', sane7d],
    ['7d', sane5h],
  ] as const)('should keep a cooldown made from a bogus %s reset when the response says nothing of that window', (window, other) => {
    const store = coolingOnBogus(window);
    const until = store.cooldownUntilMs('a');
    recordResponse(store, account, success(other));
    expect(store.cooldownUntilMs('a')).toBe(until);
  });

  it('should keep a cooldown when the account had no stored record at all', () => {
    const store = memoryStore({ now: () => T0_MS });
    // A 529 without rate-limit headers cools the account and stores nothing.
    recordResponse(store, account, classifyResponse({ status: 529, headers: {} }, { nowMs: T0_MS }));
    expect(store.rateLimits('a')).toBeNull();
    const until = store.cooldownUntilMs('a');
    recordResponse(store, account, success({ ...sane5h, ...sane7d }));
    expect(store.cooldownUntilMs('a')).toBe(until);
    expect(store.rateLimits('a')).toMatchObject(sane7d);
  });

  it('should read no stored record for an account that is not cooling (the usual response)', () => {
    // The check costs a record copy (a round trip on a remote store): only a cooling account pays it.
    const inner = memoryStore({ now: () => T0_MS });
    const reads: string[] = [];
    const store: MemoryStore = { ...inner, rateLimits: (name) => (reads.push(name), inner.rateLimits(name)) };
    recordResponse(store, account, success(sane5h));
    recordResponse(store, account, success({ ...sane5h, reset5hSecs: NOW_SECS + TEN_YEARS_SECS }));
    recordResponse(store, account, success(sane5h));
    expect(reads).toEqual([]);
    expect(inner.rateLimits('a')).toMatchObject(sane5h);
  });
});
