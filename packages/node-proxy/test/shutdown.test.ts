/**
 * Graceful shutdown: a stream under way finishes, `close()` (and `shunt start` on SIGTERM) resolves
 * once it has, and the state is saved.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createProxy } from '../src/proxy.js';
import { openState } from '../src/state.js';
import { messageParams } from './helpers.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(packageDir, '..', '..', 'node_modules', '.bin', 'tsx');

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** An upstream whose streams send their opening, then the rest after `gapMs`. */
async function slowUpstream(gapMs: number): Promise<{ url: string; started: Promise<void>; close(): Promise<void> }> {
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'anthropic-ratelimit-unified-5h-utilization': '0.1' });
      res.write(
        frame('message_start', {
          type: 'message_start',
          message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } },
        }),
      );
      res.write(frame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
      res.write(frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'first half, ' } }));
      markStarted();
      setTimeout(() => {
        res.write(frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'second half' } }));
        res.write(frame('content_block_stop', { type: 'content_block_stop', index: 0 }));
        res.write(frame('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } }));
        res.end(frame('message_stop', { type: 'message_stop' }));
      }, gapMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    started,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function collect(stream: AsyncIterable<{ type: string; delta?: unknown }>): Promise<string> {
  let text = '';
  for await (const event of stream) {
    const delta = event.delta as { type?: string; text?: string } | undefined;
    if (event.type === 'content_block_delta' && delta?.type === 'text_delta') text += delta.text ?? '';
  }
  return text;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe('graceful shutdown', () => {
  it('should let a stream under way finish, then resolve close() and save the state', async () => {
    const upstream = await slowUpstream(400);
    cleanup.push(() => upstream.close());
    const dir = await mkdtemp(join(tmpdir(), 'shunt-shutdown-'));
    const config = parseConfig(
      { server: { port: 0, control_port: 0, upstream_url: upstream.url, state_path: join(dir, 'state.json') }, accounts: [{ name: 'a', api_key: 'k' }] },
      { file: '<test>', env: {} },
    );
    const proxy = createProxy({ config, logger: silentLogger, state: await openState(config) });
    const { proxyUrl } = await proxy.listen();
    const client = new Anthropic({ baseURL: proxyUrl, apiKey: 'unused', maxRetries: 0 });

    const stream = await client.messages.create({ ...messageParams('long'), stream: true });
    const text = collect(stream);
    await upstream.started;
    const t0 = Date.now();
    const closed = proxy.close({ graceMs: 5_000 });

    // New connections are refused at once; the stream under way completes.
    await expect(fetch(`${proxyUrl}/v1/messages`, { method: 'POST', body: '{}' })).rejects.toThrow();
    expect(await text).toBe('first half, second half');
    await closed;
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(300);
    expect(tookMs).toBeLessThan(5_000);

    const saved = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { lastUsed: string; accounts: Record<string, { rateLimits?: { utilization5h?: number } }> };
    expect(saved.lastUsed).toBe('a');
    expect(saved.accounts['a']?.rateLimits?.utilization5h).toBe(0.1);
  });

  it('should finish a stream under way when `shunt start` gets SIGTERM, save the state and exit 0', { timeout: 30_000 }, async () => {
    const upstream = await slowUpstream(600);
    cleanup.push(() => upstream.close());
    const dir = await mkdtemp(join(tmpdir(), 'shunt-shutdown-'));
    const configFile = join(dir, 'config.toml');
    await writeFile(
      configFile,
      `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${upstream.url}"\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key = "k"\n`,
    );
    const child = spawn(tsx, ['--conditions=@shunt/source', join(packageDir, 'src', 'cli.ts'), 'start', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const proxyUrl = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const match = /ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (match !== null) resolve(match[1] as string);
      });
      child.on('close', () => reject(new Error(`exited early: ${err}`)));
    });
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const client = new Anthropic({ baseURL: proxyUrl, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.messages.create({ ...messageParams('long'), stream: true });
    const text = collect(stream);
    await upstream.started;
    child.kill('SIGTERM');
    expect(await text).toBe('first half, second half');
    expect(await exited).toBe(0);
    expect(err).toMatch(/SIGTERM, finishing requests under way/);
    const saved = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { lastUsed: string };
    expect(saved.lastUsed).toBe('a');
  });
});
