/**
 * Failover, driven by the official SDK: every upstream failure the mock can produce, streamed and
 * not, must reach the client as a success from the next account, with the failed account cooled
 * exactly as core's policy says: at once when the failure is the account's, and for a 5xx or a
 * transport error only once a second request fails on it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MockReply } from '../src/mock-upstream.js';
import { fakeClock, messageParams, startStack, streamText, textOf, T0_MS, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

interface Case {
  readonly name: string;
  readonly reply: MockReply;
  /** The cooldown core's policy gives `a` (ms from the fake clock's now), or null for none. */
  readonly cooldownMs: number | null;
  readonly why: string;
}

const CASES: readonly Case[] = [
  { name: '429 with a rejected 5h window', reply: { kind: 'window-429', window: '5h', resetInSecs: 3600 }, cooldownMs: 3_600_500, why: 'window_exhausted' },
  { name: '429 with a rejected 7d window', reply: { kind: 'window-429', window: '7d', resetInSecs: 86_400 }, cooldownMs: 86_400_500, why: 'window_exhausted' },
  { name: 'burst 429 with retry-after', reply: { kind: 'burst-429', retryAfterSecs: 42 }, cooldownMs: 42_000, why: 'retry_after' },
  { name: 'request-scoped 429 (x-should-retry, no rate-limit headers)', reply: { kind: 'request-scoped-429' }, cooldownMs: null, why: 'request_scoped' },
  { name: '529 overloaded', reply: { kind: 'status', status: 529 }, cooldownMs: 30_000, why: 'overloaded' },
  { name: '401 on an API key', reply: { kind: 'status', status: 401 }, cooldownMs: 300_000, why: 'unauthorized' },
  { name: '403 forbidden', reply: { kind: 'status', status: 403 }, cooldownMs: 1_800_000, why: 'forbidden' },
  // One request's 5xx or transport error may be the request's fault: nothing cools yet.
  { name: '500', reply: { kind: 'status', status: 500 }, cooldownMs: null, why: 'server_error' },
  { name: '503', reply: { kind: 'status', status: 503 }, cooldownMs: null, why: 'server_error' },
  { name: 'connection dropped before the headers', reply: { kind: 'drop' }, cooldownMs: null, why: 'transport_error' },
  { name: 'a stream that opens with overloaded_error', reply: { kind: 'stream-error', errorType: 'overloaded_error', afterEvents: 0 }, cooldownMs: 30_000, why: 'stream_error' },
  { name: 'a stream that opens with rate_limit_error', reply: { kind: 'stream-error', errorType: 'rate_limit_error', afterEvents: 0 }, cooldownMs: 60_000, why: 'stream_error' },
];

describe.each([
  ['non-streaming', false],
  ['streaming', true],
] as const)('failover (%s)', (_label, streaming) => {
  it.each(CASES)('should fail over silently on $name', async ({ reply, cooldownMs, why }) => {
    // A stream-error reply only makes sense for a streamed request.
    if (reply.kind === 'stream-error' && !streaming) return;
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', reply);
    const text = streaming
      ? await streamText(stack.client, 'matrix')
      : textOf(await stack.client.messages.create(messageParams('matrix')));
    expect(text).toBe('served by b');
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.attempts.map((a) => [a.account, a.action, a.failover])).toEqual([
      ['a', 'failover', why],
      ['b', 'success', undefined],
    ]);
    expect(stack.store.cooldownUntilMs('a')).toBe(cooldownMs === null ? null : T0_MS + cooldownMs);
    // The next request avoids a while it cools (and goes back to it when nothing cooled it).
    const next = textOf(await stack.client.messages.create(messageParams('next')));
    if (cooldownMs === null) expect(next).toBe('served by a');
    else expect(next).not.toBe('served by a');
  });
});

describe('account faults and request faults', () => {
  it('should cool an account for 10 s once a second request gets a 5xx or a dropped connection from it', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'status', status: 502 }, { kind: 'drop' });
    expect(textOf(await stack.client.messages.create(messageParams('first')))).toBe('served by b');
    expect(stack.store.cooldownUntilMs('a')).toBeNull();
    expect(textOf(await stack.client.messages.create(messageParams('second')))).not.toBe('served by a');
    expect(stack.mock.requests.filter((r) => r.account === 'a')).toHaveLength(2);
    expect(stack.store.cooldownUntilMs('a')).toBe(T0_MS + 10_000);
  });

  it('should hand a poison request its 500 without cooling any account, and serve the next request', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    for (const name of ['a', 'b', 'c']) stack.mock.script(name, { kind: 'status', status: 500 });
    const error = await stack.client.messages.create(messageParams('poison')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500 });
    expect(stack.mock.requests).toHaveLength(3);
    expect(clock.sleeps).toEqual([]);
    for (const name of ['a', 'b', 'c']) expect(stack.store.isAvailable(name), name).toBe(true);
    expect(textOf(await stack.client.messages.create(messageParams('ordinary')))).toBe('served by a');
  });
});

