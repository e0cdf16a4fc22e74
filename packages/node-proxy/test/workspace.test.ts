// vitest 4 silently ignores a file named vitest.workspace.ts; these tests fail if this project's
// entry in it stops applying.
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    project: string;
  }
}

describe('vitest.workspace.ts', () => {
  it('should apply the project-level `provide` value', () => {
    expect(inject('project')).toBe('node-proxy');
  });

  it('should apply the project-level testTimeout (30 s, not vitest\'s 5 s default)', ({ task }) => {
    // The test's own timeout is the project's, as no option overrides it here.
    expect((task as unknown as { timeout: number }).timeout).toBe(30_000);
  });

  it('should resolve @shunt/core to its TypeScript source through the @shunt/source condition', async () => {
    const resolved = await import.meta.resolve?.('@shunt/core');
    const core = await import('@shunt/core');
    expect(typeof core.memoryStore).toBe('function');
    if (resolved !== undefined) expect(resolved).toMatch(/packages\/core\/src\/index\.ts$/);
  });
});
