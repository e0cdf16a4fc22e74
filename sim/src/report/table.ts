/**
 * @module
 * The terminal report: a summary of the trace and the model, then the strategies side by side
 * with the best value in each column marked.
 */
import type { SimulationResult } from '../replay/simulate.js';
import { formatDurationMs } from '../util/duration.js';
import type { StrategyReport } from './metrics.js';

/** Options for {@link formatTable}. */
export interface TableOptions {
  /** Colour the best values (ANSI). @default false */
  readonly color?: boolean | undefined;
}

interface Column {
  readonly title: string;
  readonly value: (r: StrategyReport) => number | null;
  readonly text: (r: StrategyReport) => string;
  /** Which way is better; null for columns that are not ranked. */
  readonly better: 'higher' | 'lower' | null;
}

const COLUMNS: readonly Column[] = [
  { title: 'served', value: (r) => r.served, text: (r) => int(r.served), better: 'higher' },
  // Not ranked: a request served after a hold beats one that failed, so fewer is not simply better.
  { title: 'after hold', value: (r) => r.servedAfterHold, text: (r) => int(r.servedAfterHold), better: null },
  { title: 'failed', value: (r) => r.failed, text: (r) => int(r.failed), better: 'lower' },
  { title: '429s', value: (r) => r.rateLimited, text: (r) => int(r.rateLimited), better: 'lower' },
  // Hold times describe held requests; a strategy that held none has no hold time to rank.
  { title: 'hold total', value: (r) => held(r, r.holdMs.total), text: (r) => holdText(r, r.holdMs.total), better: 'lower' },
  { title: 'p50', value: (r) => held(r, r.holdMs.p50), text: (r) => holdText(r, r.holdMs.p50), better: 'lower' },
  { title: 'p95', value: (r) => held(r, r.holdMs.p95), text: (r) => holdText(r, r.holdMs.p95), better: 'lower' },
  { title: 'max', value: (r) => held(r, r.holdMs.max), text: (r) => holdText(r, r.holdMs.max), better: 'lower' },
  { title: 'dry min', value: (r) => r.exhaustedMinutes, text: (r) => r.exhaustedMinutes.toFixed(1), better: 'lower' },
  { title: 'switches', value: (r) => r.switches, text: (r) => int(r.switches), better: 'lower' },
  { title: 'sticky', value: (r) => r.stickyHitRate, text: (r) => percent(r.stickyHitRate), better: 'higher' },
  { title: 'wk expired', value: (r) => r.expiredWeeklyQuota, text: (r) => percent(r.expiredWeeklyQuota), better: 'lower' },
  { title: 'gini', value: (r) => r.spread.gini, text: (r) => r.spread.gini.toFixed(2), better: null },
  {
    title: '1st exhausted',
    // Later is better; never is best of all.
    value: (r) => (r.firstExhaustion === null ? Number.POSITIVE_INFINITY : Date.parse(r.firstExhaustion)),
    text: (r) => (r.firstExhaustion === null ? 'never' : shortTime(r.firstExhaustion)),
    better: 'higher',
  },
];

/** The full terminal report. */
export function formatTable(result: SimulationResult, options: TableOptions = {}): string {
  const color = options.color ?? false;
  const lines: string[] = [];
  lines.push(...summary(result));
  lines.push('');
  lines.push(...comparison(result.results.map((r) => r.report), color));
  lines.push('');
  lines.push(...perAccount(result));
  lines.push('');
  lines.push(...legend());
  return `${lines.join('\n')}\n`;
}

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
  if (cost.fallbacks > 0) costLine += `; ${int(cost.fallbacks)} requests priced by a fallback`;
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
  return ['Per account: peak 5h utilization · weekly quota used · weekly quota expired unused', ...renderTable(header, rows, undefined)];
}

function legend(): string[] {
  return [
    'after hold: served after waiting for an account; hold: total and p50/p95/max over held requests (– when none was held); dry min: minutes with',
    'every account unavailable while a request waited; switches: requests whose conversation last ran on another',
    'account (prompt-cache misses); sticky: picks decided by the conversation\'s sticky account; wk expired: weekly',
    'quota (share of the pool\'s) that reset unused; gini: spread of weekly use across accounts (0 = even).',
    'See docs/simulator.md for the model, its assumptions and limits.',
  ];
}

/** Indexes of the best reports in a column (none when all are equal or the column is unranked). */
function bestIndexes(reports: readonly StrategyReport[], column: Column): Set<number> {
  const out = new Set<number>();
  if (column.better === null || reports.length < 2) return out;
  const values = reports.map((r) => column.value(r));
  const finite = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (finite.length < 2) return out;
  const target = column.better === 'higher' ? Math.max(...finite) : Math.min(...finite);
  if (finite.every((v) => v === target)) return out;
  values.forEach((v, i) => {
    if (v === target) out.add(i);
  });
  return out;
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

function held(report: StrategyReport, ms: number): number | null {
  return report.held === 0 ? null : ms;
}

function holdText(report: StrategyReport, ms: number): string {
  return report.held === 0 ? '–' : duration(ms);
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(fraction !== 0 && Math.abs(fraction) < 0.1 ? 1 : 0)}%`;
}

function duration(ms: number): string {
  return ms === 0 ? '0' : formatDurationMs(ms);
}

function credits(value: number): string {
  return Number.isFinite(value) ? `$${value.toFixed(value < 100 ? 2 : 0)}` : '∞';
}

function shortTime(iso: string): string {
  // 2026-01-05T09:30:00.000Z → Mon 01-05 09:30
  const date = new Date(iso);
  return `${WEEKDAYS[date.getUTCDay()]} ${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

function weekday(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${WEEKDAYS[new Date(ms).getUTCDay()]} ${iso.slice(11, 16)} UTC`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
