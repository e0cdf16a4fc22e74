/**
 * The runtime matrix: @shunt/core's published suites and laws (packages/core/test/runtimes/suite.ts)
 * bundled from the built `dist/` with esbuild and fast-check, then run on Bun, Deno, workerd and
 * headless Chromium (and Node, as the baseline). Fails when a runtime fails a check, runs none, is
 * missing, or crashes.
 *
 *   pnpm build && pnpm test:runtimes                   every runtime
 *   pnpm test:runtimes --only deno,chromium            some of them
 *   pnpm test:runtimes --self-check                    prove a broken dist/ is caught
 *
 * Bun, Deno and workerd come from the npm registry into a cache folder (scripts/install-runtimes.sh;
 * SHUNT_RUNTIMES_DIR, default ~/.cache/shunt-runtimes); Chromium is Debian's (CHROMIUM_PATH,
 * default /usr/bin/chromium). FC_NUM_RUNS sets the cases per property (default 100, as `pnpm test`).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import type { RuntimeReport } from '../packages/core/test/runtimes/suite.ts';
import { launchChromium } from './chromium.ts';

const repo = join(import.meta.dirname, '..');
const harness = join(repo, 'packages/core/test/runtimes');
const RUNTIMES = ['node', 'bun', 'deno', 'workerd', 'chromium'] as const;
type Runtime = (typeof RUNTIMES)[number];

/** Far above a healthy run (about 10 s each on a loaded 2-core machine): only a hang reaches it. */
const TIMEOUT_MS = 5 * 60_000;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    dist: { type: 'string' },
    'self-check': { type: 'boolean', default: false },
  },
});

const binDir = join(process.env['SHUNT_RUNTIMES_DIR'] ?? join(homedir(), '.cache/shunt-runtimes'), 'node_modules/.bin');
const numRuns = Number(process.env['FC_NUM_RUNS'] ?? 100);

