/**
 * @module
 * `pnpm sim <trace.csv>`: replay a recorded trace through every strategy and compare them.
 * stdout carries only the report; progress and warnings go to stderr. Exit codes: 0 success,
 * 2 bad input or usage, 1 an unexpected failure.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Strategy } from '@shunt/core';
import { COST_MODEL_MODES, type CostModelMode } from './model/cost-model.js';
import { PLAN_NAMES, parsePlan, type PlanName } from './model/plans.js';
import { readAccountsFile } from './replay/accounts-file.js';
import { StrategyLoadError, builtInStrategies, loadStrategy } from './replay/load-strategy.js';
import { DEFAULT_WARMUP_ROWS, simulate, type PoolSource } from './replay/simulate.js';
import { formatHtmlReport } from './report/html.js';
import { formatJsonReport, toJsonReport } from './report/json.js';
import { formatTable } from './report/table.js';
import { DEFAULT_REORDER_WINDOW_MS } from './trace/assemble.js';
import { TraceError } from './trace/errors.js';
import { parseDurationMs } from './util/duration.js';
import { createProgressBar } from './util/progress.js';

const USAGE_LINE = 'Usage: pnpm sim <trace.csv> [options]   (pnpm sim --help lists the options)';

const HELP = `Usage: pnpm sim <trace.csv> [options]

Replays a recorded rate-limit trace through @shunt/core's routing strategies in virtual time and
shows, side by side, what each would have done (docs/simulator.md explains the model).

Options:
  --strategy NAME|FILE   A built-in (maximus, cushion, reaper, carousel; aliases such as
                         round-robin accepted) or a module whose default export is a Strategy.
                         Repeatable. Default: all four built-ins.
  --accounts FILE        The pool: a CSV with columns name,plan[,weekly_reset]
                         (plans: ${PLAN_NAMES.join(', ')}). Default: the trace's account column.
  --accounts-count N     Simulate N accounts named acct-1..acct-N on --plan instead.
  --plan PLAN            Plan of accounts from the trace or --accounts-count when capacity
                         cannot be calibrated. Default: max5.
  --add-account PLAN     What if the pool had one more account on PLAN? Shows the comparison
                         for the enlarged pool beside the recorded one. Repeatable.
  --sticky-ttl DUR       How long a conversation sticks to its account. Default: 10m.
  --expiry-soon DUR      Reaper's "expiring soon" horizon. Default: 30m.
  --max-wait DUR         Longest a request is held waiting for an account. Default: 600s.
  --reorder-window DUR   How far out of ts order rows may be. Default: 15m.
  --warmup-rows N        Rows read before replaying, to learn accounts, costs and starting
                         state. Default: ${DEFAULT_WARMUP_ROWS}.
  --cost-model MODE      auto, ${COST_MODEL_MODES.join(', ')}. Default: auto (the best the
                         trace supports).
  --skip-bad-rows        Skip malformed rows (reported) instead of stopping at the first.
  --json                 Print the JSON report (stable schema) instead of the table.
  --html FILE            Also write a self-contained HTML report with charts.
  --no-progress          Never draw the progress bar.
  -h, --help             Show this help.

Durations: 250ms, 30s, 10m, 2h, 1d, 1h30m.

Examples:
  pnpm sim traces/week.csv
  pnpm sim traces/week.csv --strategy maximus --strategy cushion --max-wait 2m
  pnpm sim traces/week.csv --json > report.json
  pnpm sim traces/week.csv --html report.html
  pnpm sim my-trace.csv --accounts accounts.csv --sticky-ttl 30m
  pnpm sim my-trace.csv --accounts-count 4 --plan max20
  pnpm sim traces/week.csv --add-account max20
  pnpm sim traces/week.csv --strategy maximus --strategy ./my-strategy.ts

Exit codes: 0 success, 2 bad input (file:line:column: reason on stderr), 1 unexpected error.
`;

/** Run the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (error) {
    // One line (Node's parseArgs adds a second sentence on positionals that start with "-"), then the usage.
    const message = (error as Error).message.split(/\.\s/)[0] ?? '';
    process.stderr.write(`sim: ${message.charAt(0).toLowerCase()}${message.slice(1)}\n${USAGE_LINE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const options = parsed;
  try {
    const strategies = await resolveStrategies(options.strategyArgs);
    const pool: PoolSource =
      options.accountsFile !== undefined
        ? { kind: 'file', accounts: await readAccountsFile(options.accountsFile) }
        : options.accountsCount !== undefined
          ? { kind: 'count', count: options.accountsCount, plan: options.plan }
          : { kind: 'trace', plan: options.plan };
    const progress = options.progress && process.stderr.isTTY === true ? createProgressBar(process.stderr) : undefined;
    const warnings: string[] = [];
    const routing = { stickyTtlMs: options.stickyTtlMs, expirySoonSecs: options.expirySoonSecs, maxWaitMs: options.maxWaitMs };
    let result;
    try {
      result = await simulate({
        file: options.trace,
        strategies,
        routing,
        pool,
        reorderWindowMs: options.reorderWindowMs,
        skipBadRows: options.skipBadRows,
        warmupRows: options.warmupRows,
        costModel: options.costModel,
        timelineStepMs: options.htmlFile === undefined ? null : 10 * 60_000,
        onProgress: progress?.update,
        onWarning: (message) => warnings.push(message),
        addAccounts: options.addAccounts,
      });
    } finally {
      progress?.done();
    }
    for (const warning of warnings) process.stderr.write(`sim: warning: ${warning}\n`);
    if (result.trace.skippedRows > 0) {
      process.stderr.write(`sim: skipped ${result.trace.skippedRows} bad row(s)${result.trace.skippedSamples.length > 0 ? ', for example:' : ''}\n`);
      for (const sample of result.trace.skippedSamples) process.stderr.write(`  ${sample}\n`);
    }
    const settings = { ...routing, reorderWindowMs: options.reorderWindowMs, warmupRows: options.warmupRows };
    if (options.htmlFile !== undefined) {
      await writeAtomically(options.htmlFile, formatHtmlReport(result, settings));
      process.stderr.write(`sim: wrote ${options.htmlFile}\n`);
    }
    if (options.json) {
      process.stdout.write(formatJsonReport(toJsonReport(result, settings)));
    } else {
      const color = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
      process.stdout.write(formatTable(result, { color, routing }));
    }
    return 0;
  } catch (error) {
    if (error instanceof TraceError || error instanceof StrategyLoadError) {
      process.stderr.write(`sim: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`sim: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

interface CliOptions {
  readonly trace: string;
  readonly strategyArgs: readonly string[];
  readonly accountsFile: string | undefined;
  readonly accountsCount: number | undefined;
  readonly plan: PlanName;
  readonly addAccounts: readonly PlanName[];
  readonly stickyTtlMs: number;
  readonly expirySoonSecs: number;
  readonly maxWaitMs: number;
  readonly reorderWindowMs: number;
  readonly warmupRows: number;
  readonly costModel: CostModelMode | 'auto';
  readonly skipBadRows: boolean;
  readonly json: boolean;
  readonly htmlFile: string | undefined;
  readonly progress: boolean;
}

function parseCliArgs(argv: readonly string[]): CliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      strategy: { type: 'string', multiple: true },
      accounts: { type: 'string' },
      'accounts-count': { type: 'string' },
      plan: { type: 'string' },
      'add-account': { type: 'string', multiple: true },
      'sticky-ttl': { type: 'string' },
      'expiry-soon': { type: 'string' },
      'max-wait': { type: 'string' },
      'reorder-window': { type: 'string' },
      'warmup-rows': { type: 'string' },
      'cost-model': { type: 'string' },
      'skip-bad-rows': { type: 'boolean' },
      json: { type: 'boolean' },
      html: { type: 'string' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  if (positionals.length === 0) throw new Error('missing the trace file (pnpm sim <trace.csv>)');
  if (positionals.length > 1) throw new Error(`expected one trace file, got ${positionals.length}: ${positionals.join(' ')}`);
  if (values.accounts !== undefined && values['accounts-count'] !== undefined) {
    throw new Error('--accounts and --accounts-count are alternatives: pass one');
  }
  const plan = values.plan === undefined ? 'max5' : parsePlan(values.plan);
  if (plan === undefined) throw new Error(`--plan ${values.plan}: expected one of ${PLAN_NAMES.join(', ')}`);
  const addAccounts = (values['add-account'] ?? []).map((text) => {
    const added = parsePlan(text);
    if (added === undefined) throw new Error(`--add-account ${text}: expected one of ${PLAN_NAMES.join(', ')}`);
    return added;
  });
  const costModel = values['cost-model'] ?? 'auto';
  if (costModel !== 'auto' && !(COST_MODEL_MODES as readonly string[]).includes(costModel)) {
    throw new Error(`--cost-model ${costModel}: expected auto, ${COST_MODEL_MODES.join(', ')}`);
  }
  return {
    trace: positionals[0] as string,
    strategyArgs: values.strategy ?? [],
    accountsFile: values.accounts,
    accountsCount: values['accounts-count'] === undefined ? undefined : positiveInteger('--accounts-count', values['accounts-count']),
    plan,
    addAccounts,
    stickyTtlMs: duration('--sticky-ttl', values['sticky-ttl'], 600_000),
    expirySoonSecs: duration('--expiry-soon', values['expiry-soon'], 1_800_000) / 1000,
    maxWaitMs: duration('--max-wait', values['max-wait'], 600_000),
    reorderWindowMs: duration('--reorder-window', values['reorder-window'], DEFAULT_REORDER_WINDOW_MS),
    warmupRows: values['warmup-rows'] === undefined ? DEFAULT_WARMUP_ROWS : positiveInteger('--warmup-rows', values['warmup-rows']),
    costModel: costModel as CostModelMode | 'auto',
    skipBadRows: values['skip-bad-rows'] === true,
    json: values.json === true,
    htmlFile: values.html,
    progress: values['no-progress'] !== true,
  };
}

async function resolveStrategies(args: readonly string[]): Promise<Strategy[]> {
  if (args.length === 0) return builtInStrategies();
  const out: Strategy[] = [];
  for (const arg of args) {
    const strategy = await loadStrategy(arg);
    if (out.some((s) => s.name === strategy.name)) {
      throw new StrategyLoadError(`--strategy ${arg}: a strategy named "${strategy.name}" is already selected`);
    }
    out.push(strategy);
  }
  return out;
}

function duration(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new Error(`${flag} ${text}: expected a duration such as 30s, 10m or 2h`);
  return ms;
}

function positiveInteger(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${flag} ${text}: expected a positive integer`);
  return Number(text);
}

/** Write to a temporary file beside `file`, then rename: a failed run never leaves half a report. */
async function writeAtomically(file: string, content: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, content);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw new TraceError(file, {}, `cannot write the HTML report: ${(error as Error).message}`);
  }
}

process.exitCode = await main(process.argv.slice(2));
