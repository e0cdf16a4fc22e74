// Runs the gateway for real on each runtime, in front of a mock Anthropic API on loopback:
// the Worker in workerd (bundled with esbuild, its Durable Object on local disk), and the Bun and
// Deno servers. `bun`, `deno` and `workerd` must be on PATH (CI: scripts/install-runtimes.sh).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const accounts = JSON.stringify([
  { name: 'work', apiKey: 'sk-work' },
  { name: 'personal', apiKey: 'sk-personal' },
]);

/** Keys in the order the mock API saw them. */
const seen = [];
let upstreamUrl;
const upstream = createServer((request, response) => {
  const key = request.headers['x-api-key'];
  seen.push(key);
  request.resume();
  const resetSecs = String(Math.floor(Date.now() / 1000) + 3600);
  if (key === 'sk-work') {
    // "work" has spent its 5-hour window, as Anthropic says it.
    response.writeHead(429, {
      'content-type': 'application/json',
      'retry-after': '3600',
      'anthropic-ratelimit-unified-5h-status': 'rejected',
      'anthropic-ratelimit-unified-5h-utilization': '1.01',
      'anthropic-ratelimit-unified-5h-reset': resetSecs,
    });
    response.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'rate limited' } }));
    return;
  }
  response.writeHead(200, {
    'content-type': 'application/json',
    'anthropic-ratelimit-unified-5h-status': 'allowed',
    'anthropic-ratelimit-unified-5h-utilization': '0.12',
    'anthropic-ratelimit-unified-5h-reset': resetSecs,
  });
  response.end(JSON.stringify({ type: 'message', content: [{ type: 'text', text: `hello from ${String(key)}` }] }));
});

const work = mkdtempSync(join(tmpdir(), 'shunt-edge-'));

before(async () => {
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', () => resolve(undefined)));
  upstreamUrl = `http://127.0.0.1:${String(upstream.address().port)}`;
});

after(() => {
  upstream.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the Worker (Hono + Durable Object) in workerd', () => {
  let server;
  before(async () => {
    await build({
      entryPoints: [join(root, 'src/worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      external: ['cloudflare:workers'],
      outfile: join(work, 'worker.js'),
      logLevel: 'warning',
    });
    writeFileSync(join(work, 'config.capnp'), workerdConfig());
    server = await startWorkerd();
  });
  after(() => server?.stop());

  itRoutesAroundAQuotaHit(() => server.url);

  it('should keep the pool state in the Durable Object across a restart', async () => {
    await server.stop();
    server = await startWorkerd();
    const { accounts } = await (await fetch(`${server.url}/status`)).json();
    assert.equal(accounts.find((a) => a.name === 'work').available, false);
  });
});

describe('the Bun server', () => {
  let server;
  before(async () => {
    server = await startServer('bun', ['src/bun.ts']);
  });
  after(() => server?.stop());
  itRoutesAroundAQuotaHit(() => server.url);
});

describe('the Deno server', () => {
  let server;
  before(async () => {
    server = await startServer('deno', ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', 'src/deno.ts']);
  });
  after(() => server?.stop());
  itRoutesAroundAQuotaHit(() => server.url);
});

function itRoutesAroundAQuotaHit(url) {
  it('should serve from personal when work answers 429, without the client seeing the 429', async () => {
    seen.length = 0;
    const response = await ask(url(), 'first conversation');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-shunt-account'), 'personal');
    assert.deepEqual((await response.json()).content, [{ type: 'text', text: 'hello from sk-personal' }]);
    assert.deepEqual(seen, ['sk-work', 'sk-personal']);
  });

  it('should not try work again while it cools', async () => {
    seen.length = 0;
    const response = await ask(url(), 'second conversation');
    assert.equal(response.headers.get('x-shunt-account'), 'personal');
    await response.body?.cancel();
    assert.deepEqual(seen, ['sk-personal']);
    const { accounts } = await (await fetch(`${url()}/status`)).json();
    assert.deepEqual(
      accounts.map((a) => [a.name, a.available]),
      [
        ['work', false],
        ['personal', true],
      ],
    );
    assert.ok(accounts[0].cooldownUntilMs > Date.now());
  });
}

function ask(url, text) {
  return fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 64, system: text, messages: [{ role: 'user', content: text }] }),
  });
}

function workerdConfig() {
  // globalOutbound allows loopback, where the mock API listens; Cloudflare's default allows only
  // public addresses.
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .gateway),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
    (name = "do-storage", disk = (path = ${JSON.stringify(join(work, 'do'))}, writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const gateway :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "ACCOUNTS", text = ${JSON.stringify(accounts)}),
    (name = "UPSTREAM_URL", text = ${JSON.stringify(upstreamUrl)}),
    (name = "POOL", durableObjectNamespace = "Pool"),
  ],
  durableObjectNamespaces = [(className = "Pool", uniqueKey = "shunt-edge-gateway", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  globalOutbound = "loopback",
);
`;
}

async function startWorkerd() {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(work, 'do'), { recursive: true });
  // --control-fd reports the port workerd bound (the config asks for any free one).
  return startServer('workerd', ['serve', join(work, 'config.capnp'), '--control-fd=3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    portFrom: (child, resolve) => {
      let text = '';
      child.stdio[3].on('data', (chunk) => {
        text += chunk;
        for (const line of text.split('\n')) {
          if (line.trim() === '') continue;
          const event = JSON.parse(line);
          if (event.event === 'listen' && event.socket === 'http') resolve(`http://127.0.0.1:${String(event.port)}`);
        }
      });
    },
  });
}

/** Start a server and resolve with its URL once it says where it listens (no fixed sleep). */
function startServer(command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ACCOUNTS: accounts, UPSTREAM_URL: upstreamUrl, PORT: '0', NO_COLOR: '1' },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const ready = (url) => resolve({ url, stop });
    child.on('error', (error) => reject(new Error(`${command}: ${error.message} (is it on PATH?)`)));
    child.on('exit', (code) => reject(new Error(`${command} exited ${String(code)} before listening:\n${output}`)));
    if (options.portFrom !== undefined) options.portFrom(child, ready);
    else child.stdout.on('data', () => {
      const match = /on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match !== null) ready(match[1]);
    });
  });
}
