/**
 * The control API (pin, strategy, status) and the security rules: remote_key, control_token,
 * refusing open binds, refusing web pages, and never logging bodies or credentials.
 */
import Anthropic from '@anthropic-ai/sdk';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import type { ProxyStatus } from '../src/control.js';
import { createProxy } from '../src/proxy.js';
import { formatStatus } from '../src/status-view.js';
import { control, messageParams, startStack, streamText, textOf, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

describe('pin', () => {
  it('should send every request to the pinned account and return to automatic routing with auto', async () => {
    stack = await startStack();
    expect(await control(stack, 'POST', '/use', { account: 'c' })).toEqual({ status: 200, json: { pinned: 'c' } });
    expect(textOf(await stack.client.messages.create(messageParams('p1')))).toBe('served by c');
    expect(await streamText(stack.client, 'p2')).toBe('served by c');
    expect(stack.records.map((r) => r.reason)).toEqual(['pinned', 'pinned']);
    expect(await control(stack, 'POST', '/use', { account: 'auto' })).toEqual({ status: 200, json: { pinned: 'auto' } });
    expect(textOf(await stack.client.messages.create(messageParams('p3')))).toBe('served by a');
  });

  it('should fail over from a pinned account that is rate limited', async () => {
    stack = await startStack();
    await control(stack, 'POST', '/use', { account: 'b' });
    stack.mock.script('b', { kind: 'burst-429', retryAfterSecs: 30 });
    expect(textOf(await stack.client.messages.create(messageParams('p')))).toBe('served by a');
  });

  it('should refuse an unknown account', async () => {
    stack = await startStack();
    const { status, json } = await control(stack, 'POST', '/use', { account: 'nope' });
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: "unknown account 'nope'" });
    expect(stack.store.getPinned()).toBeNull();
  });
});

