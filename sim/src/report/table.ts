/**
 * @module
 * The terminal report: a summary of the trace and the model, then the strategies side by side
 * with the best value in each column marked.
 */
import type { RoutingSettings } from '../replay/replayer.js';
import type { SimulationResult } from '../replay/simulate.js';
import { assess } from './assessment.js';
import { formatVerdict, verdict } from './verdict.js';
import { bestIndexes, COLUMNS, int, percent, shortTime } from './columns.js';
import type { StrategyReport } from './metrics.js';

/** Options for {@link formatTable}. */
export interface TableOptions {
  /** Colour the best values (ANSI). @default false */
  readonly color?: boolean | undefined;
  /** The routing settings of the run (for the sticky-TTL advice). @default the proxy's defaults */
  readonly routing?: RoutingSettings | undefined;
}

/** The full terminal report. */
export function formatTable(result: SimulationResult, options: TableOptions = {}): string {
  const color = options.color ?? false;
  const assessment = assess(result, options.routing ?? DEFAULT_ROUTING);
  const lines: string[] = [];
  lines.push(...summary(result));
  if (assessment.fidelityLine !== null) lines.push(assessment.fidelityLine);
  lines.push('');
  lines.push(...comparison(result.results.map((r) => r.report), color));
  lines.push('');
  lines.push(assessment.verdictLine);
  lines.push(assessment.stickyTtl.line);
  lines.push('');
  if (result.whatIf !== null) {
    const added = result.whatIf.added.map((a) => `${a.name} (${a.plan}, ${credits(a.capacity.window5hCredits)} per 5h)`).join(', ');
    lines.push(`What if the pool also had ${added}:`);
    lines.push(...comparison(result.whatIf.results, color));
    lines.push(formatVerdict(verdict(result.whatIf.results)));
    lines.push(...gain(result));
    lines.push('');
  }
  lines.push(...perAccount(result));
  lines.push('');
  lines.push(...legend());
  return `${lines.join('\n')}\n`;
}

const DEFAULT_ROUTING: RoutingSettings = { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 };

function summary(result: SimulationResult): string[] {
  const { trace } = result;
  const days = (trace.endMs - trace.startMs) / 86_400_000;
  const lines = [
    `Trace ${trace.file}: ${int(trace.rows)} rows, ${int(trace.requests)} requests, ` +
      `${shortTime(new Date(trace.startMs).toISOString())} → ${shortTime(new Date(trace.endMs).toISOString())} UTC (${days.toFixed(1)} days)`,
  ];
  if (trace.skippedRows > 0) lines.push(`  skipped ${int(trace.skippedRows)} bad rows (--skip-bad-rows)`);
  lines.push(`  recorded: ${int(trace.recorded.rateLimited)} 429s, ${int(trace.recorded.unserved)} requests never served`);
  const cost = trace.costModel;
  const calibration = cost.calibration;
  let costLine = `Cost model: ${cost.mode}`;
  if (calibration !== null) {
    costLine += ` — fit explains ${percent(calibration.r2)} of the variance of utilization changes (R² over ${int(calibration.samples)} readings)`;
  }
  if (cost.fallbacks > 0) {
    costLine += `; ${int(cost.fallbacks)} requests priced by a fallback`;
    if (Number.isFinite(cost.estimateError) && cost.estimateError > 0) costLine += ` (±${percent(cost.estimateError)} of all credits)`;
  }
  lines.push(costLine);
  lines.push('Accounts:');
  for (const a of trace.accounts) {
    const reset = a.weeklyResetMs === null ? 'weekly window rolling' : `weekly reset ${weekday(a.weeklyResetMs)}`;
    const start =
      a.startUtilization7d > 0 || a.startUtilization5h > 0
        ? `, starts at ${percent(a.startUtilization5h)} 5h / ${percent(a.startUtilization7d)} week`
        : '';
    lines.push(
      `  ${a.name}: ${a.plan}${a.planSource === 'inferred' ? ' (inferred)' : ''}, ` +
        `${a.capacitySource === 'calibrated' ? 'calibrated' : 'default'} capacity ${credits(a.capacity.window5hCredits)} per 5h, ` +
        `${credits(a.capacity.window7dCredits)} per week; ${reset}${start}`,
    );
  }
  return lines;
}

function comparison(reports: readonly StrategyReport[], color: boolean): string[] {
  const requests = reports[0]?.requests ?? 0;
  const header = ['strategy', ...COLUMNS.map((c) => c.title)];
  const best = COLUMNS.map((column) => bestIndexes(reports, column));
  const rows = reports.map((report, i) => [
    report.strategy,
    ...COLUMNS.map((column, c) => column.text(report) + ((best[c] as Set<number>).has(i) ? '*' : ' ')),
  ]);
  const table = renderTable(header, rows, color ? (text) => (text.endsWith('*') ? `\u001b[1;32m${text}\u001b[0m` : text) : undefined);
  return [`Strategies on ${int(requests)} requests (* = best in column):`, ...table];
}

function perAccount(result: SimulationResult): string[] {
  const reports = result.results.map((r) => r.report);
  const header = ['account', ...reports.map((r) => r.strategy)];
  const rows = result.trace.accounts.map((account, i) => [
    account.name,
    ...reports.map((r) => {
      const a = r.accounts[i];
      if (a === undefined) return '';
      return `${percent(a.peakUtilization5h)} · ${percent(a.weeklyUse)} · ${percent(a.expiredWeeklyQuota)}`;
    }),
  ]);
  return ['Per account: peak 5h utilization · weekly quota used · weekly quota expired unused (or left at the end)', ...renderTable(header, rows, undefined)];
}

function legend(): string[] {
  return [
    'after hold: served after waiting for an account; hold: total and p50/p95/max over held requests (– when none was held); dry min: minutes with',
    'every account unavailable while requests arrived (held, or refused at once when none would return within --max-wait); cache misses: requests that paid their cached prefix again because',
    'routing moved them off the account holding it, and what that cost; sticky: picks decided by the conversation\'s sticky account; wk expired: weekly',
    'quota (share of the pool\'s) that reset unused, counting what is left at the end as expiring at the next reset; gini: spread of',
    'weekly use across accounts (0 = even).',
    'See docs/simulator.md for the model, its assumptions and limits.',
  ];
}

/** Per strategy: what the added accounts change. */
function gain(result: SimulationResult): string[] {
  const whatIf = result.whatIf;
  if (whatIf === null) return [];
  return result.results.map((r, i) => {
    const after = whatIf.results[i];
    if (after === undefined) return '';
    return `  ${r.report.strategy}: ${signed(after.served - r.report.served)} served, ${signed(after.held - r.report.held)} held, ${signed(after.failed - r.report.failed)} failed`;
  });
}

function signed(n: number): string {
  return n > 0 ? `+${int(n)}` : n === 0 ? '±0' : `−${int(-n)}`;
}

function renderTable(header: readonly string[], rows: readonly string[][], paint: ((text: string) => string) | undefined): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[], isHeader: boolean): string =>
    cells
      .map((cell, c) => {
        const width = widths[c] as number;
        const padded = c === 0 ? cell.padEnd(width) : cell.padStart(width);
        return !isHeader && paint !== undefined && c > 0 ? paint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, true), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r, false))];
}

function credits(value: number): string {
  return Number.isFinite(value) ? `$${value.toFixed(value < 100 ? 2 : 0)}` : '∞';
}

function weekday(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${WEEKDAYS[new Date(ms).getUTCDay()]} ${iso.slice(11, 16)} UTC`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