describe('failures that do not fail over', () => {
  it('should hand a 400 back to the client as it is, from the account that answered it', async () => {
    stack = await startStack();
    stack.mock.script('a', { kind: 'status', status: 400 });
    const error = await stack.client.messages.create(messageParams('bad')).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error' } } });
    expect(stack.mock.requests).toHaveLength(1);
    expect(stack.store.isAvailable('a')).toBe(true);
  });
});

describe('errors inside a stream that is already under way', () => {
  it('should pass an overloaded_error event to the client and cool the account for the next request', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    // The error comes after the first content event reached the client: too late to fail over.
    stack.mock.script('a', { kind: 'stream-error', errorType: 'overloaded_error', afterEvents: 5, errorDelayMs: 30 });
    const error = await streamText(stack.client, 'mid').catch((e: unknown) => e);
    expect(error).toMatchObject({ error: { type: 'error', error: { type: 'overloaded_error' } } });
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.streamError).toBe('overloaded_error');
    expect(record.account).toBe('a');
    expect(stack.store.cooldownUntilMs('a')).toBe(T0_MS + 30_000);
    expect(textOf(await stack.client.messages.create(messageParams('after')))).toBe('served by b');
  });

  it('should record a rate_limit_error event against the account', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'stream-error', errorType: 'rate_limit_error', afterEvents: 4, errorDelayMs: 30 });
    await streamText(stack.client, 'mid').catch(() => undefined);
    expect(stack.store.cooldownUntilMs('a')).toBe(T0_MS + 60_000);
  });

  it('should not cool the account for an api_error event', async () => {
    stack = await startStack();
    stack.mock.script('a', { kind: 'stream-error', errorType: 'api_error', afterEvents: 5, errorDelayMs: 30 });
    await streamText(stack.client, 'mid').catch(() => undefined);
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.streamError).toBe('api_error');
    expect(stack.store.isAvailable('a')).toBe(true);
  });

  it('should cut the client off when the upstream drops mid-stream, and cool the account when it happens to a second request', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock });
    stack.mock.script('a', { kind: 'drop', afterEvents: 5 }, { kind: 'drop', afterEvents: 5 });
    const error = await streamText(stack.client, 'drop').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.outcome).toBe('stream_failed');
    expect(stack.store.cooldownUntilMs('a')).toBeNull();
    const recorded = stack.nextRecord();
    await streamText(stack.client, 'drop again').catch((e: unknown) => e);
    expect((await recorded).outcome).toBe('stream_failed');
    expect(stack.store.cooldownUntilMs('a')).toBe(T0_MS + 10_000);
  });
});

describe('stalled upstreams (request_timeout_secs)', () => {
  it('should fail over when an upstream sends no headers within the timeout', async () => {
    stack = await startStack({ server: { request_timeout_secs: 0.3 } });
    stack.mock.script('a', { kind: 'stall-headers' });
    const started = Date.now();
    expect(textOf(await stack.client.messages.create(messageParams('stall')))).toBe('served by b');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await stack.mock.requests[0]?.closed).toBe('aborted');
  });

  it('should cut a stream off when it stalls longer than the timeout, and cool the account when a second one stalls', async () => {
    stack = await startStack({ server: { request_timeout_secs: 0.3 } });
    stack.mock.script('a', { kind: 'stall', afterEvents: 5 }, { kind: 'stall', afterEvents: 5 });
    const error = await streamText(stack.client, 'stall').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.outcome).toBe('stream_failed');
    expect(stack.store.isAvailable('a')).toBe(true);
    expect(await stack.mock.requests[0]?.closed).toBe('aborted');
    const recorded = stack.nextRecord();
    await streamText(stack.client, 'stall again').catch((e: unknown) => e);
    expect((await recorded).outcome).toBe('stream_failed');
    expect(stack.store.isAvailable('a')).toBe(false);
  });
});

describe('bursts', () => {
  it('should fail a burst over together and send no new request to an account known to be cooling', async () => {
    stack = await startStack();
    const burst = 32;
    // a answers slowly, so many requests of the burst are picked for it before its first 429 arrives.
    for (let i = 0; i < burst; i++) stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 60, delayMs: 200 });
    const results = await Promise.all(
      Array.from({ length: burst }, async (_, i) => textOf(await stack!.client.messages.create(messageParams(`burst-${i}`)))),
    );
    expect(results.every((text) => text !== 'served by a')).toBe(true);
    const toA = stack.mock.requests.filter((r) => r.account === 'a').length;
    expect(toA).toBeGreaterThan(1);
    expect(stack.records.every((r) => r.status === 200)).toBe(true);
    // Once the first 429 was recorded, nothing new goes to a.
    await Promise.all(Array.from({ length: 16 }, (_, i) => stack!.client.messages.create(messageParams(`after-${i}`))));
    expect(stack.mock.requests.filter((r) => r.account === 'a')).toHaveLength(toA);
  });
});
