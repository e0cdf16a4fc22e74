import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { poolScenarioArb, storeFor } from './testing/pool-arbitraries.js';
import {
  arbHeaderRecord,
  arbRateLimitInfo,
  arbStatus,
  headerShapes,
  rateLimitHeadersOf,
  T0_MS,
} from '../test/arbitraries.js';
import {
  classifyResponse,
  classifyStreamError,
  defaultFailoverPolicy,
  recordResponse,
  type ClassifyContext,
  type FailoverPolicy,
  type ResponseAction,
  type UpstreamOutcome,
} from './failover.js';
import { pickAccount, soonestAvailableMs } from './pick.js';
import type { HeaderSource } from './rate-limits.js';
import { memoryStore, type MemoryStore } from './store/memory.js';
import type { StateStore } from './store/types.js';

const NOW = T0_MS;
const NOW_SECS = NOW / 1000;
const U = 'anthropic-ratelimit-unified-';
const ctx = { nowMs: NOW };

/** Headers of an account in good standing: both windows allowed, resets ahead. */
const ORDINARY: Readonly<Record<string, string>> = {
  [`${U}5h-status`]: 'allowed',
  [`${U}5h-reset`]: String(NOW_SECS + 4 * 3600),
  [`${U}5h-utilization`]: '0.3',
  [`${U}7d-status`]: 'allowed',
  [`${U}7d-reset`]: String(NOW_SECS + 5 * 86_400),
  [`${U}7d-utilization`]: '0.2',
};

function classify(status: number, headers: HeaderSource = {}, context: ClassifyContext = ctx, policy?: Partial<FailoverPolicy>): ResponseAction {
  return classifyResponse({ status, headers }, context, policy);
}

function cooldownOf(action: ResponseAction): number {
  if (action.kind !== 'failover') throw new Error(`expected failover, got ${action.kind}`);
  return action.cooldownMs;
}

describe('defaultFailoverPolicy', () => {
  it('should hold the documented defaults', () => {
    expect(defaultFailoverPolicy).toStrictEqual({
      resetMarginMs: 500,
      windowCapMarginMs: 600_000,
      rateLimitFallbackMs: 60_000,
      maxRetryAfterMs: 300_000,
      overloadedMs: 30_000,
      unauthorizedMs: 300_000,
      forbiddenMs: 1_800_000,
      serverErrorMs: 10_000,
      accountFaultRequests: 2,
      accountFaultWindowMs: 60_000,
    });
  });

  it('should be frozen so one caller cannot change it for all', () => {
    expect(Object.isFrozen(defaultFailoverPolicy)).toBe(true);
  });
});

