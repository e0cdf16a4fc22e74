/**
 * Regressions found when the proxy was first tried for real (issue 10): a crash, a hang, and
 * answers that misled clients. Each test failed on the code before the fix.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, messageParams, startStack, streamText, T0_MS, textOf, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** POST a Messages request with fetch; fails the test (instead of hanging it) after `timeoutMs`. */
async function post(target: Stack, path: string, body: unknown, timeoutMs = 5_000): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(`${target.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'client' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe('a stream that opens with message_start, then an overloaded or rate-limit error, then ends', () => {
  // Before the fix the failover destroyed the body after its reader had let go of it: undici's
  // abort error went unhandled and killed the process (vitest reports it as an unhandled error).
  for (const delivery of ['per-event', 'one-write'] as const) {
    it(`should fail over to the next account instead of crashing the process (${delivery})`, async () => {
      const clock = fakeClock();
      stack = await startStack({ clock });
      stack.mock.script('a', { kind: 'stream-error', errorType: 'overloaded_error', afterEvents: 1, delivery });
      expect(await streamText(stack.client, 'crash')).toBe('served by b');
      // The overload is the account's: it cools; the process is alive and serving.
      expect(stack.store.isAvailable('a')).toBe(false);
      expect(textOf(await stack.client.messages.create(messageParams('after')))).not.toBe('served by a');
    });

    it(`should fail over the same way for a rate_limit_error (${delivery})`, async () => {
      stack = await startStack();
      stack.mock.script('a', { kind: 'stream-error', errorType: 'rate_limit_error', afterEvents: 1, delivery });
      expect(await streamText(stack.client, 'crash')).toBe('served by b');
    });
  }
});

describe('a whole stream in one read', () => {
  it('should end the client response (a short stream)', async () => {
    stack = await startStack();
    stack.mock.setDelivery('one-write');
    const { status, text } = await post(stack, '/v1/messages', { ...messageParams('short'), stream: true });
    expect(status).toBe(200);
    expect(text).toContain('event: message_stop');
    expect(text).toBe(Buffer.concat(stack.mock.requests[0]?.sent.body ?? []).toString());
  });

  it('should end the client response (an api_error event after content, then close)', async () => {
    stack = await startStack();
    stack.mock.script('a', { kind: 'stream-error', errorType: 'api_error', afterEvents: 5, delivery: 'one-write' });
    const { status, text } = await post(stack, '/v1/messages', { ...messageParams('api error'), stream: true });
    expect(status).toBe(200);
    expect(text.endsWith('"message":"mock api_error"}}\n\n')).toBe(true);
  });
});

describe('answers that must not mislead clients', () => {
  it('should answer a stream whose opening failed on every account with the JSON error it stands for, and a plain request the same while they cool', async () => {
    const clock = fakeClock();
    const target = await startStack({ clock });
    stack = target;
    const apiError = { kind: 'stream-error', errorType: 'api_error', afterEvents: 1, delivery: 'one-write' } as const;
    for (const name of ['a', 'b', 'c']) target.mock.script(name, apiError, apiError);
    const stream = (conversation: string): Promise<unknown> => streamText(target.client, conversation).catch((e: unknown) => e);
    // Two different requests meet an api_error on every account: each account's fault is confirmed.
    for (const conversation of ['first', 'second']) {
      expect(await stream(conversation)).toMatchObject({ status: 500, error: { error: { type: 'api_error', message: 'mock api_error' } } });
    }
    expect(stack.mock.requests).toHaveLength(6);
    for (const name of ['a', 'b', 'c']) expect(stack.store.cooldownUntilMs(name), name).toBe(T0_MS + 10_000);
    // While they cool, a plain request gets the same error at once, as JSON: not an event stream
    // the SDK would hand back as if it were a message.
    const plain = await stack.client.messages.create(messageParams('third')).catch((e: unknown) => e);
    expect(plain).toMatchObject({ status: 500, error: { error: { type: 'api_error' } } });
    expect(stack.mock.requests).toHaveLength(6);
    expect(clock.sleeps).toEqual([]);
  });

  it('should answer at once with the upstream 401 when every account refuses its key, not hold for the cooldown', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 401 });
    const first = await stack.client.messages.create(messageParams('keys')).catch((e: unknown) => e);
    expect(first).toMatchObject({ status: 401, error: { error: { type: 'authentication_error' } } });
    // Every account now cools for 5 minutes; a wait would not fix a key.
    const second = await stack.client.messages.create(messageParams('keys again')).catch((e: unknown) => e);
    expect(second).toMatchObject({ status: 401, error: { error: { type: 'authentication_error' } } });
    expect(clock.sleeps).toEqual([]);
    expect(stack.mock.requests).toHaveLength(3);
  });

  it('should pass on a 403 the same way, and prefer the auth error over a 5xx', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock, proxy: { policy: { accountFaultRequests: 1 } } });
    stack.mock.script('a', { kind: 'status', status: 500 });
    stack.mock.script('b', { kind: 'status', status: 403 });
    stack.mock.script('c', { kind: 'status', status: 500 });
    await stack.client.messages.create(messageParams('mixed')).catch(() => undefined);
    const later = await stack.client.messages.create(messageParams('mixed later')).catch((e: unknown) => e);
    expect(later).toMatchObject({ status: 403, error: { error: { type: 'permission_error' } } });
    expect(clock.sleeps).toEqual([]);
  });

  it('should bound a request against black-holed accounts by request_deadline_secs, not accounts × request_timeout_secs', async () => {
    stack = await startStack({ server: { request_timeout_secs: 1, request_deadline_secs: 1.5 } });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'stall-headers' });
    const { status, text } = await post(stack, '/v1/messages', messageParams('black hole'));
    expect(status).toBe(504);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'api_error', message: expect.stringContaining('request_deadline_secs') } });
    // a used its 1 s, b (if undici's coarse timers left any) what was left of the 1.5 s; c was never asked.
    const asked = stack.mock.requests.map((r) => r.account);
    expect(asked[0]).toBe('a');
    expect(asked).not.toContain('c');
  });

  it('should not let one poison request make the pool unavailable to other requests', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 500 });
    const poison = await stack.client.messages.create(messageParams('poison')).catch((e: unknown) => e);
    expect(poison).toMatchObject({ status: 500 });
    // The client retries the same request: still one request's fault.
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 500 });
    await stack.client.messages.create(messageParams('poison')).catch(() => undefined);
    expect(['a', 'b', 'c'].every((name) => stack!.store.isAvailable(name))).toBe(true);
    expect(textOf(await stack.client.messages.create(messageParams('innocent')))).toBe('served by a');
    expect(clock.sleeps).toEqual([]);
  });
});

describe('paths', () => {
  it('should refuse percent-encoded dot segments like plain ones', async () => {
    stack = await startStack();
    for (const path of ['/v1/%2e%2e/admin', '/v1/%2E%2E/admin', '/v1/.%2e/x', '/v1/messages/%2e%2e%2f%2e%2e%2fadmin', '/v1/%2e/x', '/v1/x%5c..%5cy']) {
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(stack!.proxyUrl);
        const req = request({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
      expect(status, path).toBe(404);
    }
    expect(stack.mock.requests).toHaveLength(0);
  });
});

describe('count_tokens', () => {
  const countBody = { model: 'claude-test-model', messages: [{ role: 'user', content: 'hello from counting' }], system: 'conversation counting' };

  it('should neither stick a conversation nor cool an account on its 429', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 60 });
    const counted = await post(stack, '/v1/messages/count_tokens', countBody);
    expect(counted.status).toBe(200);
    expect(counted.headers.get('x-shunt-account')).toBe('b');
    // Its own limit, not the account's: /v1/messages still goes to a.
    expect(stack.store.isAvailable('a')).toBe(true);
    expect(textOf(await stack.client.messages.create(messageParams('counting')))).toBe('served by a');
    expect(Object.values(stack.store.snapshot().sticky).map((s) => s.account)).toEqual(['a']);
  });

  it('should cool the account when its unified headers say the window is spent', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'window-429', window: '5h', resetInSecs: 3_600 });
    expect((await post(stack, '/v1/messages/count_tokens', countBody)).headers.get('x-shunt-account')).toBe('b');
    expect(stack.store.isAvailable('a')).toBe(false);
  });
});
