/**
 * The single list of test projects. vitest 4 ignores a file with this name on its own, so the root
 * `vitest.config.ts` imports this list into `test.projects`; `test/workspace.test.ts` in each project
 * proves the per-project settings below really apply.
 */
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';
import { coreProject } from './packages/core/vitest.project.ts';

/** Project roots are absolute, so `vitest --config <this repo>/vitest.config.ts` works from any folder (each package's `test` script). */
const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Resolve workspace packages to their TypeScript source instead of dist/. */
const sourceConditions = ['@shunt/source'];

const sourceResolution = {
  resolve: { conditions: sourceConditions },
  // vitest 4 runs test files through the SSR pipeline: the condition must be set there too.
  ssr: { resolve: { conditions: sourceConditions } },
};

const projects: TestProjectInlineConfiguration[] = [
  // Defined in the package, because the mutation run (packages/core/stryker.config.json) reuses it.
  coreProject,
  {
    ...sourceResolution,
    test: {
      name: 'sim',
      root: at('./sim'),
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      provide: { project: 'sim' },
      // CLI tests spawn the simulator as a child process.
      testTimeout: 30_000,
    },
  },
  {
    ...sourceResolution,
    test: {
      name: 'node-proxy',
      root: at('./packages/node-proxy'),
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      provide: { project: 'node-proxy' },
      // Most suites run real proxies, upstreams and child processes; on a loaded 2-core machine
      // vitest's 5 s default cut healthy ones short (a slow reader's megabytes, a process start).
      testTimeout: 30_000,
    },
  },
  {
    ...sourceResolution,
    test: {
      name: 'store-redis',
      root: at('./packages/store-redis'),
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      provide: { project: 'store-redis' },
      // The suites start their own redis-server and kill it mid-run.
      testTimeout: 30_000,
    },
  },
];

export default projects;