describe('classifyResponse', () => {
  describe('2xx, 1xx and 3xx', () => {
    it.each([200, 201, 204, 299])('should treat %i as success with the parsed rate limits', (status) => {
      const action = classify(status, ORDINARY);
      expect(action.kind).toBe('success');
      expect(action.rateLimits).toMatchObject({ utilization5h: 0.3, utilization7d: 0.2, updatedMs: NOW });
    });

    it('should carry null rate limits on a success without unified headers', () => {
      expect(classify(200)).toStrictEqual({ kind: 'success', rateLimits: null });
    });

    it.each([100, 101, 199, 300, 301, 304, 308])('should return %i as-is', (status) => {
      expect(classify(status)).toStrictEqual({ kind: 'return', status, rateLimits: null });
    });
  });

  describe('429 with a rejected window', () => {
    it('should cool until the 5h reset plus the margin when the 5h window is rejected', () => {
      const headers = { ...ORDINARY, [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(NOW_SECS + 3600) };
      expect(classify(429, headers)).toMatchObject({
        kind: 'failover',
        reason: 'window_exhausted',
        window: '5h',
        cooldownMs: 3_600_000 + 500,
      });
    });

    it('should cool until the 7d reset when only the weekly window is rejected (seed used the 5h reset)', () => {
      const headers = { ...ORDINARY, [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 2 * 86_400) };
      expect(classify(429, headers)).toMatchObject({
        reason: 'window_exhausted',
        window: '7d',
        cooldownMs: 2 * 86_400_000 + 500,
      });
    });

    it('should use the later reset when both windows are rejected', () => {
      const both = { ...ORDINARY, [`${U}5h-status`]: 'rejected', [`${U}7d-status`]: 'rejected' };
      expect(classify(429, { ...both, [`${U}5h-reset`]: String(NOW_SECS + 3600), [`${U}7d-reset`]: String(NOW_SECS + 86_400) })).toMatchObject({
        window: '7d',
        cooldownMs: 86_400_000 + 500,
      });
      expect(classify(429, { ...both, [`${U}5h-reset`]: String(NOW_SECS + 7200), [`${U}7d-reset`]: String(NOW_SECS + 60) })).toMatchObject({
        window: '5h',
        cooldownMs: 7_200_000 + 500,
      });
    });

    it('should treat the synthetic `exhausted` status like `rejected`', () => {
      expect(classify(429, { [`${U}5h-status`]: 'exhausted', [`${U}5h-reset`]: String(NOW_SECS + 60) })).toMatchObject({
        reason: 'window_exhausted',
        cooldownMs: 60_500,
      });
    });

    it('should prefer the rejected window over retry-after (the reset is the truth)', () => {
      const headers = { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(NOW_SECS + 3600), 'retry-after': '5' };
      expect(classify(429, headers)).toMatchObject({ reason: 'window_exhausted', cooldownMs: 3_600_500 });
    });

    it('should not cap a rejected window by maxRetryAfterMs', () => {
      const headers = { [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 6 * 86_400) };
      expect(cooldownOf(classify(429, headers))).toBe(6 * 86_400_000 + 500);
    });

    it('should read a partial 429 that carries only one window', () => {
      const action = classify(429, { [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 100) });
      expect(action).toStrictEqual({
        kind: 'failover',
        reason: 'window_exhausted',
        window: '7d',
        cooldownMs: 100_500,
        fault: 'account',
        rateLimits: { status7d: 'rejected', reset7dSecs: NOW_SECS + 100, updatedMs: NOW },
      });
    });

    it('should honour a custom resetMarginMs', () => {
      const headers = { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(NOW_SECS + 10) };
      expect(cooldownOf(classify(429, headers, ctx, { resetMarginMs: 2000 }))).toBe(12_000);
    });

    it('should fold a full 7d window without a status into the later reset once 5h is rejected', () => {
      const headers = {
        [`${U}5h-status`]: 'rejected',
        [`${U}5h-reset`]: String(NOW_SECS + 60),
        [`${U}7d-utilization`]: '1',
        [`${U}7d-reset`]: String(NOW_SECS + 3600),
      };
      expect(classify(429, headers)).toMatchObject({ window: '7d', cooldownMs: 3_600_500 });
    });

    it('should ignore an absurd reset rather than cool forever', () => {
      const headers = { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: '9e307' };
      expect(classify(429, headers)).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
    });

    it('should not count a rejected window whose reset has passed', () => {
      const headers = { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(NOW_SECS) };
      expect(classify(429, headers)).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
    });
  });

  describe('429 with retry-after', () => {
    it('should cool only for retry-after on a burst 429 with ordinary headers (seed cooled until the 5h reset)', () => {
      const action = classify(429, { ...ORDINARY, 'retry-after': '20' });
      expect(action).toMatchObject({ kind: 'failover', reason: 'retry_after', cooldownMs: 20_000 });
      expect(action.rateLimits).toMatchObject({ utilization5h: 0.3 });
      expect(action).not.toHaveProperty('window');
    });

    it('should prefer retry-after-ms and keep its fraction', () => {
      expect(classify(429, { 'retry-after-ms': '1234.5', 'retry-after': '60' })).toMatchObject({
        reason: 'retry_after',
        cooldownMs: 1234.5,
      });
    });

    it('should fall back to retry-after when retry-after-ms is malformed', () => {
      expect(cooldownOf(classify(429, { 'retry-after-ms': 'soon', 'retry-after': '7' }))).toBe(7000);
    });

    it('should read fractional retry-after seconds', () => {
      expect(cooldownOf(classify(429, { 'retry-after': '1.5' }))).toBe(1500);
    });

    it('should read an HTTP-date retry-after relative to now', () => {
      expect(cooldownOf(classify(429, { 'retry-after': 'Thu, 01 Jan 2026 00:00:45 GMT' }))).toBe(45_000);
    });

    it('should treat an HTTP-date in the past as no wait', () => {
      expect(classify(429, { 'retry-after': 'Wed, 31 Dec 2025 23:00:00 GMT' })).toMatchObject({ reason: 'retry_after', cooldownMs: 0 });
    });

    it.each(['soon', '', '-5', '0x10', 'Thu, 32 Jan 2026 00:00:00 GMT', '2026-01-01T00:01:00Z'])(
      'should ignore a retry-after of %j and use the fallback',
      (value) => {
        expect(classify(429, { 'retry-after': value })).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
      },
    );

    it('should cap retry-after at maxRetryAfterMs (a bogus multi-day value must not lock an account out)', () => {
      expect(cooldownOf(classify(429, { 'retry-after': '259200' }))).toBe(300_000);
      expect(cooldownOf(classify(429, { 'retry-after-ms': '1000000000000' }))).toBe(300_000);
      expect(cooldownOf(classify(429, { 'retry-after': '600' }, ctx, { maxRetryAfterMs: 120_000 }))).toBe(120_000);
    });

    it('should accept retry-after: 0 as fail over without cooling (the seed had a 500 ms floor; docs/failover.md)', () => {
      expect(classify(429, { 'retry-after': '0' })).toMatchObject({ reason: 'retry_after', cooldownMs: 0 });
      expect(classify(429, { 'retry-after-ms': '0' })).toMatchObject({ reason: 'retry_after', cooldownMs: 0 });
      const store = memoryStore({ now: () => NOW });
      expect(recordResponse(store, { name: 'work' }, classify(429, { 'retry-after': '0' }))).toBe(0);
      expect(store.isAvailable('work')).toBe(true);
    });
  });

  describe('429 request-scoped', () => {
    it('should fail over without cooling when only x-should-retry: true is present', () => {
      expect(classify(429, { 'x-should-retry': 'true' })).toStrictEqual({
        kind: 'failover',
        reason: 'request_scoped',
        cooldownMs: 0,
        fault: 'request',
        rateLimits: null,
      });
      expect(classify(429, new Headers({ 'X-Should-Retry': ' TRUE ' }))).toMatchObject({ reason: 'request_scoped' });
    });

    it('should not be request-scoped when any rate-limit header is present', () => {
      expect(classify(429, { ...ORDINARY, 'x-should-retry': 'true' })).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
      expect(classify(429, { 'x-should-retry': 'true', [`${U}status`]: 'allowed' })).toMatchObject({ reason: 'rate_limited' });
      expect(classify(429, { 'x-should-retry': 'true', 'x-ratelimit-remaining-tokens': '0' })).toMatchObject({ reason: 'rate_limited' });
    });

    it('should not be request-scoped when x-should-retry is false', () => {
      expect(classify(429, { 'x-should-retry': 'false' })).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
    });

    it('should let retry-after decide over x-should-retry', () => {
      expect(classify(429, { 'x-should-retry': 'true', 'retry-after': '3' })).toMatchObject({ reason: 'retry_after', cooldownMs: 3000 });
    });
  });

  describe('429 with a full window but no status', () => {
    it('should treat utilization >= 1 with a future reset as a rejected window', () => {
      const headers = { [`${U}5h-utilization`]: '1.01', [`${U}5h-reset`]: String(NOW_SECS + 900) };
      expect(classify(429, headers)).toMatchObject({ reason: 'window_exhausted', window: '5h', cooldownMs: 900_500 });
    });

    it('should pick the later reset when both windows are full', () => {
      const headers = {
        [`${U}5h-utilization`]: '1',
        [`${U}5h-reset`]: String(NOW_SECS + 900),
        [`${U}7d-utilization`]: '1.2',
        [`${U}7d-reset`]: String(NOW_SECS + 90_000),
      };
      expect(classify(429, headers)).toMatchObject({ window: '7d', cooldownMs: 90_000_500 });
    });

    it('should leave a full window with a status of allowed alone (overage in use)', () => {
      const headers = { [`${U}5h-utilization`]: '1.01', [`${U}5h-reset`]: String(NOW_SECS + 900), [`${U}5h-status`]: 'allowed' };
      expect(classify(429, headers)).toMatchObject({ reason: 'rate_limited', cooldownMs: 60_000 });
    });

    it('should ignore a full window whose reset has passed, or that has none', () => {
      expect(classify(429, { [`${U}5h-utilization`]: '1', [`${U}5h-reset`]: String(NOW_SECS - 1) })).toMatchObject({ reason: 'rate_limited' });
      expect(classify(429, { [`${U}5h-utilization`]: '1' })).toMatchObject({ reason: 'rate_limited' });
    });

    it('should let retry-after decide before a full window without a status', () => {
      const headers = { [`${U}5h-utilization`]: '1', [`${U}5h-reset`]: String(NOW_SECS + 900), 'retry-after': '10' };
      expect(classify(429, headers)).toMatchObject({ reason: 'retry_after', cooldownMs: 10_000 });
    });
  });

  describe('429 with nothing to go on', () => {
    it('should cool for rateLimitFallbackMs', () => {
      expect(classify(429)).toStrictEqual({ kind: 'failover', reason: 'rate_limited', cooldownMs: 60_000, fault: 'account', rateLimits: null });
      expect(cooldownOf(classify(429, {}, ctx, { rateLimitFallbackMs: 5000 }))).toBe(5000);
    });
  });

  describe('header shapes', () => {
    const headers = { [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 100), 'Retry-After': '5' };
    it.each(headerShapes(headers))('should classify a 429 from a $shape identically', ({ headers: source }) => {
      expect(classify(429, source)).toMatchObject({ reason: 'window_exhausted', window: '7d', cooldownMs: 100_500 });
    });

    it.each(headerShapes({ 'Retry-After': '5' }))('should read retry-after from a $shape', ({ headers: source }) => {
      expect(cooldownOf(classify(429, source))).toBe(5000);
    });

    it('should read mixed-case names in a plain record', () => {
      expect(cooldownOf(classify(429, { 'RETRY-AFTER-MS': '250' }))).toBe(250);
    });
  });

  describe('other statuses', () => {
    it('should fail over a 529 with the overloaded cooldown and keep its rate limits', () => {
      const action = classify(529, ORDINARY);
      expect(action).toMatchObject({ kind: 'failover', reason: 'overloaded', cooldownMs: 30_000 });
      expect(action.rateLimits).toMatchObject({ utilization5h: 0.3 });
    });

    it('should ask for a refresh on a first 401', () => {
      expect(classify(401)).toStrictEqual({ kind: 'refresh', reason: 'unauthorized', rateLimits: null });
      expect(classify(401, {}, { nowMs: NOW, canRefresh: true, alreadyRefreshed: false })).toMatchObject({ kind: 'refresh' });
    });

    it('should fail over a 401 after a refresh, or on an account that cannot refresh', () => {
      const expected = { kind: 'failover', reason: 'unauthorized', cooldownMs: 300_000, fault: 'account', rateLimits: null };
      expect(classify(401, {}, { nowMs: NOW, alreadyRefreshed: true })).toStrictEqual(expected);
      expect(classify(401, {}, { nowMs: NOW, canRefresh: false })).toStrictEqual(expected);
    });

    it('should fail over a 403 with the forbidden cooldown', () => {
      expect(classify(403)).toStrictEqual({ kind: 'failover', reason: 'forbidden', cooldownMs: 1_800_000, fault: 'account', rateLimits: null });
    });

    it.each([
      { name: '500', outcome: { status: 500, headers: {} }, reason: 'server_error' },
      { name: '502', outcome: { status: 502, headers: {} }, reason: 'server_error' },
      { name: '503', outcome: { status: 503, headers: {} }, reason: 'server_error' },
      { name: '504', outcome: { status: 504, headers: {} }, reason: 'server_error' },
      { name: 'transport error', outcome: { transportError: new TypeError('fetch failed') }, reason: 'transport_error' },
    ])('should fail over a $name as an unconfirmed fault (seed returned it as-is)', ({ outcome, reason }) => {
      expect(classifyResponse(outcome, ctx)).toStrictEqual({
        kind: 'failover',
        reason,
        cooldownMs: 10_000,
        fault: 'unconfirmed',
        confirmAfter: { requests: 2, windowMs: 60_000 },
        rateLimits: null,
      });
    });

    it('should carry the policy\'s confirmation threshold and window', () => {
      expect(classify(502, {}, ctx, { accountFaultRequests: 5, accountFaultWindowMs: 1000, serverErrorMs: 3000 })).toMatchObject({
        fault: 'unconfirmed',
        cooldownMs: 3000,
        confirmAfter: { requests: 5, windowMs: 1000 },
      });
    });

    it.each([0, 1])('should make a 5xx the account\'s at once with accountFaultRequests %i (the old behaviour)', (requests) => {
      const action = classify(500, {}, ctx, { accountFaultRequests: requests });
      expect(action).toStrictEqual({ kind: 'failover', reason: 'server_error', cooldownMs: 10_000, fault: 'account', rateLimits: null });
    });

    it.each([400, 404, 405, 409, 413, 422, 501, 505, 599])('should return a %i as-is', (status) => {
      expect(classify(status, ORDINARY)).toMatchObject({ kind: 'return', status });
    });

    it('should keep the rate limits of a response returned as-is', () => {
      expect(classify(400, ORDINARY).rateLimits).toMatchObject({ utilization7d: 0.2 });
    });

    it.each([0, -1, 99, 600, 1000, 200.5, Number.NaN])('should return a nonsense status %d as-is', (status) => {
      expect(classify(status)).toMatchObject({ kind: 'return', rateLimits: null });
    });
  });

  describe('policy validation', () => {
    it.each(Object.keys(defaultFailoverPolicy))('should throw a RangeError naming %s when it is invalid', (key) => {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
        expect(() => classify(429, {}, ctx, { [key]: bad })).toThrow(new RegExp(`\\b${key}\\b`));
        expect(() => classify(429, {}, ctx, { [key]: bad })).toThrow(RangeError);
        expect(() => classifyStreamError('overloaded_error', ctx, { [key]: bad })).toThrow(RangeError);
      }
    });

    it('should accept zero for every value and use it', () => {
      const zero = Object.fromEntries(Object.keys(defaultFailoverPolicy).map((key) => [key, 0]));
      expect(cooldownOf(classify(529, {}, ctx, zero))).toBe(0);
      expect(cooldownOf(classify(429, { 'retry-after': '30' }, ctx, zero))).toBe(0);
    });

    it('should use defaults for keys left out or undefined', () => {
      const partial = { overloadedMs: 1000, forbiddenMs: undefined } as unknown as Partial<FailoverPolicy>;
      expect(cooldownOf(classify(529, {}, ctx, partial))).toBe(1000);
      expect(cooldownOf(classify(403, {}, ctx, partial))).toBe(1_800_000);
    });

    it('should throw a RangeError for a non-finite nowMs', () => {
      expect(() => classify(200, {}, { nowMs: Number.NaN })).toThrow(/nowMs/);
      expect(() => classifyStreamError('api_error', { nowMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    });
  });

  test.prop([arbStatus, arbHeaderRecord, fc.integer({ min: 0, max: 4_000_000_000_000 })])(
    'should never throw on any status and headers, and cool for a finite, non-negative time',
    (status, headers, nowMs) => {
      const action = classifyResponse({ status, headers }, { nowMs });
      if (action.kind === 'failover') {
        expect(Number.isFinite(action.cooldownMs)).toBe(true);
        expect(action.cooldownMs).toBeGreaterThanOrEqual(0);
      }
    },
  );

  test.prop([arbHeaderRecord, fc.integer({ min: NOW - 86_400_000, max: NOW + 86_400_000 })])(
    'should always fail a 429 over, cooling for a finite, non-negative time',
    (headers, nowMs) => {
      const action = classifyResponse({ status: 429, headers }, { nowMs });
      expect(action.kind).toBe('failover');
      expect(Number.isFinite(cooldownOf(action))).toBe(true);
      expect(cooldownOf(action)).toBeGreaterThanOrEqual(0);
    },
  );

  test.prop([arbRateLimitInfo(NOW), fc.constantFrom('5h', '7d'), fc.option(fc.constantFrom('3', '86400', 'Thu, 01 Jan 2026 00:00:09 GMT'))])(
    'should never end the cooldown of a 429 with a rejected window before that window resets',
    (info, window, retryAfter) => {
      const resetSecs = window === '5h' ? info.reset5hSecs : info.reset7dSecs;
      // A reset further ahead than the window is long is bogus and capped (tested below).
      const windowMs = (window === '5h' ? 18_000 : 604_800) * 1000;
      fc.pre(resetSecs !== undefined && resetSecs * 1000 > NOW && resetSecs * 1000 <= NOW + windowMs + 600_000);
      const headers: Record<string, string> = {
        ...rateLimitHeadersOf(info),
        [`${U}${window}-status`]: 'rejected',
        ...(retryAfter === null ? {} : { 'retry-after': retryAfter }),
      };
      const action = classify(429, headers);
      expect(action).toMatchObject({ kind: 'failover', reason: 'window_exhausted' });
      expect(NOW + cooldownOf(action)).toBeGreaterThanOrEqual((resetSecs ?? 0) * 1000);
    },
  );
});

describe('classifyStreamError', () => {
  it('should cool for the rate-limit fallback on rate_limit_error', () => {
    expect(classifyStreamError('rate_limit_error', ctx)).toStrictEqual({
      kind: 'failover',
      reason: 'rate_limited',
      cooldownMs: 60_000,
      fault: 'account',
      rateLimits: null,
    });
    expect(cooldownOf(classifyStreamError('rate_limit_error', ctx, { rateLimitFallbackMs: 1 }))).toBe(1);
  });

  it('should cool for the overloaded time on overloaded_error', () => {
    expect(classifyStreamError('overloaded_error', ctx)).toStrictEqual({
      kind: 'failover',
      reason: 'overloaded',
      cooldownMs: 30_000,
      fault: 'account',
      rateLimits: null,
    });
  });

  it.each(['api_error', 'invalid_request_error', 'authentication_error', '', 'Overloaded_Error'])(
    'should pass the stream through and record nothing on %j',
    (type) => {
      expect(classifyStreamError(type, ctx)).toStrictEqual({ kind: 'ignore', rateLimits: null });
    },
  );
});

describe('recordResponse', () => {
  function setup(): { store: ReturnType<typeof memoryStore>; advance: (ms: number) => void } {
    let t = NOW;
    return { store: memoryStore({ now: () => t }), advance: (ms) => (t += ms) };
  }

  it('should store rate limits and the last-used account on success, without cooling', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(200, ORDINARY));
    expect(store.rateLimits('work')).toMatchObject({ utilization5h: 0.3, utilization7d: 0.2 });
    expect(store.utilization5h('work')).toBe(0.3);
    expect(store.getLastUsed()).toBe('work');
    expect(store.isAvailable('work')).toBe(true);
  });

  it('should cool a rejected account until its reset and mark it exhausted', () => {
    const { store, advance } = setup();
    recordResponse(store, { name: 'work' }, classify(429, { [`${U}5h-status`]: 'rejected', [`${U}5h-reset`]: String(NOW_SECS + 60) }));
    expect(store.cooldownUntilMs('work')).toBe(NOW + 60_500);
    expect(store.isExhausted('work')).toBe(true);
    expect(store.isAvailable('work')).toBe(false);
    expect(store.getLastUsed()).toBeNull();
    advance(60_500);
    expect(store.isAvailable('work')).toBe(true);
    expect(store.isExhausted('work')).toBe(false);
  });

  it('should merge a partial 429 into what earlier responses said', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(200, ORDINARY));
    recordResponse(store, { name: 'work' }, classify(429, { [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 100) }));
    expect(store.rateLimits('work')).toMatchObject({ utilization5h: 0.3, status5h: 'allowed', status7d: 'rejected', reset7dSecs: NOW_SECS + 100 });
  });

  it('should not cool on a request-scoped 429, nor store anything', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(429, { 'x-should-retry': 'true' }));
    expect(store.isAvailable('work')).toBe(true);
    expect(store.cooldownUntilMs('work')).toBeNull();
    expect(store.rateLimits('work')).toBeNull();
  });

  it('should not cool on one transport error, and store no rate limits', () => {
    const { store } = setup();
    expect(recordResponse(store, { name: 'work' }, classifyResponse({ transportError: new Error('ECONNRESET') }, ctx), { requestKey: 'r1' })).toBe(0);
    expect(store.cooldownUntilMs('work')).toBeNull();
    expect(store.rateLimits('work')).toBeNull();
  });

  it('should only store rate limits on a refresh or a response returned as-is', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(401, ORDINARY));
    recordResponse(store, { name: 'team' }, classify(400, ORDINARY));
    for (const name of ['work', 'team']) {
      expect(store.rateLimits(name)).toMatchObject({ utilization5h: 0.3 });
      expect(store.isAvailable(name)).toBe(true);
    }
    expect(store.getLastUsed()).toBeNull();
  });

  it('should cool an account on an in-stream overloaded error', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classifyStreamError('overloaded_error', ctx));
    expect(store.cooldownUntilMs('work')).toBe(NOW + 30_000);
  });

  it('should not shorten a longer running cooldown', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(403));
    recordResponse(store, { name: 'work' }, classify(529));
    expect(store.cooldownUntilMs('work')).toBe(NOW + 1_800_000);
  });

  it('should leave other accounts alone', () => {
    const { store } = setup();
    recordResponse(store, { name: 'work' }, classify(529, ORDINARY));
    expect(store.isAvailable('team')).toBe(true);
    expect(store.rateLimits('team')).toBeNull();
  });
});

