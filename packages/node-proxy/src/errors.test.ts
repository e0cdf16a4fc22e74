import { describe, expect, it } from 'vitest';
import { allAccountsSpent, anthropicError, noAccountUsable, requestTimedOut } from './errors.js';

describe('allAccountsSpent', () => {
  it('should say in retry-after how many seconds until the first account is back, rounded up', () => {
    expect(allAccountsSpent(10_001, 0, null, 60_000).headers['retry-after']).toBe('11');
    expect(allAccountsSpent(3_600_500, 0, null, 60_000).headers['retry-after']).toBe('3601');
    // Never 0: a client would retry at once.
    expect(allAccountsSpent(100, 100, null, 60_000).headers['retry-after']).toBe('1');
  });

  it('should answer as Anthropic answers a spent account: 429 rate_limit_error with the unified headers', () => {
    const soonest = { utilization5h: 1, reset5hSecs: 1_767_600_000, status5h: 'rejected' as const, utilization7d: 0.4, representativeClaim: 'five_hour', updatedMs: 0 };
    const response = allAccountsSpent(1_767_600_000_500, 1_767_599_000_000, soonest, 60_000);
    expect(response.status).toBe(429);
    expect(JSON.parse(response.body)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(response.headers).toMatchObject({
      'retry-after': '1001',
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': '1767600001',
      'anthropic-ratelimit-unified-5h-status': 'rejected',
      'anthropic-ratelimit-unified-5h-reset': '1767600000',
      'anthropic-ratelimit-unified-5h-utilization': '1',
      'anthropic-ratelimit-unified-7d-utilization': '0.4',
      'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    });
  });

  it('should tell clients not to retry when the wait is longer than the client retry limit', () => {
    expect(allAccountsSpent(60_000, 0, null, 60_000).headers['x-should-retry']).toBe('true');
    expect(allAccountsSpent(60_001, 0, null, 60_000).headers['x-should-retry']).toBe('false');
    expect(allAccountsSpent(3_245_000, 0, null, 60_000).headers['x-should-retry']).toBe('false');
  });
});

describe('noAccountUsable and requestTimedOut', () => {
  it('should name every account and tell clients not to retry', () => {
    const response = noAccountUsable(['a: needs login', 'b: no credential: $KEY is not set']);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(response.body).error.message).toContain('a: needs login; b: no credential');
  });

  it('should answer 504 naming request_deadline_secs', () => {
    const response = requestTimedOut(90);
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body).error.message).toContain('request_deadline_secs (1 min 30 s)');
  });
});

describe('anthropicError', () => {
  it('should use the API error shape', () => {
    expect(JSON.parse(anthropicError(413, 'request_too_large', 'too big').body)).toEqual({
      type: 'error',
      error: { type: 'request_too_large', message: 'too big' },
    });
  });
});
