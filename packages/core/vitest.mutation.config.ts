/**
 * @module
 * The vitest config Stryker runs (`pnpm mutation`): the core test project from `vitest.project.ts`,
 * minus the tests that check the repository around the code rather than the code itself.
 */
import { defineConfig, type ViteUserConfig } from 'vitest/config';
import { coreProject } from './vitest.project.ts';

const config: ViteUserConfig = defineConfig({
  ...coreProject,
  test: {
    ...coreProject.test,
    // workspace.test.ts checks the root vitest wiring, and examples.test.ts runs examples and
    // docs in child processes that never see the active mutant; neither works in Stryker's sandbox.
    exclude: ['test/workspace.test.ts', 'test/examples.test.ts'],
    // Stryker reruns the covering tests once per mutant (about 1,200 of them): fewer generated cases
    // per property keep a full run under an hour on two cores. Mutants must die to example tests
    // and laws that fail fast, not to a lucky draw. Override with FC_NUM_RUNS.
    env: { FC_NUM_RUNS: process.env['FC_NUM_RUNS'] ?? '25' },
  },
});

export default config;
