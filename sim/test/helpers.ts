/**
 * Shared test helpers: temporary files and a way to run the CLIs as a user would.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

/** The repository root (CLIs run from there, like `pnpm sim`). */
export const REPO_ROOT: string = resolve(import.meta.dirname, '../..');

/** A temporary directory removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shunt-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write `content` to `dir/name` and return the path. */
export function writeTemp(dir: string, name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Result of running a CLI. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `sim/src/<script>` with Node and tsx, from the repository root. */
export function runScript(script: 'cli.ts' | 'gen-cli.ts', args: readonly string[]): CliRun {
  const result = spawnSync(process.execPath, ['--conditions=@shunt/source', '--import', 'tsx', `sim/src/${script}`, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The v1 header used by hand-written test traces. */
export const HEADER = 'ts,request_id,session,account,model,status,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens';