describe('account fault or request fault', () => {
  const SERVER_FAULTS: readonly UpstreamOutcome[] = [
    { status: 500, headers: {} },
    { status: 502, headers: ORDINARY },
    { status: 503, headers: {} },
    { status: 504, headers: {} },
    { transportError: new Error('ECONNRESET') },
  ];
  const arbServerFault = fc.constantFrom(...SERVER_FAULTS);

  function setup(): { store: MemoryStore; advance: (ms: number) => void } {
    let t = NOW;
    return { store: memoryStore({ now: () => t }), advance: (ms) => (t += ms) };
  }

  /** One request failing as the proxy would record it. */
  function fail(store: StateStore, account: string, requestKey: string | undefined, status = 500, policy?: Partial<FailoverPolicy>): number {
    const action = classifyResponse({ status, headers: {} }, { nowMs: store.now() }, policy);
    return recordResponse(store, { name: account }, action, requestKey === undefined ? undefined : { requestKey });
  }

  it('should not cool any account when one request gets a 500 from every account', () => {
    const { store } = setup();
    for (const account of ['a', 'b', 'c']) expect(fail(store, account, 'poison')).toBe(0);
    for (const account of ['a', 'b', 'c']) expect(store.cooldownUntilMs(account)).toBeNull();
    // Another request still finds the whole pool.
    expect(pickAccount([{ name: 'a' }, { name: 'b' }, { name: 'c' }], store)?.name).toBe('a');
  });

  it('should not cool an account that fails the same request again (retried after a hold)', () => {
    const { store, advance } = setup();
    fail(store, 'a', 'poison');
    advance(5000);
    expect(fail(store, 'a', 'poison', 503)).toBe(0);
    expect(store.isAvailable('a')).toBe(true);
  });

  it('should cool an account for serverErrorMs once a second request fails on it', () => {
    const { store, advance } = setup();
    fail(store, 'a', 'r1');
    advance(30_000);
    expect(fail(store, 'a', 'r2', 502)).toBe(10_000);
    expect(store.cooldownUntilMs('a')).toBe(NOW + 40_000);
  });

  it('should count 5xx and transport errors together', () => {
    const { store } = setup();
    fail(store, 'a', 'r1', 504);
    const dropped = classifyResponse({ transportError: new Error('socket hang up') }, ctx);
    expect(recordResponse(store, { name: 'a' }, dropped, { requestKey: 'r2' })).toBe(10_000);
  });

  it('should count failures up to exactly accountFaultWindowMs apart, and not beyond', () => {
    const inside = setup();
    fail(inside.store, 'a', 'r1');
    inside.advance(60_000);
    expect(fail(inside.store, 'a', 'r2')).toBe(10_000);

    const outside = setup();
    fail(outside.store, 'a', 'r1');
    outside.advance(60_001);
    expect(fail(outside.store, 'a', 'r2')).toBe(0);
    expect(outside.store.isAvailable('a')).toBe(true);
  });

  it('should keep accounts apart: two requests failing on two accounts cool neither', () => {
    const { store } = setup();
    fail(store, 'a', 'r1');
    fail(store, 'b', 'r2');
    expect(store.isAvailable('a')).toBe(true);
    expect(store.isAvailable('b')).toBe(true);
  });

  it('should never cool on an unconfirmed fault without a request key', () => {
    const { store } = setup();
    for (let i = 0; i < 10; i++) expect(fail(store, 'a', undefined)).toBe(0);
    expect(store.isAvailable('a')).toBe(true);
  });

  it('should count unconfirmed faults in this process on a store without recordFault', () => {
    const { store } = setup();
    const { recordFault: _, ...withoutFaults } = store;
    const plain: StateStore = withoutFaults;
    expect(fail(plain, 'a', 'r1')).toBe(0);
    expect(fail(plain, 'a', 'r2')).toBe(10_000);
    // Counted beside the store, not in it: the store's own counter never heard of them.
    expect(store.recordFault('a', 'r3', 60_000)).toBe(1);
    expect(store.isAvailable('a')).toBe(false);
  });

  it('should cool at the threshold a custom policy sets', () => {
    const { store } = setup();
    const policy = { accountFaultRequests: 3, accountFaultWindowMs: 5000, serverErrorMs: 2000 };
    expect(fail(store, 'a', 'r1', 500, policy)).toBe(0);
    expect(fail(store, 'a', 'r2', 500, policy)).toBe(0);
    expect(fail(store, 'a', 'r3', 500, policy)).toBe(2000);
    expect(store.cooldownUntilMs('a')).toBe(NOW + 2000);
  });

  it('should cool at the first failure with accountFaultRequests 1, even without a request key', () => {
    const { store } = setup();
    expect(fail(store, 'a', undefined, 500, { accountFaultRequests: 1 })).toBe(10_000);
  });

  it('should not cool on unconfirmed faults when serverErrorMs is 0, nor count them', () => {
    const { store } = setup();
    for (const key of ['r1', 'r2', 'r3']) expect(fail(store, 'a', key, 500, { serverErrorMs: 0 })).toBe(0);
    expect(store.recordFault('a', 'r4', 60_000)).toBe(1);
  });

  it('should cool on a 529 at once, for a single request', () => {
    const { store } = setup();
    expect(fail(store, 'a', 'r1', 529)).toBe(30_000);
    expect(store.cooldownUntilMs('a')).toBe(NOW + 30_000);
  });

  it('should return 0 from recordResponse for a success, a refresh and a response returned as-is', () => {
    const { store } = setup();
    expect(recordResponse(store, { name: 'a' }, classify(200), { requestKey: 'r1' })).toBe(0);
    expect(recordResponse(store, { name: 'a' }, classify(401), { requestKey: 'r1' })).toBe(0);
    expect(recordResponse(store, { name: 'a' }, classify(400), { requestKey: 'r1' })).toBe(0);
    expect(recordResponse(store, { name: 'a' }, classify(429, { 'x-should-retry': 'true' }), { requestKey: 'r1' })).toBe(0);
  });

  it.each([2.5, 65, -1])('should throw a RangeError for accountFaultRequests %d', (requests) => {
    expect(() => classify(500, {}, ctx, { accountFaultRequests: requests })).toThrow(/accountFaultRequests/);
  });

  const arbConfirmingPolicy: fc.Arbitrary<Partial<FailoverPolicy>> = fc.record(
    {
      accountFaultRequests: fc.integer({ min: 2, max: 64 }),
      accountFaultWindowMs: fc.oneof(fc.constantFrom(0, 1, 60_000), fc.integer({ min: 0, max: 3_600_000 })),
      serverErrorMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 600_000 })),
      overloadedMs: fc.integer({ min: 0, max: 60_000 }),
    },
    { requiredKeys: [] },
  );

  test.prop([
    poolScenarioArb({ minAccounts: 1, maxAccounts: 6 }),
    arbConfirmingPolicy,
    fc.array(fc.tuple(arbServerFault, fc.integer({ min: 0, max: 120_000 })), { minLength: 1, maxLength: 20 }),
  ])(
    'should leave every account as available as it was after one request fails on every account, for any pool and policy',
    (scenario, policy, faults) => {
      const { store, clock } = storeFor(scenario);
      const before = new Map(scenario.accounts.map((a) => [a.name, store.cooldownUntilMs(a.name)]));
      // The request goes round the pool as the proxy sends it, more than once when the faults
      // outnumber the accounts (a hold clears `tried`), with time passing between attempts.
      const tried = new Set<string>();
      for (const [outcome, gapMs] of faults) {
        let account = pickAccount(scenario.accounts, store, { tried });
        if (account === null) {
          tried.clear();
          account = pickAccount(scenario.accounts, store, { tried });
        }
        if (account === null) break;
        clock.t += gapMs;
        const action = classifyResponse(outcome, { nowMs: clock.t }, policy);
        expect(recordResponse(store, account, action, { requestKey: 'poison' })).toBe(0);
        tried.add(account.name);
      }
      for (const [name, until] of before) {
        expect(store.cooldownUntilMs(name), name).toBe(until !== null && until > clock.t ? until : null);
      }
    },
  );

  test.prop([
    fc.integer({ min: 2, max: 10 }),
    fc.integer({ min: 1, max: 600_000 }),
    fc.integer({ min: 1, max: 600_000 }),
    fc.array(fc.tuple(fc.nat({ max: 14 }), arbServerFault, fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 1, maxLength: 30 }),
  ])(
    'should cool an account exactly when accountFaultRequests distinct requests failed on it within the window',
    (requests, windowMs, serverErrorMs, failures) => {
      const { store, advance } = setup();
      const policy = { accountFaultRequests: requests, accountFaultWindowMs: windowMs, serverErrorMs };
      // Every failure lands within one window of the first, so none is forgotten.
      const stepMs = Math.floor(windowMs / failures.length);
      const distinct = new Set<number>();
      for (const [request, outcome, gap] of failures) {
        advance(Math.floor(gap * stepMs));
        distinct.add(request);
        const action = classifyResponse(outcome, { nowMs: store.now() }, policy);
        const cooled = recordResponse(store, { name: 'a' }, action, { requestKey: `r${String(request)}` });
        const confirmed = distinct.size >= requests;
        expect(cooled).toBe(confirmed ? serverErrorMs : 0);
        expect(store.isAvailable('a')).toBe(!confirmed);
        expect(store.isAvailable('b')).toBe(true);
      }
    },
  );
});

