// Runs @shunt/core where Workers and browsers run it: a fresh JavaScript realm with only
// web-standard globals (no process, Buffer, require or node: modules). The source is bundled with
// esbuild exactly as a user's bundler would, then evaluated in a node:vm context.
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { failoverOnAVirtualClock, SAMPLE_BODY, SAMPLE_FINGERPRINT, SKIM_BODY } from './runtimes/scenarios.js';

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
    const expected = createHash('sha256').update('You are Claude Code.\0fix the bug\0Bash,Read').digest('hex');
    // The constant the runtime matrix checks on runtimes without node:crypto.
    expect(expected).toBe(SAMPLE_FINGERPRINT);
    expect(core.fingerprint(SAMPLE_BODY)).toBe(expected);
    expect(core.fingerprint(new TextEncoder().encode(SAMPLE_BODY))).toBe(expected);
  });

  it('should skim a body without node:buffer (validate: false) to the same digest', () => {
    for (const body of [SKIM_BODY, new TextEncoder().encode(SKIM_BODY)]) {
      expect(core.fingerprint(body)).toBe(SAMPLE_FINGERPRINT);
      expect(core.fingerprint(body, { validate: false })).toBe(SAMPLE_FINGERPRINT);
    }
  });

  it('should pick, classify and record on a virtual clock', () => {
    expect(failoverOnAVirtualClock(core)).toEqual(['a', 'b', 'a']);
  });
});
