// Runs @shunt/core where Workers and browsers run it: a fresh JavaScript realm with only
// web-standard globals (no process, Buffer, require or node: modules). The source is bundled with
// esbuild exactly as a user's bundler would, then evaluated in a node:vm context.
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

type Core = typeof import('../src/index.ts');

let core: Core;

beforeAll(async () => {
  const result = await build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    globalName: 'shuntCore',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const realm: Record<string, unknown> = { TextEncoder, TextDecoder, Headers };
  runInNewContext(code, realm, { filename: 'shunt-core.iife.js' });
  core = realm['shuntCore'] as Core;
}, 30_000);

describe('@shunt/core in a realm without Node globals', () => {
  it('should have no process, Buffer or require in the realm', () => {
    const probe = runInNewContext('[typeof process, typeof Buffer, typeof require]', { TextEncoder });
    expect(probe).toEqual(['undefined', 'undefined', 'undefined']);
  });

  it('should fingerprint with the pure TypeScript SHA-256 and match node:crypto', () => {
    const body = JSON.stringify({
      system: 'You are Claude Code.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'fix the bug' }] }],
      tools: [{ name: 'Read' }, { name: 'Bash' }],
    });
    const expected = createHash('sha256').update('You are Claude Code.\0fix the bug\0Bash,Read').digest('hex');
    expect(core.fingerprint(body)).toBe(expected);
    expect(core.fingerprint(new TextEncoder().encode(body))).toBe(expected);
  });

  it('should pick, classify and record on a virtual clock', () => {
    let t = 1_800_000_000_000;
    const store = core.memoryStore({ now: () => t });
    const accounts = [{ name: 'a' }, { name: 'b' }];
    expect(core.pickAccount(accounts, store)?.name).toBe('a');
    const action = core.classifyResponse(
      {
        status: 429,
        headers: {
          'anthropic-ratelimit-unified-5h-status': 'rejected',
          'anthropic-ratelimit-unified-5h-utilization': '1.01',
          'anthropic-ratelimit-unified-5h-reset': String(t / 1000 + 3600),
        },
      },
      { nowMs: t },
    );
    core.recordResponse(store, { name: 'a' }, action);
    expect(core.pickAccount(accounts, store)?.name).toBe('b');
    t += 3_600_000 + 1_000;
    expect(core.pickAccount(accounts, store)?.name).toBe('a');
  });
});
