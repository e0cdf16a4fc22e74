import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_HEADER,
  DROPPED_RESPONSE_HEADERS,
  clientResponseHeaders,
  isForwardedRequestHeader,
  upstreamRequestHeaders,
} from './headers.js';

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'proxy-authorization', 'cookie', 'x-auth-token', 'api-key'];

/** Header names as Node delivers them (lower case), biased towards the interesting ones. */
const arbHeaderName = fc.oneof(
  fc.constantFrom(...CREDENTIAL_HEADERS, 'anthropic-version', 'anthropic-beta', 'content-type', 'accept', 'host', 'connection', 'x-stainless-os', 'user-agent', 'x-claude-code-session-id'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
);
const arbHeaders = fc.dictionary(arbHeaderName, fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1, maxLength: 3 })));

describe('upstreamRequestHeaders', () => {
  test.prop([arbHeaders, fc.string({ minLength: 1 })])(
    'should never pass a client credential upstream, only the account one',
    (incoming, accountKey) => {
      const out = upstreamRequestHeaders(incoming, { 'x-api-key': accountKey });
      expect(out['x-api-key']).toBe(accountKey);
      for (const name of CREDENTIAL_HEADERS) if (name !== 'x-api-key') expect(out[name]).toBeUndefined();
      for (const name of Object.keys(out)) {
        if (name === 'x-api-key') continue;
        expect(isForwardedRequestHeader(name)).toBe(true);
      }
    },
  );

  test.prop([arbHeaders])('should copy every allow-listed header unchanged', (incoming) => {
    const out = upstreamRequestHeaders(incoming, {});
    for (const [name, value] of Object.entries(incoming)) {
      if (!isForwardedRequestHeader(name)) continue;
      expect(out[name]).toBe(typeof value === 'string' ? value : value.join(', '));
    }
  });

  it('should keep what Claude Code sends that the API needs, and drop the rest', () => {
    const out = upstreamRequestHeaders(
      {
        host: '127.0.0.1:8082',
        'content-type': 'application/json',
        'content-length': '12',
        accept: 'application/json',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'claude-code-20250219',
        'anthropic-dangerous-direct-browser-access': 'true',
        'x-app': 'cli',
        'x-claude-code-session-id': 's',
        'user-agent': 'claude-cli/2.0',
        'accept-encoding': 'gzip',
        connection: 'keep-alive',
        'x-stainless-retry-count': '0',
        authorization: 'Bearer oauth-token',
      },
      { 'x-api-key': 'k' },
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219',
      'anthropic-dangerous-direct-browser-access': 'true',
      'x-app': 'cli',
      'x-claude-code-session-id': 's',
      'user-agent': 'claude-cli/2.0',
      'x-api-key': 'k',
    });
  });

  it("should merge a credential's anthropic-beta into the client's", () => {
    const out = upstreamRequestHeaders({ 'anthropic-beta': 'a-1, b-2' }, { authorization: 'Bearer t', 'anthropic-beta': 'oauth-2025-04-20,a-1' });
    expect(out['anthropic-beta']).toBe('a-1,b-2,oauth-2025-04-20');
    expect(out['authorization']).toBe('Bearer t');
  });
});

describe('clientResponseHeaders', () => {
  test.prop([arbHeaders, fc.constantFrom('a', 'work')])('should drop hop-by-hop headers and cookies, and name the account', (upstream, account) => {
    const out = clientResponseHeaders(upstream, account);
    for (const name of DROPPED_RESPONSE_HEADERS) expect(out[name]).toBeUndefined();
    expect(out[ACCOUNT_HEADER]).toBe(account);
  });

  it('should keep rate-limit headers and content-length, and drop headers the connection header names', () => {
    const out = clientResponseHeaders(
      {
        'content-type': 'application/json',
        'content-length': '42',
        'anthropic-ratelimit-unified-5h-utilization': '0.5',
        'set-cookie': ['a=1', 'b=2'],
        connection: 'keep-alive, x-private',
        'x-private': 'secret',
        'transfer-encoding': 'chunked',
        'request-id': 'req_1',
      },
      'a',
    );
    expect(out).toEqual({
      'content-type': 'application/json',
      'content-length': '42',
      'anthropic-ratelimit-unified-5h-utilization': '0.5',
      'request-id': 'req_1',
      'x-shunt-account': 'a',
    });
  });

  it('should drop the header a one-token connection header names, whatever its case', () => {
    const out = clientResponseHeaders({ 'content-type': 'application/json', connection: ' X-Private ', 'x-private': 'secret' }, 'a');
    expect(out).toEqual({ 'content-type': 'application/json', 'x-shunt-account': 'a' });
  });
});
