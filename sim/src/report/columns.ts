/**
 * @module
 * The strategy comparison's columns, shared by the terminal table and the HTML report so both
 * rank the same values the same way: what each column shows, and which way is better.
 */
import { formatDurationMs } from '../util/duration.js';
import type { StrategyReport } from './metrics.js';

/** One column of the comparison. */
export interface Column {
  readonly title: string;
  readonly value: (r: StrategyReport) => number | null;
  readonly text: (r: StrategyReport) => string;
  /** Which way is better; null for columns that are not ranked. */
  readonly better: 'higher' | 'lower' | null;
}

/** The comparison's columns, in display order. */
export const COLUMNS: readonly Column[] = [
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
  // Prompt-cache misses routing caused, ranked by what they cost.
  {
    title: 'cache misses',
    value: (r) => r.cacheMisses.credits,
    text: (r) => `${int(r.cacheMisses.routing)} $${r.cacheMisses.credits.toFixed(2)}`,
    better: 'lower',
  },
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

/** Indexes of the best reports in a column (none when all are equal or the column is unranked). */
export function bestIndexes(reports: readonly StrategyReport[], column: Column): Set<number> {
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

/** Whole numbers with thousands separators. */
export function int(n: number): string {
  return n.toLocaleString('en-US');
}

/** A fraction as a percentage. */
export function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(fraction !== 0 && Math.abs(fraction) < 0.1 ? 1 : 0)}%`;
}

/** A duration in words, or 0. */
export function duration(ms: number): string {
  return ms === 0 ? '0' : formatDurationMs(ms);
}

/** An ISO instant as `Mon 01-05 09:30`. */
export function shortTime(iso: string): string {
  // 2026-01-05T09:30:00.000Z → Mon 01-05 09:30
  const date = new Date(iso);
  return `${WEEKDAYS[date.getUTCDay()]} ${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

function held(report: StrategyReport, ms: number): number | null {
  return report.held === 0 ? null : ms;
}

function holdText(report: StrategyReport, ms: number): string {
  return report.held === 0 ? '–' : duration(ms);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
