/**
 * @module
 * @shunt/core's test project, shared by the root `vitest.workspace.ts` and the mutation run
 * (`vitest.mutation.config.ts`), so Stryker tests the mutants under exactly the settings `pnpm test` uses.
 * It lives in the package because Stryker copies only the package into its sandbox.
 */
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

/** Resolve workspace packages to their TypeScript source instead of dist/. */
const sourceConditions = ['@shunt/source'];

/** The core test project; its root is this file's folder, wherever the config that imports it lives. */
export const coreProject: TestProjectInlineConfiguration = {
  resolve: { conditions: sourceConditions },
  // vitest 4 runs test files through the SSR pipeline: the condition must be set there too.
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    name: 'core',
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    provide: { project: 'core' },
    // Above fast-check's own 20 s interrupt (test/setup.ts), so a slow property ends with
    // fast-check's report (seed and path) rather than vitest's bare timeout. The store-model
    // property alone takes 4–6 s on a loaded 2-core machine, past vitest's 5 s default.
    testTimeout: 30_000,
  },
};