describe('bogus resets (capped at the window plus windowCapMarginMs)', () => {
  const TEN_YEARS_SECS = 10 * 365 * 86_400;
  const HOUR_MS = 3_600_000;
  const CAP_5H_MS = 5 * HOUR_MS + 600_000;
  const CAP_7D_MS = 7 * 24 * HOUR_MS + 600_000;
  const rejected5h = (resetSecs: number): Record<string, string> => ({
    [`${U}5h-status`]: 'rejected',
    [`${U}5h-reset`]: String(resetSecs),
    [`${U}5h-utilization`]: '1',
  });

  function setup(): { store: MemoryStore; advance: (ms: number) => void } {
    let t = NOW;
    return { store: memoryStore({ now: () => t }), advance: (ms) => (t += ms) };
  }

  it('should cool a 5h window rejected with a reset 10 years ahead for 5 h + margin, not 3,650 days', () => {
    expect(classify(429, rejected5h(NOW_SECS + TEN_YEARS_SECS))).toMatchObject({ reason: 'window_exhausted', window: '5h', cooldownMs: CAP_5H_MS });
    expect(cooldownOf(classify(429, rejected5h(NOW_SECS + TEN_YEARS_SECS), ctx, { windowCapMarginMs: 0 }))).toBe(5 * HOUR_MS);
  });

  it('should cap the weekly window at 7 d + margin, and let it win over a capped 5h window', () => {
    const headers = { ...rejected5h(NOW_SECS + TEN_YEARS_SECS), [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 2 * TEN_YEARS_SECS) };
    expect(classify(429, headers)).toMatchObject({ window: '7d', cooldownMs: CAP_7D_MS });
    const sane7d = { ...rejected5h(NOW_SECS + TEN_YEARS_SECS), [`${U}7d-status`]: 'rejected', [`${U}7d-reset`]: String(NOW_SECS + 86_400) };
    expect(classify(429, sane7d)).toMatchObject({ window: '7d', cooldownMs: 86_400_500 });
  });

  it('should reject a negative or non-finite windowCapMarginMs', () => {
    expect(() => classify(429, {}, ctx, { windowCapMarginMs: -1 })).toThrow(/windowCapMarginMs/);
  });

  it('should end the exhaustion and the wait 5 h + margin after the response, not at the bogus reset', () => {
    const { store, advance } = setup();
    recordResponse(store, { name: 'work' }, classify(429, rejected5h(NOW_SECS + TEN_YEARS_SECS)));
    expect(store.isExhausted('work')).toBe(true);
    expect(soonestAvailableMs([{ name: 'work' }], store)).toBe(NOW + CAP_5H_MS);
    advance(CAP_5H_MS);
    expect(store.isExhausted('work')).toBe(false);
    expect(store.isAvailable('work')).toBe(true);
    expect(store.utilization5h('work')).toBe(0); // the window has rolled over by now
  });

  it('should let a later response with a sane reset for the same window replace the capped cooldown', () => {
    const { store, advance } = setup();
    recordResponse(store, { name: 'work' }, classify(429, rejected5h(NOW_SECS + TEN_YEARS_SECS)));
    advance(60_000);
    // A request that was already in flight comes back with the real reset, an hour ahead.
    const later = classifyResponse({ status: 429, headers: rejected5h(NOW_SECS + 3600) }, { nowMs: store.now() });
    recordResponse(store, { name: 'work' }, later);
    expect(store.cooldownUntilMs('work')).toBe(NOW + HOUR_MS + 500);
    expect(soonestAvailableMs([{ name: 'work' }], store)).toBe(NOW + HOUR_MS + 500);
  });

  it('should let a later success with a sane reset end the cooldown a bogus reset made', () => {
    const { store, advance } = setup();
    recordResponse(store, { name: 'work' }, classify(429, rejected5h(NOW_SECS + TEN_YEARS_SECS)));
    advance(60_000);
    const ok = { [`${U}5h-status`]: 'allowed', [`${U}5h-reset`]: String(NOW_SECS + 3600), [`${U}5h-utilization`]: '0.4' };
    recordResponse(store, { name: 'work' }, classifyResponse({ status: 200, headers: ok }, { nowMs: store.now() }));
    expect(store.isAvailable('work')).toBe(true);
    expect(store.isExhausted('work')).toBe(false);
  });

  it('should keep "the later deadline wins" between sane resets', () => {
    const { store, advance } = setup();
    recordResponse(store, { name: 'work' }, classify(429, rejected5h(NOW_SECS + 4 * 3600)));
    advance(60_000);
    recordResponse(store, { name: 'work' }, classifyResponse({ status: 429, headers: rejected5h(NOW_SECS + 3600) }, { nowMs: store.now() }));
    expect(store.cooldownUntilMs('work')).toBe(NOW + 4 * HOUR_MS + 500);
  });

  /** Any reset a header can carry, from the past to the parser's upper bound (~9e12 s). */
  const arbAnyReset = fc.oneof(
    fc.integer({ min: NOW_SECS - 3600, max: NOW_SECS + 8 * 86_400 }),
    fc.integer({ min: NOW_SECS, max: Math.floor(Number.MAX_SAFE_INTEGER / 1000) }),
  );
  const arbWildHeaders = fc
    .record({
      info: arbRateLimitInfo(NOW),
      reset5hSecs: fc.option(arbAnyReset, { nil: undefined }),
      reset7dSecs: fc.option(arbAnyReset, { nil: undefined }),
      extra: arbHeaderRecord,
    })
    .map(({ info, reset5hSecs, reset7dSecs, extra }) => ({
      ...extra,
      ...rateLimitHeadersOf({ ...info, ...(reset5hSecs === undefined ? {} : { reset5hSecs }), ...(reset7dSecs === undefined ? {} : { reset7dSecs }) }),
    }));

  test.prop([arbWildHeaders, fc.constantFrom(200, 429, 529, 500)])(
    'should never cool or exhaust an account for longer than the window plus the margin after the response',
    (headers, status) => {
      const { store, advance } = setup();
      const action = classifyResponse({ status, headers }, { nowMs: NOW });
      recordResponse(store, { name: 'work' }, action);
      if (action.kind === 'failover' && action.reason === 'window_exhausted') {
        expect(action.cooldownMs).toBeLessThanOrEqual(action.window === '5h' ? CAP_5H_MS : CAP_7D_MS);
      }
      const back = soonestAvailableMs([{ name: 'work' }], store);
      expect(back).not.toBeNull();
      expect(back as number).toBeLessThanOrEqual(NOW + CAP_7D_MS);
      // Past the 5-hour cap only a rejected weekly window may keep the account exhausted.
      advance(CAP_5H_MS);
      const weekly = store.rateLimits('work')?.status7d;
      if (weekly !== 'rejected' && weekly !== 'exhausted') expect(store.isExhausted('work')).toBe(false);
      advance(CAP_7D_MS - CAP_5H_MS);
      expect(store.isExhausted('work')).toBe(false);
      expect(store.isAvailable('work')).toBe(true);
    },
  );
});
