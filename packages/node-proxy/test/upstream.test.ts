/**
 * The upstream client on its own, against raw HTTP servers: what undici's dispatch hands it that a
 * mock of the Messages API never sends (informational answers, aborts at every stage, a body that
 * breaks off), and that the body it returns is owned from the first byte.
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cancellation } from '../src/cancellation.js';
import { upstreamClient, type UpstreamClient } from '../src/upstream.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const srv = http.createServer(handler);
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  cleanups.push(() => {
    srv.closeAllConnections();
    return new Promise((resolve) => srv.close(() => resolve()));
  });
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

function client(timeoutMs = 5_000): UpstreamClient {
  const c = upstreamClient(timeoutMs);
  cleanups.push(() => c.close());
  return c;
}

const request = (origin: string, signal = cancellation()) =>
  ({ origin, path: '/v1/messages', method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}'), signal }) as const;

/** Read a body whole through its owner. */
async function bodyText(body: Awaited<ReturnType<UpstreamClient['request']>>['body']): Promise<{ stop: string; text: string }> {
  const held = await body.hold(() => false, 5_000);
  return { stop: held.stop, text: Buffer.concat(body.held).toString() };
}

describe('upstreamClient', () => {
  it('should pass over an informational 103 answer and resolve with the final response', async () => {
    const origin = await server((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, { 'content-type': 'application/json', 'x-final': 'yes' }).end('{"ok":true}');
    });
    const response = await client().request(request(origin));
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-final']).toBe('yes');
    expect(await bodyText(response.body)).toEqual({ stop: 'ended', text: '{"ok":true}' });
  });

  it('should hold every byte of a body that arrived with its headers in one read, before anyone asked for it', async () => {
    const body = 'x'.repeat(40_000);
    const origin = await server((req, res) => {
      // Headers and body in one write.
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n\r\n${body}`);
      res.detachSocket(req.socket);
    });
    const response = await client().request(request(origin));
    // Let every byte arrive before the body is read.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await bodyText(response.body)).toEqual({ stop: 'ended', text: body });
  });

  it('should reject at once a request whose cancellation was aborted before it was sent, with its reason', async () => {
    let requests = 0;
    const origin = await server((_req, res) => {
      requests++;
      res.end('{}');
    });
    const signal = cancellation();
    const reason = new Error('client gone');
    signal.abort(reason);
    await expect(client().request(request(origin, signal))).rejects.toBe(reason);
    expect(requests).toBe(0);
  });

  it('should abort the upstream request when the cancellation aborts while the headers are awaited', async () => {
    // Wrapped: a promise resolved with a promise would wait for that one.
    let arrived!: (upstream: { closed: Promise<unknown> }) => void;
    const upstreamHas = new Promise<{ closed: Promise<unknown> }>((resolve) => (arrived = resolve));
    const origin = await server((req) => arrived({ closed: once(req.socket, 'close') }));
    const signal = cancellation();
    const reason = new Error('client gone');
    const pending = client().request(request(origin, signal));
    const { closed } = await upstreamHas;
    signal.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await closed;
    expect(signal.listenerCount('abort')).toBe(0);
  });

  it('should report a body that breaks off after the headers to its owner, not as a rejection', async () => {
    const origin = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message_start\ndata: {}\n\n', () => res.destroy());
    });
    const response = await client().request(request(origin));
    expect(response.statusCode).toBe(200);
    const read = await bodyText(response.body);
    expect(read.stop).toBe('failed');
    expect(read.text).toBe('event: message_start\ndata: {}\n\n');
  });

  it('should close the upstream connection when a body under way is discarded, and stop listening for aborts', async () => {
    let closed: Promise<unknown> = Promise.reject(new Error('the upstream never saw the request'));
    closed.catch(() => {});
    const origin = await server((req, res) => {
      closed = once(req.socket, 'close');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: ping\ndata: {}\n\n');
    });
    const signal = cancellation();
    const response = await client().request(request(origin, signal));
    await response.body.hold((chunk) => chunk.length > 0, 5_000);
    response.body.discard();
    await closed;
    expect(signal.listenerCount('abort')).toBe(0);
  });

  it('should time out a response whose headers never come, as a rejection', async () => {
    const origin = await server(() => {
      // Never answers.
    });
    const started = Date.now();
    const error = await client(200)
      .request({ ...request(origin), headersTimeoutMs: 200 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect((error as { code?: string } | null)?.code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});
