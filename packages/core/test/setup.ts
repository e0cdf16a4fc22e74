/**
 * Per-project setup for @shunt/core's tests (wired in vitest.workspace.ts).
 * FC_NUM_RUNS scales every property test at once, e.g. `FC_NUM_RUNS=2000 pnpm test` for a soak.
 * Failures print fast-check's seed and path; replay one with `{ seed, path }` in the test's params.
 */
import fc from 'fast-check';

const numRuns = Number(process.env['FC_NUM_RUNS'] ?? 100);
fc.configureGlobal({ numRuns, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: true });
(globalThis as { __shuntSetupProject?: string }).__shuntSetupProject = 'core';
