/**
 * The byte-delivery property against real `shunt start` processes: a crash or a hang here is a
 * dead or stuck process, seen as such (its pid, its exit, its `/status`), not an error a test
 * runner catches. The CLI is bundled once with esbuild, as tsup bundles it for the published bin,
 * so each case starts a fresh process (fresh state) in about 150 ms.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockUpstream, type MockDelivery, type MockUpstream } from '../src/mock-upstream.js';
import { CLIENT_TIMEOUT_MS, behaviourArb, checkCase, deliveryArb, requestTimeoutSecsOf, type Behaviour } from './byte-delivery.js';
import { spawnShunt, type ShuntProcess } from './helpers.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir = '';
let bundle = '';
let mock: MockUpstream;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shunt-bytes-'));
  bundle = join(dir, 'shunt.mjs');
  await build({
    entryPoints: [join(packageDir, 'src', 'cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@shunt/source'],
    outfile: bundle,
    // Dependencies that are CommonJS (pino, prom-client) call require().
    banner: { js: "import { createRequire as __shuntRequire } from 'node:module'; const require = __shuntRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  mock = createMockUpstream({
    accounts: [
      { name: 'a', key: 'key-a' },
      { name: 'b', key: 'key-b' },
    ],
  });
  await mock.listen();
}, 60_000);

afterAll(async () => {
  await mock?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

let caseNo = 0;

/** A fresh `shunt start` (its own state file) in front of the shared mock. */
async function startShunt(requestTimeoutSecs: number): Promise<ShuntProcess> {
  const caseDir = join(dir, `case-${caseNo++}`);
  const configFile = `${caseDir}.toml`;
  await writeFile(
    configFile,
    [
      '[server]',
      'port = 0',
      'control_port = 0',
      `upstream_url = "${mock.url}"`,
      `state_path = "${caseDir}-state.json"`,
      // Stalls end after this much silence (short only for the stalling behaviours).
      `request_timeout_secs = ${requestTimeoutSecs}`,
      '[[accounts]]',
      'name = "a"',
      'api_key = "key-a"',
      '[[accounts]]',
      'name = "b"',
      'api_key = "key-b"',
      '',
    ].join('\n'),
  );
  return spawnShunt(configFile, bundle);
}

/** One case in a fresh process; afterwards the process must be alive, and stop cleanly on SIGTERM. */
async function checkInProcess(behaviour: Behaviour, delivery: MockDelivery, stream: boolean): Promise<void> {
  mock.reset();
  const shunt = await startShunt(requestTimeoutSecsOf(behaviour));
  try {
    await checkCase({ proxyUrl: shunt.proxyUrl, controlUrl: shunt.controlUrl, mock }, behaviour, delivery, stream, {
      clientTimeoutMs: CLIENT_TIMEOUT_MS,
      label: 'shunt start',
    });
    expect(shunt.child.exitCode, `the process died: ${shunt.stderr().slice(-2_000)}`).toBeNull();
  } finally {
    shunt.child.kill('SIGTERM');
    expect(await shunt.exited, `shunt start did not stop cleanly on SIGTERM: ${shunt.stderr().slice(-2_000)}`).toBe(0);
  }
}

describe('shunt start under every byte delivery', () => {
  // The shapes the first round's users met: each must neither kill the process nor hang the client.
  const FOUND: ReadonlyArray<readonly [string, Behaviour, MockDelivery]> = [
    ['message_start then overloaded_error, one write per event', { kind: 'stream-error', errorType: 'overloaded_error', afterEvents: 1 }, 'per-event'],
    ['message_start then rate_limit_error, in one read', { kind: 'stream-error', errorType: 'rate_limit_error', afterEvents: 1 }, 'one-write'],
    ['a whole short stream in one read', { kind: 'auto' }, 'one-write'],
    ['an api_error after content, then close, in one read', { kind: 'stream-error', errorType: 'api_error', afterEvents: 6 }, 'one-write'],
    ['a drop mid-stream, one byte at a time', { kind: 'drop', afterEvents: 5 }, 'byte-by-byte'],
  ];
  for (const [name, behaviour, delivery] of FOUND) {
    it(`should stay alive and end the response: ${name}`, { timeout: 120_000 }, async () => {
      await checkInProcess(behaviour, delivery, true);
    });
  }

  test.prop([behaviourArb, deliveryArb, fc.boolean()], { numRuns: 40 })(
    'should end every response with the bytes a direct call gives, or a clean failover, and stay alive',
    async (behaviour, delivery, stream) => {
      await checkInProcess(behaviour, delivery, stream);
    },
    900_000,
  );
});