if (values['self-check']) {
  await selfCheck();
} else {
  const only = values.only?.split(',').map((name) => name.trim()) ?? [...RUNTIMES];
  for (const name of only) if (!(RUNTIMES as readonly string[]).includes(name)) fail(`--only: unknown runtime "${name}" (known: ${RUNTIMES.join(', ')})`);
  const dist = values.dist ?? join(repo, 'packages/core/dist');
  const reports = await runMatrix(dist, only as Runtime[]);
  const broken = reports.filter((r) => r.failed > 0 || r.passed === 0);
  const passed = reports.reduce((n, r) => n + r.passed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  console.log(`runtimes: ${String(passed)} passed, ${String(failed)} failed`);
  if (broken.length > 0) fail(`runtime matrix failed on ${broken.map((r) => r.runtime).join(', ')}`);
  // Every runtime registers the same tests: one that reports fewer lost some without failing them.
  const counts = new Set(reports.map((r) => r.passed + r.failed + r.skipped));
  if (counts.size > 1) fail(`runtimes ran different numbers of checks: ${reports.map((r) => `${r.runtime} ${String(r.passed + r.failed + r.skipped)}`).join(', ')}`);
}

/** Bundle the suites from `dist`, run them on each runtime in turn, print one line each. */
async function runMatrix(dist: string, runtimes: readonly Runtime[], expectFailures = false): Promise<RuntimeReport[]> {
  if (!existsSync(join(dist, 'testing/index.js'))) fail(`${dist}: no testing/index.js; run \`pnpm build\` first`);
  const work = mkdtempSync(join(tmpdir(), 'shunt-runtimes-'));
  try {
    await bundle(dist, work);
    const reports: RuntimeReport[] = [];
    for (const runtime of runtimes) {
      const started = performance.now();
      const report = await runOn(runtime, work).catch((error: unknown) => crashed(runtime, error));
      reports.push(report);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`${runtime.padEnd(9)} ${String(report.passed).padStart(4)} passed ${String(report.failed).padStart(3)} failed ${String(report.skipped).padStart(3)} skipped  ${secs} s`);
      // The self-check's failures are the expected ones: their count is the news, not each one.
      if (!expectFailures) for (const failure of report.failures.slice(0, 5)) console.log(`  ✗ ${failure.title}\n    ${failure.message.split('\n').slice(0, 6).join('\n    ')}`);
      if (report.passed === 0 && report.failed === 0) console.log('  ✗ ran no checks');
    }
    return reports;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Prove the matrix can fail: break a copy of dist/ the way a real bug would and expect failures. */
async function selfCheck(): Promise<void> {
  const copy = mkdtempSync(join(tmpdir(), 'shunt-broken-dist-'));
  try {
    cpSync(join(repo, 'packages/core/dist'), copy, { recursive: true });
    // A cooldown that ends 1 ms early: the kind of off-by-one the store contract exists to catch.
    const mutants: readonly [string, string][] = [
      ['now() >= state.cooldownUntilMs', 'now() >= state.cooldownUntilMs - 1'],
      ['store.isAvailable(name) && !store.isExhausted(name)', 'store.isAvailable(name)'],
    ];
    const mutated = readdirSync(copy).filter((file) => file.endsWith('.js')).some((file) => {
      const code = readFileSync(join(copy, file), 'utf8');
      const mutant = mutants.find(([from]) => code.includes(from));
      if (mutant === undefined) return false;
      writeFileSync(join(copy, file), code.replace(mutant[0], mutant[1]));
      console.log(`self-check: ${file}: \`${mutant[0]}\` → \`${mutant[1]}\``);
      return true;
    });
    if (!mutated) fail('self-check: none of the mutants matches the built dist/; update the list in scripts/test-runtimes.ts');
    const only = values.only?.split(',') ?? ['node'];
    const reports = await runMatrix(copy, only as Runtime[], true);
    // Some checks must pass (the runtime ran the suites) and some must fail (they noticed).
    const missed = reports.filter((r) => r.failed === 0 || r.passed === 0);
    if (missed.length > 0) fail(`self-check: a broken dist/ was not caught (or the suites did not run) on ${missed.map((r) => r.runtime).join(', ')}`);
    console.log(`self-check: the broken dist/ failed on ${reports.map((r) => r.runtime).join(', ')}, as it must`);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Two bundles of the suites: ESM for the runtimes that load files, an IIFE for a browser page. */
async function bundle(dist: string, work: string): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [join(harness, 'suite.ts')],
    bundle: true,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    // fast-check and @vitest/expect from the workspace, also for a dist/ copied elsewhere (--self-check).
    nodePaths: [join(repo, 'node_modules')],
    // What the published package resolves to, not the workspace's TypeScript source.
    alias: {
      '@shunt/core/testing': join(dist, 'testing/index.js'),
      '@shunt/core': join(dist, 'index.js'),
      vitest: join(harness, 'vitest-shim.ts'),
    },
    logLevel: 'warning',
  };
  const { metafile } = await build({ ...common, format: 'esm', outfile: join(work, 'suite.mjs'), metafile: true });
  // The point is to test what is published: not one line of core's TypeScript source may be in it.
  const source = Object.keys(metafile.inputs).filter((input) => input.includes('packages/core/src/'));
  if (source.length > 0) fail(`the runtime bundle includes core's source, not only dist/: ${source.join(', ')}`);
  const fromDist = Object.keys(metafile.inputs).filter((input) => input.endsWith('.js') && join(repo, input).startsWith(dist));
  if (fromDist.length === 0) fail(`the runtime bundle took nothing from ${dist}`);
  await build({ ...common, format: 'iife', globalName: 'shuntRuntimeSuite', outfile: join(work, 'suite.iife.js') });
  const main = (runtime: string): string =>
    `import { runConformance } from './suite.mjs';\nconsole.log('RESULT ' + JSON.stringify(await runConformance('${runtime}', ${String(numRuns)})));\n`;
  for (const runtime of ['node', 'bun', 'deno']) writeFileSync(join(work, `main-${runtime}.mjs`), main(runtime));
  // workerd: a test handler (`workerd test`) that runs the suites and throws when one fails.
  writeFileSync(
    join(work, 'worker.mjs'),
    `import { runConformance } from './suite.mjs';\nexport default {\n  async test() {\n    const report = await runConformance('workerd', ${String(numRuns)});\n    console.log('RESULT ' + JSON.stringify(report));\n  },\n};\n`,
  );
  // Already bundled: workerd loads the two modules as they are, with no esbuild of its own to find.
  writeFileSync(join(work, 'wrangler.json'), JSON.stringify({ name: 'shunt-core-runtime', main: 'worker.mjs', compatibility_date: '2026-11-01', no_bundle: true }));
}

async function runOn(runtime: Runtime, work: string): Promise<RuntimeReport> {
  switch (runtime) {
    case 'node':
      return parseReport(runtime, await exec(process.execPath, [join(work, 'main-node.mjs')]));
    case 'bun':
      return parseReport(runtime, await exec(tool('bun'), ['run', join(work, 'main-bun.mjs')]));
    case 'deno':
      // No file or network access. The environment is for the harness: vitest's expect colours its
      // diffs with tinyrainbow, which reads FORCE_TTY; core itself reads nothing (src/portability.test.ts).
      return parseReport(runtime, await exec(tool('deno'), ['run', '--no-prompt', '--no-config', '--allow-env', join(work, 'main-deno.mjs')]));
    case 'workerd':
      return parseReport(runtime, await exec(tool('workerd'), ['test', join(work, 'wrangler.json')]));
    case 'chromium':
      return runInChromium(work);
  }
}

async function runInChromium(work: string): Promise<RuntimeReport> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.setContent('<!doctype html><title>@shunt/core runtime matrix</title>');
    await page.addScriptTag({ content: readFileSync(join(work, 'suite.iife.js'), 'utf8') });
    const report = await page.evaluate(
      async (runs) => (globalThis as unknown as { shuntRuntimeSuite: typeof import('../packages/core/test/runtimes/suite.ts') }).shuntRuntimeSuite.runConformance('chromium', runs),
      numRuns,
    );
    if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
    return report;
  } finally {
    await browser.close();
  }
}

function tool(name: string): string {
  const path = join(binDir, name);
  if (!existsSync(path)) throw new Error(`${path} not found: run scripts/install-runtimes.sh (or set SHUNT_RUNTIMES_DIR)`);
  return path;
}

function parseReport(runtime: Runtime, output: { code: number | null; stdout: string; stderr: string }): RuntimeReport {
  const line = `${output.stdout}\n${output.stderr}`.split('\n').find((l) => l.includes('RESULT {'));
  if (line === undefined) {
    throw new Error(`no result (exit ${String(output.code)}):\n${(output.stderr || output.stdout).split('\n').slice(-15).join('\n')}`);
  }
  return JSON.parse(line.slice(line.indexOf('RESULT {') + 'RESULT '.length)) as RuntimeReport;
}

function crashed(runtime: Runtime, error: unknown): RuntimeReport {
  const message = error instanceof Error ? error.message : String(error);
  return { runtime, numRuns, passed: 0, failed: 1, skipped: 0, failures: [{ title: `${runtime} did not run the suites`, message }] };
}

function exec(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} still running after ${String(TIMEOUT_MS / 1000)} s`));
    }, TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
