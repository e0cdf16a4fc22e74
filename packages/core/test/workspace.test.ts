// vitest 4 silently ignores a file named vitest.workspace.ts; these tests fail if the root
// vitest.config.ts stops feeding its project list to vitest.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    project: string;
  }
}

describe('vitest.workspace.ts', () => {
  it('should apply the project-level `provide` value', () => {
    expect(inject('project')).toBe('core');
  });

  it('should run the project-level setup file before the tests', () => {
    expect((globalThis as { __shuntSetupProject?: string }).__shuntSetupProject).toBe('core');
    expect(fc.readConfigureGlobal().markInterruptAsFailure).toBe(true);
  });

  it('should give core tests a timeout above fast-check\'s own interrupt', ({ task }) => {
    // Otherwise vitest's 5 s default cuts a slow property before fast-check can report its seed.
    const interruptMs = fc.readConfigureGlobal().interruptAfterTimeLimit;
    expect(interruptMs).toBeGreaterThan(0);
    expect(task.timeout).toBeGreaterThan(interruptMs as number);
  });

  it('should resolve @shunt/core to its TypeScript source through the @shunt/source condition', async () => {
    // dist/ is never built before the tests run in CI, so resolving to it would fail outright;
    // this checks the resolved file explicitly too.
    const resolved = await import.meta.resolve?.('@shunt/core');
    const core = await import('@shunt/core');
    expect(typeof core.memoryStore).toBe('function');
    if (resolved !== undefined) expect(resolved).toMatch(/packages\/core\/src\/index\.ts$/);
  });
});

describe('each package’s test script', () => {
  // `pnpm --filter X test` once ran nothing and exited 0: every package must run its own project.
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['@shunt/core', 'src/sha256.test.ts', 'core'],
    ['@shunt/node-proxy', 'src/errors.test.ts', 'node-proxy'],
    ['@shunt/store-redis', 'src/entries.test.ts', 'store-redis'],
    ['@shunt/sim', 'src/util/duration.test.ts', 'sim'],
  ];
  for (const [name, file, project] of cases) {
    it(`should run ${project}'s tests with \`pnpm --filter ${name} test\``, { timeout: 60_000 }, () => {
      const root = fileURLToPath(new URL('../../..', import.meta.url));
      // CI's JSON report (SHUNT_TEST_REPORT) is the outer run's; this one must not overwrite it.
      const { SHUNT_TEST_REPORT: _, ...env } = process.env;
      const result = spawnSync('pnpm', ['--filter', name, 'test', file], { cwd: root, encoding: 'utf8', env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' } });
      const output = `${result.stdout}${result.stderr}`;
      expect(result.status, output).toBe(0);
      expect(output).toContain(` ${project} `);
      expect(output).toMatch(/Tests\s+\S*\d+ passed/);
    });
  }
});
