import { describe, expect, it } from 'vitest';
import { allAccountsSpent, anthropicError } from './errors.js';

describe('allAccountsSpent', () => {
  it('should say in retry-after how many seconds until the first account is back, rounded up', () => {
    expect(allAccountsSpent(10_001, 0).headers['retry-after']).toBe('11');
    expect(allAccountsSpent(3_600_500, 0).headers['retry-after']).toBe('3601');
    // Never 0: a client would retry at once.
    expect(allAccountsSpent(100, 100).headers['retry-after']).toBe('1');
  });

  it('should send no retry-after when every account is disabled', () => {
    const response = allAccountsSpent(null, 0);
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(response.body)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('should use the API error shape', () => {
    expect(JSON.parse(anthropicError(413, 'request_too_large', 'too big').body)).toEqual({
      type: 'error',
      error: { type: 'request_too_large', message: 'too big' },
    });
  });
});
