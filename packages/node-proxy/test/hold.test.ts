/**
 * Auto-resume: when no account is eligible, a request waits for the first one back (on an
 * injected clock, so nothing here sleeps for real), and gives up with an honest retry-after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, messageParams, startStack, streamText, T0_MS, textOf, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe('holding a request until an account is back', () => {
  it('should wait for the soonest account and then serve the request', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 90 });
    stack.mock.script('b', { kind: 'burst-429', retryAfterSecs: 30 });
    stack.mock.script('c', { kind: 'burst-429', retryAfterSecs: 60 });
    expect(textOf(await stack.client.messages.create(messageParams('held')))).toBe('served by b');
    const record = stack.records[0] ?? (await stack.nextRecord());
    // One wait, exactly until b's cooldown ends (plus the wake margin).
    expect(clock.sleeps).toEqual([30_000 + 25]);
    expect(record.heldMs).toBe(30_025);
    expect(record.attempts.map((a) => `${a.account}:${a.action}`)).toEqual(['a:failover', 'b:failover', 'c:failover', 'b:success']);
    expect(record.outcome).toBe('served');
  });

  it('should hold a streamed request the same way', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 529 });
    // All three come back at the same instant; the conversation stuck to c, the last one picked.
    expect(await streamText(stack.client, 'held-stream')).toBe('served by c');
    expect(clock.sleeps).toEqual([30_025]);
  });

  it('should hold a new request when every account is already known to be cooling, without calling the upstream first', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.store.setCooldown(name, 45_000);
    expect(textOf(await stack.client.messages.create(messageParams('known')))).toBe('served by a');
    expect(clock.sleeps).toEqual([45_025]);
    expect(stack.mock.requests).toHaveLength(1);
  });

  it('should wait for an exhausted window to reset', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock, server: { request_timeout_secs: 600 } });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'window-429', window: '5h', resetInSecs: 120 + (name === 'c' ? 0 : 300) });
    expect(textOf(await stack.client.messages.create(messageParams('reset')))).toBe('served by c');
    // c's window resets first: cooled until reset + 500 ms.
    expect(clock.sleeps).toEqual([120_500 + 25]);
  });

  it('should re-check after waking and wait again if the account was taken meanwhile', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.store.setCooldown(name, 10_000);
    const sleep = clock.sleep;
    let woke = 0;
    // While the request sleeps, another request's 429 cools every account again.
    const wrapped = async (ms: number, signal: AbortSignal): Promise<void> => {
      await sleep(ms, signal);
      if (woke++ === 0) for (const name of ['a', 'b', 'c']) stack!.store.setCooldown(name, 20_000);
    };
    await stack.close();
    stack = await startStack({ clock, proxy: { sleep: wrapped } });
    for (const name of ['a', 'b', 'c']) stack.store.setCooldown(name, 10_000);
    expect(textOf(await stack.client.messages.create(messageParams('again')))).toBe('served by a');
    expect(clock.sleeps).toEqual([10_025, 20_025]);
  });
});

describe('giving up', () => {
  it('should answer as Anthropic would for a spent account when the soonest account is back after the wait limit', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock, server: { request_deadline_secs: 600 } });
    stack.mock.script('a', { kind: 'window-429', window: '5h', resetInSecs: 7_200 });
    stack.mock.script('b', { kind: 'window-429', window: '7d', resetInSecs: 86_400 });
    stack.mock.script('c', { kind: 'window-429', window: '5h', resetInSecs: 3_600 });
    const error = await stack.client.messages.create(messageParams('spent')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, error: { type: 'error', error: { type: 'rate_limit_error' } } });
    const headers = (error as { headers: Headers }).headers;
    // c is back first: its reset (3600 s) plus the 500 ms margin, rounded up.
    expect(headers.get('retry-after')).toBe('3601');
    // Longer than a client should sleep through (client_retry_limit_secs, 60 s): SDKs stop and show it.
    expect(headers.get('x-should-retry')).toBe('false');
    expect(headers.get('anthropic-ratelimit-unified-status')).toBe('rejected');
    expect(headers.get('anthropic-ratelimit-unified-reset')).toBe(String(T0_MS / 1000 + 3_601));
    expect(headers.get('anthropic-ratelimit-unified-5h-status')).toBe('rejected');
    expect(clock.sleeps).toEqual([]);
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.outcome).toBe('spent');
    expect(record.status).toBe(429);
  });

  it('should invite the client to retry a spent pool that is back within client_retry_limit_secs', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock, server: { request_deadline_secs: 5, client_retry_limit_secs: 60 } });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'burst-429', retryAfterSecs: 30 });
    const error = await stack.client.messages.create(messageParams('soon')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, error: { error: { type: 'rate_limit_error' } } });
    const headers = (error as { headers: Headers }).headers;
    expect(headers.get('retry-after')).toBe('30');
    expect(headers.get('x-should-retry')).toBe('true');
  });

  it('should give up at once, without a retry-after, when every account is disabled', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.store.disable(name, 'test');
    const error = await stack.client.messages.create(messageParams('disabled')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503 });
    expect((error as { headers: Headers }).headers.get('retry-after')).toBeNull();
    expect((error as { headers: Headers }).headers.get('x-should-retry')).toBe('false');
    expect((error as { error: { error: { message: string } } }).error.error.message).toContain('a: test; b: test; c: test');
    expect(stack.mock.requests).toHaveLength(0);
  });

  it('should hand back the last failure instead of waiting when every account failed with an error a wait does not fix', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 401 });
    const error = await stack.client.messages.create(messageParams('keys')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, error: { error: { type: 'authentication_error' } } });
    expect((error as { headers: Headers }).headers.get('x-shunt-account')).toBe('c');
    expect(clock.sleeps).toEqual([]);
    expect(stack.records[0]?.outcome ?? (await stack.nextRecord()).outcome).toBe('failed_over_out');
  });

  it('should hand back a request-scoped 429 when every account refused the request itself', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'request-scoped-429' });
    const error = await stack.client.messages.create(messageParams('scoped')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429 });
    expect((error as { headers: Headers }).headers.get('x-should-retry')).toBe('true');
    expect(stack.mock.requests).toHaveLength(3);
    expect(clock.sleeps).toEqual([]);
  });

  it('should answer 502 when every upstream is unreachable', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'drop' });
    const error = await stack.client.messages.create(messageParams('down')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, error: { error: { type: 'api_error' } } });
    expect(clock.sleeps).toEqual([]);
  });
});

describe('a client that leaves while held', () => {
  it('should stop waiting the moment the client disconnects, and never call the upstream', async () => {
    // Real timers: the hold would last a minute.
    stack = await startStack();
    for (const name of ['a', 'b', 'c']) stack.store.setCooldown(name, 60_000);
    const controller = new AbortController();
    const pending = stack.client.messages.create(messageParams('leaving'), { signal: controller.signal }).catch((e: unknown) => e);
    const recorded = stack.nextRecord();
    // Wait until the proxy reports the request as held.
    for (let i = 0; i < 100 && stack.proxy.status().held === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(stack.proxy.status().held).toBe(1);
    const abortedAt = Date.now();
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    const record = await recorded;
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    expect(record.outcome).toBe('client_gone');
    expect(stack.proxy.status().held).toBe(0);
    expect(stack.mock.requests).toHaveLength(0);
  });

  it('should answer held requests with 503 when the proxy shuts down', async () => {
    stack = await startStack();
    for (const name of ['a', 'b', 'c']) stack.store.setCooldown(name, 60_000);
    const pending = stack.client.messages.create(messageParams('shutdown')).catch((e: unknown) => e);
    for (let i = 0; i < 100 && stack.proxy.status().held === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await stack.proxy.close();
    expect(await pending).toMatchObject({ status: 503 });
  });
});
