/**
 * The request path, driven by the official Anthropic SDK: forwarding (byte-exact bodies, the
 * header allow-list, credentials), streaming, stickiness, body limits.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeClock, messageParams, startStack, streamText, textOf, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe('forwarding', () => {
  it('should answer a non-streaming request from the first account and say which one served it', async () => {
    stack = await startStack();
    const { data, response } = await stack.client.messages.create(messageParams('one')).withResponse();
    expect(textOf(data)).toBe('served by a');
    expect(response.headers.get('x-shunt-account')).toBe('a');
    // Rate-limit headers reach the client unchanged.
    expect(response.headers.get('anthropic-ratelimit-unified-5h-status')).toBe('allowed');
  });

  it('should forward the body byte for byte and replace the client credential with the account key', async () => {
    stack = await startStack();
    // Odd spacing and key order: a re-serialised body would differ.
    const body = '{ "model":"claude-sonnet-4-5",  "max_tokens": 64,\n"messages":[{"role":"user","content":"h\\u00e9llo ✓"}] }';
    const response = await fetch(`${stack.proxyUrl}/v1/messages?beta=true&x=1`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'prompt-caching-2024-07-31',
        'x-claude-code-session-id': 'session-1',
        'x-api-key': 'client-key',
        authorization: 'Bearer client-token',
        cookie: 'session=secret',
        'x-stainless-os': 'Linux',
      },
      body,
    });
    expect(response.status).toBe(200);
    const seen = stack.mock.requests[0];
    expect(seen?.url).toBe('/v1/messages?beta=true&x=1');
    expect(seen?.body.toString('utf8')).toBe(body);
    expect(seen?.headers['x-api-key']).toBe('key-a');
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(seen?.headers['x-claude-code-session-id']).toBe('session-1');
    expect(seen?.headers['authorization']).toBeUndefined();
    expect(seen?.headers['cookie']).toBeUndefined();
    expect(seen?.headers['x-stainless-os']).toBeUndefined();
    expect(seen?.headers['accept-encoding']).toBeUndefined();
  });

  it('should forward GET requests with their query string (the SDK lists models)', async () => {
    stack = await startStack();
    const page = await stack.client.models.list({ limit: 5 });
    expect(page.data[0]?.id).toBe('claude-mock');
    expect(stack.mock.requests[0]?.url).toBe('/v1/models?limit=5');
    expect(stack.mock.requests[0]?.method).toBe('GET');
  });

  it('should pass a body that is not JSON through unchanged and hand back the upstream 400', async () => {
    stack = await startStack();
    const response = await fetch(`${stack.proxyUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'this is { not json',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-shunt-account')).toBe('a');
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect(stack.mock.requests[0]?.body.toString()).toBe('this is { not json');
    // A client error is not the account's fault: nothing cools.
    expect(stack.store.isAvailable('a')).toBe(true);
  });

  it('should refuse paths outside /v1 in the API error shape', async () => {
    stack = await startStack();
    for (const path of ['/status', '/', '/v1/../admin', '/v2/messages']) {
      const response = await fetch(`${stack.proxyUrl}${path}`, { method: 'POST', body: '{}' });
      expect(response.status, path).toBe(404);
      expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    }
    expect(stack.mock.requests).toHaveLength(0);
  });
});

describe('streaming', () => {
  it('should stream a response through the SDK', async () => {
    stack = await startStack({ streamDeltas: 5 });
    expect(await streamText(stack.client, 'one')).toBe('served by a');
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.stream).toBe(true);
    expect(record.outcome).toBe('served');
  });

  it('should pass the stream through byte for byte', async () => {
    stack = await startStack({ streamDeltas: 7 });
    const body = JSON.stringify({ ...messageParams('bytes'), stream: true });
    const viaProxy = await rawPost(`${stack.proxyUrl}/v1/messages`, body, { 'x-api-key': 'x' });
    // The same request straight to the mock, with the account's key.
    const direct = await rawPost(`${stack.mock.url}/v1/messages`, body, { 'x-api-key': 'key-a' });
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.headers['content-type']).toContain('text/event-stream');
    // Only the message id (the mock numbers requests) differs.
    expect(viaProxy.body.toString().replaceAll(/req_mock_\d+/g, 'ID')).toBe(direct.body.toString().replaceAll(/req_mock_\d+/g, 'ID'));
  });

  it('should hold a large answer back for a client that reads slowly, and lose nothing', async () => {
    // Megabytes of events: more than the sockets buffer, so the proxy has to wait for the client.
    stack = await startStack({ streamDeltas: 20_000 });
    const body = JSON.stringify({ ...messageParams('slow reader'), stream: true });
    const viaProxy = await rawPost(`${stack.proxyUrl}/v1/messages`, body, { 'x-api-key': 'x' }, 300);
    const direct = await rawPost(`${stack.mock.url}/v1/messages`, body, { 'x-api-key': 'key-a' });
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.body.length).toBeGreaterThan(1_000_000);
    expect(viaProxy.body.toString().replaceAll(/req_mock_\d+/g, 'ID')).toBe(direct.body.toString().replaceAll(/req_mock_\d+/g, 'ID'));
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.outcome).toBe('served');
  });

  it('should abort the upstream request at once when the client goes away mid-stream', async () => {
    stack = await startStack();
    stack.mock.script('a', { kind: 'stall', afterEvents: 5 });
    const controller = new AbortController();
    const stream = await stack.client.messages.create({ ...messageParams('abort'), stream: true }, { signal: controller.signal });
    const events: string[] = [];
    // The SDK ends the iteration quietly (or throws) once aborted; either way the client is gone.
    try {
      for await (const event of stream) {
        events.push(event.type);
        if (events.length === 2) controller.abort();
      }
    } catch {
      // aborted
    }
    // The opening and the first content arrive together (the opening is held back until content).
    expect(events.slice(0, 2)).toEqual(['message_start', 'content_block_start']);
    expect(await stack.mock.requests[0]?.closed).toBe('aborted');
    const record = stack.records[0] ?? (await stack.nextRecord());
    expect(record.outcome).toBe('client_gone');
    // The client leaving is not the account's fault.
    expect(stack.store.isAvailable('a')).toBe(true);
  });
});

describe('stickiness', () => {
  it('should keep a conversation on its account while another conversation goes where the strategy says', async () => {
    stack = await startStack({
      accounts: [
        { name: 'a', key: 'key-a', utilization5h: 0.7 },
        { name: 'b', key: 'key-b', utilization5h: 0.2 },
      ],
    });
    // Nothing is known at first: the tie goes to the first account, and the conversation sticks.
    expect(textOf(await stack.client.messages.create(messageParams('x')))).toBe('served by a');
    // a reported 70 % used; a new conversation goes to the unknown b.
    expect(textOf(await stack.client.messages.create(messageParams('y')))).toBe('served by b');
    // a still has less headroom than b, but conversation x stays where its prompt cache is.
    expect(textOf(await stack.client.messages.create(messageParams('x', { max_tokens: 10 })))).toBe('served by a');
    expect(await streamText(stack.client, 'x')).toBe('served by a');
    expect(stack.records.map((r) => r.reason)).toEqual(['strategy', 'strategy', 'sticky', 'sticky']);
  });

  it('should keep a conversation that caches for an hour on its account through a 30-minute pause', async () => {
    const clock = fakeClock();
    stack = await startStack({ clock, server: { routing_strategy: 'carousel' } });
    const cached = (conversation: string): Omit<ReturnType<typeof messageParams>, 'system'> & { system: unknown } => ({
      ...messageParams(conversation),
      system: [{ type: 'text', text: `conversation ${conversation}`, cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    expect(textOf(await stack.client.messages.create(cached('x') as never))).toBe('served by a');
    expect(textOf(await stack.client.messages.create(messageParams('y')))).toBe('served by b');
    // Past the 10-minute sticky TTL, within the hour the cache lives.
    clock.advance(30 * 60_000);
    expect(textOf(await stack.client.messages.create(cached('x') as never))).toBe('served by a');
    expect(stack.records.at(-1)?.reason).toBe('sticky');
    // A conversation with the default 5-minute cache is re-routed after the same pause.
    expect(textOf(await stack.client.messages.create(messageParams('y')))).not.toBe('served by b');
  });

  it('should move a conversation off its account when that account is rate limited, and keep it there', async () => {
    stack = await startStack();
    await stack.client.messages.create(messageParams('x'));
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 60 });
    expect(textOf(await stack.client.messages.create(messageParams('x')))).toBe('served by b');
    expect(textOf(await stack.client.messages.create(messageParams('x')))).toBe('served by b');
    expect(stack.records.at(-1)?.reason).toBe('sticky');
  });
});

describe('body limits', () => {
  it('should answer 413 in the API error shape for a body over max_body_mb, without calling the upstream', async () => {
    stack = await startStack({ server: { max_body_mb: 0.01 } });
    const big = 'x'.repeat(20_000);
    const error = await stack.client.messages.create(messageParams(big)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 413, error: { type: 'error', error: { type: 'request_too_large' } } });
    expect(stack.mock.requests).toHaveLength(0);
  });

  it('should answer 413 for a chunked body that grows past the limit', async () => {
    stack = await startStack({ server: { max_body_mb: 0.01 } });
    const response = await rawPost(`${stack.proxyUrl}/v1/messages`, ['{"a":"', 'x'.repeat(8_000), 'y'.repeat(8_000), '"}'], {});
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body.toString())).toMatchObject({ error: { type: 'request_too_large' } });
    expect(stack.mock.requests).toHaveLength(0);
  });

  it('should accept a body just under the limit', async () => {
    stack = await startStack({ server: { max_body_mb: 0.05 } });
    const message = await stack.client.messages.create(messageParams('y'.repeat(20_000)));
    expect(textOf(message)).toBe('served by a');
  });
});

/** A raw HTTP POST (a string body is sent with content-length, an array chunked). */
export function rawPost(
  url: string,
  body: string | string[],
  headers: Record<string, string>,
  /** Read nothing of the answer for this long after its headers (a slow client). */
  stallMs = 0,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      if (stallMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), stallMs);
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'string') req.end(body);
    else {
      for (const chunk of body) req.write(chunk);
      req.end();
    }
  });
}
