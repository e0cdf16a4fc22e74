/**
 * Many clients at once: 128 concurrent SDK requests, streamed and not, through failovers, with no
 * request lost, duplicated, or answered with another request's reply.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, expect, it, vi } from 'vitest';
import { messageParams, startStack, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

it('should serve 128 concurrent clients, streaming and not, each exactly once, through failovers', { timeout: 30_000 }, async () => {
  stack = await startStack();
  // Noise: request-scoped 429s on a (no cooldown) and 529s on b (b then cools for 30 s).
  for (let i = 0; i < 12; i++) stack.mock.script('a', { kind: 'request-scoped-429' });
  for (let i = 0; i < 4; i++) stack.mock.script('b', { kind: 'status', status: 529 });
  const clients = 128;
  const proxyUrl = stack.proxyUrl;
  const results = await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const client = new Anthropic({ apiKey: `client-${i}`, baseURL: proxyUrl, maxRetries: 0 });
      const marker = `request-${i}`;
      if (i % 2 === 0) {
        const message = await client.messages.create(messageParams(marker));
        return { marker, text: message.content.map((b) => (b.type === 'text' ? b.text : '')).join('') };
      }
      const stream = await client.messages.create({ ...messageParams(marker), stream: true });
      let text = '';
      for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      return { marker, text };
    }),
  );
  expect(results.every((r) => /^served by [abc]$/.test(r.text))).toBe(true);

  // Upstream: every marker was answered successfully exactly once.
  const served = new Map<string, number>();
  const markerOf = (body: Buffer): string => /request-\d+/.exec(body.toString())?.[0] ?? '?';
  for (const request of stack.mock.requests) {
    if (request.reply !== 'auto') continue;
    const marker = markerOf(request.body);
    served.set(marker, (served.get(marker) ?? 0) + 1);
  }
  expect(served.size).toBe(clients);
  expect([...served.values()].every((n) => n === 1)).toBe(true);
  // Each client got the reply of the account that served its own request.
  for (const { marker, text } of results) {
    const request = stack.mock.requests.find((r) => r.reply === 'auto' && markerOf(r.body) === marker);
    expect(text).toBe(`served by ${request?.account}`);
  }
  const failovers = stack.mock.requests.filter((r) => r.reply !== 'auto').length;
  expect(failovers).toBeGreaterThan(0);
  expect(stack.mock.requests).toHaveLength(clients + failovers);
  await vi.waitFor(() => expect(stack?.proxy.status().in_flight).toBe(0));
});
