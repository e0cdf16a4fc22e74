/**
 * @module
 * `pnpm sim:gen --out traces/week.csv --accounts 3 --days 7 --seed 1`: write a synthetic trace.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_START_MS, generateTrace } from './generate/record.js';

const HELP = `Usage: pnpm sim:gen --out FILE [options]

Generates a synthetic week of Claude Code use by a small team, routed by a ground-truth pool and
recorded in trace format v1 exactly as the proxy's recorder would (see traces/README.md).

Options:
  --out FILE            Where to write the trace (required).
  --accounts N          Accounts in the pool (plans cycle max20, max5, pro, max5, max20, team). Default: 3.
  --days N              Days to generate. Default: 7.
  --users N             Team members. Default: accounts + 1.
  --seed S              Seed (same seed, same file). Default: 1.
  --start ISO           First instant. Default: ${new Date(DEFAULT_START_MS).toISOString()} (a Monday).
  --scale-5h X          Ground-truth 5-hour capacity as a multiple of the plan default. Default: 0.55.
  --scale-7d X          Ground-truth weekly capacity as a multiple of the plan default. Default: 0.75.
  --strategy NAME       Strategy the recording proxy used. Default: maximus.
  --sticky-ttl-min N    The recording proxy's sticky TTL, minutes. Default: 10.
  --cache-ttl 5m|1h     Prompt-cache lifetime the team's client asks for. Default: 5m.
  --accounts-out FILE   Also write the ground-truth pool as an --accounts file.
  --truth-out FILE      Also write the ground truth (true capacities, token prices and every
                        request's true cost, JSON) for checking the simulator; pnpm sim never
                        reads it.
  -h, --help            Show this help.

Example:
  pnpm sim:gen --out traces/week.csv --accounts 3 --days 7 --seed 1
`;

async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        out: { type: 'string' },
        accounts: { type: 'string' },
        days: { type: 'string' },
        users: { type: 'string' },
        seed: { type: 'string' },
        start: { type: 'string' },
        'scale-5h': { type: 'string' },
        'scale-7d': { type: 'string' },
        strategy: { type: 'string' },
        'accounts-out': { type: 'string' },
        'truth-out': { type: 'string' },
        'cache-ttl': { type: 'string' },
        'sticky-ttl-min': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`sim:gen: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  try {
    if (values.out === undefined) throw new Error('--out FILE is required');
    const startMs = values.start === undefined ? undefined : Date.parse(values.start);
    if (startMs !== undefined && !Number.isFinite(startMs)) throw new Error(`--start ${values.start}: expected ISO-8601`);
    const cacheTtl = values['cache-ttl'];
    if (cacheTtl !== undefined && cacheTtl !== '5m' && cacheTtl !== '1h') throw new Error(`--cache-ttl ${cacheTtl}: expected 5m or 1h`);
    const stickyMinutes = positive('--sticky-ttl-min', values['sticky-ttl-min']);
    const summary = await generateTrace({
      out: values.out,
      accounts: positive('--accounts', values.accounts),
      days: positive('--days', values.days),
      users: positive('--users', values.users),
      seed: values.seed === undefined ? undefined : /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed,
      startMs,
      capacityScale:
        values['scale-5h'] === undefined && values['scale-7d'] === undefined
          ? undefined
          : { window5h: positiveNumber('--scale-5h', values['scale-5h'] ?? '0.55'), window7d: positiveNumber('--scale-7d', values['scale-7d'] ?? '0.75') },
      strategy: values.strategy,
      cacheTtl,
      stickyTtlMs: stickyMinutes === undefined ? undefined : stickyMinutes * 60_000,
      truthOut: values['truth-out'],
    });
    if (values['accounts-out'] !== undefined) {
      const lines = ['name,plan,weekly_reset', ...summary.accounts.map((a) => `${a.name},${a.plan},${new Date(a.weeklyResetMs).toISOString()}`)];
      await writeFile(values['accounts-out'], `${lines.join('\n')}\n`);
    }
    process.stderr.write(
      `sim:gen: wrote ${values.out}: ${summary.rows} rows, ${summary.requests} requests, ${summary.rateLimitedRows} 429s, ${summary.failedRequests} failed\n`,
    );
    process.stderr.write('ground truth (credits = API-price dollars):\n');
    for (const a of summary.accounts) {
      process.stderr.write(
        `  ${a.name}: ${a.plan}, ${a.capacity.window5hCredits.toFixed(2)} per 5h, ${a.capacity.window7dCredits.toFixed(2)} per week, ` +
          `weekly reset ${new Date(a.weeklyResetMs).toISOString()}, starts at ${(a.startUtilization7d * 100).toFixed(0)}% of the week\n`,
      );
    }
    return 0;
  } catch (error) {
    process.stderr.write(`sim:gen: ${(error as Error).message}\n`);
    return 2;
  }
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${flag} ${text}: expected a positive integer`);
  return Number(text);
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} ${text}: expected a positive number`);
  return value;
}

process.exitCode = await main(process.argv.slice(2));