/** POST a raw body to the control API. */
async function postRaw(path: string, body: string): Promise<{ status: number; json: { error?: string } }> {
  const response = await fetch(`${stack?.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: response.status, json: (await response.json()) as { error?: string } };
}

const MALFORMED: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['an empty body', '', /^the body is empty; send /],
  ['a body that is not JSON', 'b', /^the body is not valid JSON; send /],
  ['a JSON string', '"b"', /^the body must be a JSON object, not a string; send /],
  ['a JSON array', '["b"]', /^the body must be a JSON object, not an array; send /],
  ['JSON null', 'null', /^the body must be a JSON object, not null; send /],
  ['a body over 64 KiB', JSON.stringify({ x: 'y'.repeat(70_000) }), /^the body is larger than 64 KiB; send /],
];

describe('control bodies', () => {
  const useCases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ...MALFORMED,
    ['no account field', '{}', /^missing field "account"; send \{"account": "<name>"\} or \{"account": "auto"\}$/],
    ['a number', '{"account": 2}', /^"account" must be a string \(an account name or "auto"\), not a number; send /],
    ['null', '{"account": null}', /^"account" must be a string \(an account name or "auto"\), not null; send /],
    ['an array', '{"account": ["c"]}', /^"account" must be a string \(an account name or "auto"\), not an array; send /],
    ['a misspelt field', '{"acount": "c"}', /^unknown field "acount"; send /],
    ['an extra field', '{"account": "c", "strategy": "reaper"}', /^unknown field "strategy"; send /],
    ['an unknown account', '{"account": "nope"}', /^unknown account 'nope'$/],
  ];

  it.each(useCases)('should refuse POST /use with %s, say what is wrong, and keep the pin', async (_, body, error) => {
    stack = await startStack();
    await control(stack, 'POST', '/use', { account: 'b' });
    const answer = await postRaw('/use', body);
    expect(answer).toEqual({ status: 400, json: expect.objectContaining({ error: expect.stringMatching(error) }) });
    expect(stack.proxy.status().pinned_account).toBe('b');
  });

  const strategyCases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ...MALFORMED,
    ['no strategy field', '{}', /^missing field "strategy"; send \{"strategy": "<name>"\}$/],
    ['a number', '{"strategy": 1}', /^"strategy" must be a string \(a strategy name\), not a number; send /],
    ['an object', '{"strategy": {"name": "cushion"}}', /^"strategy" must be a string \(a strategy name\), not an object; send /],
    ['a misspelt field', '{"strategey": "cushion"}', /^unknown field "strategey"; send /],
    ['an unknown strategy', '{"strategy": "fastest"}', /^unknown strategy 'fastest'$/],
  ];

  it.each(strategyCases)('should refuse POST /strategy with %s, say what is wrong, and keep the strategy', async (_, body, error) => {
    stack = await startStack();
    await control(stack, 'POST', '/strategy', { strategy: 'reaper' });
    const answer = await postRaw('/strategy', body);
    expect(answer).toEqual({ status: 400, json: { error: expect.stringMatching(error), strategies: ['maximus', 'cushion', 'reaper', 'carousel'] } });
    expect(stack.proxy.strategy()).toEqual({ name: 'reaper', source: 'override' });
  });

  test.prop([fc.jsonValue()], { numRuns: 40 })('should never unpin for a body that does not name an account or auto', async (value) => {
    const named = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).join() === 'account' && ['a', 'b', 'c', 'auto'].includes(value['account'] as string);
    fc.pre(!named);
    stack ??= await startStack();
    await control(stack, 'POST', '/use', { account: 'b' });
    expect((await postRaw('/use', JSON.stringify(value))).status).toBe(400);
    expect(stack.proxy.status().pinned_account).toBe('b');
  });
});

describe('strategy', () => {
  it('should switch strategy at run time, report where it comes from, and reset to the configured one', async () => {
    stack = await startStack();
    expect(await control(stack, 'GET', '/strategy')).toEqual({ status: 200, json: { strategy: 'maximus', source: 'config' } });
    expect(await control(stack, 'POST', '/strategy', { strategy: 'round-robin' })).toEqual({
      status: 200,
      json: { strategy: 'carousel', source: 'override' },
    });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) served.push(textOf(await stack.client.messages.create(messageParams(`rr-${i}`))));
    expect(served).toEqual(['served by a', 'served by b', 'served by c', 'served by a']);
    expect(await control(stack, 'DELETE', '/strategy')).toEqual({ status: 200, json: { strategy: 'maximus', source: 'config' } });
    expect(stack.proxy.strategy()).toEqual({ name: 'maximus', source: 'config' });
  });

  it('should refuse an unknown strategy and a missing field', async () => {
    stack = await startStack();
    expect((await control(stack, 'POST', '/strategy', { strategy: 'fastest' })).status).toBe(400);
    expect(await control(stack, 'POST', '/strategy', {})).toEqual({
      status: 400,
      json: { error: 'missing field "strategy"; send {"strategy": "<name>"}', strategies: ['maximus', 'cushion', 'reaper', 'carousel'] },
    });
    expect(stack.proxy.strategy().source).toBe('config');
  });
});

describe('status', () => {
  it('should report every account in the Rust shunt shape', async () => {
    stack = await startStack({ accounts: [{ name: 'a', key: 'key-a', utilization5h: 0.4 }, { name: 'b', key: 'key-b' }] });
    await stack.client.messages.create(messageParams('s'));
    stack.store.setCooldown('b', 60_000);
    const { status, json } = await control(stack, 'GET', '/status');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      version: expect.any(String),
      started_ms: expect.any(Number),
      pinned_account: null,
      last_used_account: 'a',
      strategy: { name: 'maximus', source: 'config' },
      in_flight: 0,
      held: 0,
      accounts: [
        { name: 'a', plan_type: 'pro', status: 'available', available: true, cooldown_until_ms: 0, utilization_5h: 0.401, status_5h: 'allowed', credential: 'api_key' },
        { name: 'b', status: 'cooling', available: false, cooldown_until_ms: expect.any(Number), utilization_5h: 0, reset_5h: null, rate_limit: null },
      ],
    });
    expect((await control(stack, 'GET', '/health')).json).toEqual({ status: 'ok' });
    expect((await control(stack, 'GET', '/nope')).status).toBe(404);
  });

  it('should report an account whose window is rejected as exhausted, not cooling, in /status and on its card', async () => {
    stack = await startStack({ accounts: [{ name: 'a', key: 'key-a' }, { name: 'b', key: 'key-b' }] });
    stack.mock.script('a', { kind: 'window-429', window: '5h', resetInSecs: 900 });
    expect(textOf(await stack.client.messages.create(messageParams('x')))).toBe('served by b');
    const report = (await control(stack, 'GET', '/status')).json as ProxyStatus;
    const a = report.accounts.find((account) => account.name === 'a');
    // The rejected window also cooled it until just after the reset.
    expect(a).toMatchObject({ status: 'exhausted', available: false, status_5h: 'rejected', cooldown_until_ms: expect.any(Number) });
    expect(a?.cooldown_until_ms).toBeGreaterThanOrEqual((a?.reset_5h ?? Infinity) * 1000);
    expect(formatStatus(report, { nowMs: (a?.reset_5h ?? 0) * 1000 - 900_000 })).toMatch(/^a {2}pro {2}✗ exhausted, back in 15m$/m);

    // A cooldown alone (a 529, a burst 429) is still cooling.
    stack.store.setCooldown('b', 60_000);
    expect(((await control(stack, 'GET', '/status')).json as ProxyStatus).accounts[1]).toMatchObject({ name: 'b', status: 'cooling' });
  });
});

describe('remote_key', () => {
  it('should serve clients that present the remote key and refuse the others', async () => {
    stack = await startStack({ server: { remote_key: 'remote-secret-1' } });
    const allowed = new Anthropic({ apiKey: 'remote-secret-1', baseURL: stack.proxyUrl, maxRetries: 0 });
    expect(textOf(await allowed.messages.create(messageParams('rk')))).toBe('served by a');
    // The remote key never reaches the upstream: the account's key replaces it.
    expect(stack.mock.requests[0]?.headers['x-api-key']).toBe('key-a');
    const bearer = new Anthropic({ authToken: 'remote-secret-1', apiKey: null, baseURL: stack.proxyUrl, maxRetries: 0 });
    expect(textOf(await bearer.messages.create(messageParams('rk2')))).toMatch(/^served by [ab]$/);
    expect(stack.mock.requests[1]?.headers['authorization']).toBeUndefined();
    expect(stack.mock.requests[1]?.headers['x-api-key']).toMatch(/^key-[ab]$/);
    const wrong = await stack.client.messages.create(messageParams('rk')).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ status: 401, error: { error: { type: 'authentication_error' } } });
    expect(stack.mock.requests).toHaveLength(2);
  });
});

describe('control_token', () => {
  it('should refuse control calls without the token', async () => {
    stack = await startStack({ server: { control_token: 'control-secret-1' } });
    expect((await control(stack, 'GET', '/status')).status).toBe(401);
    expect((await control(stack, 'POST', '/use', { account: 'a' }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(stack.store.getPinned()).toBeNull();
    expect((await control(stack, 'POST', '/use', { account: 'a' }, { authorization: 'Bearer control-secret-1' })).json).toEqual({ pinned: 'a' });
  });
});

describe('binding', () => {
  const config = (server: Record<string, unknown>) =>
    parseConfig({ server: { port: 0, control_port: 0, ...server }, accounts: [{ name: 'a', api_key: 'k' }] }, { file: 'shunt.toml', env: {} });

  it('should refuse to bind a non-loopback address without remote_key and control_token', () => {
    for (const server of [{ host: '0.0.0.0' }, { host: '0.0.0.0', remote_key: 'r' }, { host: '192.168.1.5', control_token: 't' }, { host: '::' }]) {
      const attempt = () => createProxy({ config: config(server) });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(/shunt\.toml: server\.host: binding .* set server\.(remote_key|control_token)/);
    }
  });

  it('should allow it with both keys, and allow loopback without them', () => {
    expect(() => createProxy({ config: config({ host: '0.0.0.0', remote_key: 'r', control_token: 't' }) })).not.toThrow();
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) expect(() => createProxy({ config: config({ host }) })).not.toThrow();
  });
});

describe('web pages', () => {
  it('should refuse requests addressed to another host name (DNS rebinding) and cross-site requests', async () => {
    stack = await startStack();
    const rebound = await fetchRaw(stack.proxyUrl, { host: 'evil.example:8082' });
    expect(rebound.status).toBe(403);
    const crossSite = await fetchRaw(stack.proxyUrl, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const local = await fetchRaw(stack.proxyUrl, { host: 'localhost:8082' });
    expect(local.status).toBe(200);
    expect(stack.mock.requests).toHaveLength(1);
    const controlRebound = await fetch(`${stack.controlUrl}/status`, { headers: { origin: 'https://evil.example' } });
    expect(controlRebound.status).toBe(403);
  });
});

describe('logging', () => {
  it('should never log request bodies, prompts or credentials', async () => {
    const canaryKey = 'sk-ant-CANARY-KEY-0123456789';
    stack = await startStack({
      accounts: [{ name: 'a', key: canaryKey }, { name: 'b', key: 'key-b' }],
    });
    const client = new Anthropic({ apiKey: 'sk-ant-CLIENT-CANARY', baseURL: stack.proxyUrl, maxRetries: 0 });
    const prompt = 'PROMPT-CANARY-secret-plans';
    await client.messages.create({ ...messageParams('log'), system: prompt, messages: [{ role: 'user', content: prompt }] });
    stack.store.setPinned('a');
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 5 });
    await streamText(client, 'log-2', { system: prompt });
    await fetch(`${stack.proxyUrl}/v1/messages`, { method: 'POST', body: `not json ${prompt}`, headers: { 'x-api-key': 'sk-ant-CLIENT-CANARY' } });
    const log = stack.logs.join('');
    expect(log).toContain('"msg":"request"');
    expect(log).toContain('"msg":"failover"');
    expect(log).not.toContain('CANARY');
    expect(log).not.toContain(canaryKey);
  });

  it('should log one line per request with its account, reason, status, latency, attempts and tokens', async () => {
    stack = await startStack({ accounts: [{ name: 'a', key: 'key-a' }, { name: 'b', key: 'key-b' }] });
    await stack.client.messages.create(messageParams('tokens-json'));
    await streamText(stack.client, 'tokens-stream');
    const lines = stack.logs
      .join('')
      .split('\n')
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    for (const [line, stream] of [[lines[0], false], [lines[1], true]] as const) {
      expect(line).toMatchObject({ account: expect.stringMatching(/^[ab]$/), reason: 'strategy', status: 200, attempts: 1, stream, input_tokens: 12, output_tokens: 4 });
      expect(typeof line?.['duration_ms']).toBe('number');
      expect(typeof line?.['id']).toBe('string');
    }
  });
});

function fetchRaw(url: string, headers: Record<string, string>): Promise<{ status: number }> {
  // fetch() will not send a custom Host header; node:http will.
  return import('node:http').then(
    ({ request }) =>
      new Promise((resolve, reject) => {
        const req = request(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(messageParams('web')));
      }),
  );
}
