/**
 * @module
 * The part of vitest's API that `@shunt/core/testing` uses (`describe`, `describe.skipIf`, `it`,
 * `it.each`, `beforeEach`, `expect`), small enough to run on any JavaScript runtime. The runtime
 * bundle (scripts/test-runtimes.ts) aliases `vitest` to this file, so the published suites and laws
 * run unchanged where vitest itself cannot (Bun, Deno, workerd, a browser page).
 *
 * `expect` is vitest's own: `@vitest/expect` on chai, set up as its README shows, so every matcher
 * behaves exactly as under `pnpm test`.
 */
import { chai, JestAsymmetricMatchers, JestChaiExpect, JestExtend, type ExpectStatic } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

/** vitest's `expect`, without snapshots or polling (the suites use neither). */
// The plugins above add the Jest matchers at run time; chai's own type does not know of them.
export const expect: ExpectStatic = chai.expect as ExpectStatic;

type TestFn = () => unknown;

interface Block {
  readonly title: string;
  readonly skipped: boolean;
  readonly beforeEach: TestFn[];
  readonly children: (Block | Test)[];
}

interface Test {
  readonly title: string;
  readonly skipped: boolean;
  readonly fn: TestFn;
}

/** One failed test: its full title and the assertion's message (fast-check's includes the seed). */
export interface Failure {
  readonly title: string;
  readonly message: string;
}

/** What {@link runRegistered} reports: counts and every failure. */
export interface RunResult {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly failures: readonly Failure[];
}

const root: Block = { title: '', skipped: false, beforeEach: [], children: [] };
let current: Block = root;

/** Register a block of tests. */
export function describe(title: string, body: () => void): void {
  register(title, false, body);
}

/** `describe.skipIf(condition)(title, body)`: registered either way, reported as skipped when true. */
describe.skipIf = (condition: boolean) => (title: string, body: () => void): void => register(title, condition, body);

/** Register one test. */
export function it(title: string, fn: TestFn): void {
  current.children.push({ title, skipped: current.skipped, fn });
}

/** `it.each(cases)(title, fn)`: one test per case, `%s` in the title replaced by the case. */
it.each = <T>(cases: readonly T[]) => (title: string, fn: (value: T) => unknown): void => {
  for (const value of cases) it(title.replace('%s', String(value)), () => fn(value));
};

/** Run `fn` before each test of the current block and of the blocks inside it. */
export function beforeEach(fn: TestFn): void {
  current.beforeEach.push(fn);
}

/** Run every registered test in order, each after its blocks' `beforeEach` hooks; never throws. */
export async function runRegistered(): Promise<RunResult> {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const failures: Failure[] = [];
  const visit = async (block: Block, path: readonly string[], hooks: readonly TestFn[]): Promise<void> => {
    const blockHooks = [...hooks, ...block.beforeEach];
    for (const child of block.children) {
      const title = [...path, child.title];
      if ('children' in child) {
        await visit(child, title, blockHooks);
      } else if (child.skipped) {
        counts.skipped++;
      } else {
        try {
          for (const hook of blockHooks) await hook();
          await child.fn();
          counts.passed++;
        } catch (error) {
          counts.failed++;
          failures.push({ title: title.join(' > '), message: error instanceof Error ? error.message : String(error) });
        }
      }
    }
  };
  await visit(root, [], []);
  return { ...counts, failures };
}

function register(title: string, skipped: boolean, body: () => void): void {
  const block: Block = { title, skipped: skipped || current.skipped, beforeEach: [], children: [] };
  current.children.push(block);
  const parent = current;
  current = block;
  try {
    body();
  } finally {
    current = parent;
  }
}
