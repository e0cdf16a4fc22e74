// The README's example and the "write your own strategy" example in docs/strategies.md must keep
// running as written: each runs here in a child process, exactly as a user would run it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageRoot = join(import.meta.dirname, '..');
const tsx = ['--conditions=@shunt/source', '--import', 'tsx'];

describe('runnable examples', () => {
  it('should run examples/gateway.ts: fail over from the exhausted account and stay sticky', async () => {
    const { stdout } = await run(process.execPath, [...tsx, 'examples/gateway.ts'], { cwd: packageRoot });
    expect(stdout).toContain('turn 1: 200 from personal');
    expect(stdout).toContain('turn 2: 200 from personal');
    expect(stdout).toMatch(/work is cooling until \d{4}-\d\d-\d\dT/);
  }, 30_000);

  it('should run the custom strategy example from docs/strategies.md', async () => {
    const doc = await readFile(join(packageRoot, '..', '..', 'docs', 'strategies.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Write your own strategy'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code, 'docs/strategies.md lost its example').toBeDefined();
    // Inside the package so that `@shunt/core` resolves the way it does for a user's project.
    const dir = await mkdtemp(join(packageRoot, 'examples', '.docs-'));
    try {
      await writeFile(join(dir, 'weekly-first.ts'), code ?? '');
      const { stdout } = await run(process.execPath, [...tsx, join(dir, 'weekly-first.ts')], { cwd: packageRoot });
      expect(stdout.trim()).toBe('alice');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('should show examples/map-store.ts in docs/architecture.md exactly as it is (the file is tested)', async () => {
    const doc = await readFile(join(packageRoot, '..', '..', 'docs', 'architecture.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Write your own store'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const file = await readFile(join(packageRoot, 'examples', 'map-store.ts'), 'utf8');
    expect(code, 'docs/architecture.md lost its example').toBeDefined();
    // From the imports on: the file's header comment is for readers of the repository.
    expect(code).toBe(file.slice(file.indexOf('import ')));
  });
});
