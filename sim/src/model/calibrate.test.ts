import { describe, expect, it } from 'vitest';
import type { ReadRow } from '../trace/reader.js';
import { calibrate } from './calibrate.js';
import { createRowColumns } from './row-columns.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const RESET_SECS = (T0 + 5 * 3_600_000) / 1000;

/** A window of capacity 10 credits at list prices, read to 4 decimals. */
function windowRows(openerFirst: boolean): ReadRow[] {
  let used = 0;
  const reading = (credits: number): number => {
    used += credits / 10;
    return Math.round(used * 10_000) / 10_000;
  };
  // An Opus request opens the window (1 credit) and a tiny Haiku call lands in the same instant;
  // its reading is the same after rounding, so the tie hides which came first.
  const opener: Omit<ReadRow, 'recordIndex'> = { tsMs: T0, account: 'a', model: 'claude-opus-4-5', status: 200, outputTokens: 40_000, utilization5h: reading(1), reset5hSecs: RESET_SECS };
  const haiku: Omit<ReadRow, 'recordIndex'> = { tsMs: T0, account: 'a', model: 'claude-haiku-4-5', status: 200, inputTokens: 20, utilization5h: reading(0.00002), reset5hSecs: RESET_SECS };
  const rows: Array<Omit<ReadRow, 'recordIndex'>> = openerFirst ? [opener, haiku] : [haiku, opener];
  for (let i = 1; i <= 40; i++) {
    const output = 10_000 + 997 * i;
    rows.push({ tsMs: T0 + i * 60_000, account: 'a', model: 'claude-sonnet-4-5', status: 200, outputTokens: output, utilization5h: reading((output * 15) / 1e6), reset5hSecs: RESET_SECS });
    if (i % 4 === 0) rows.push({ tsMs: T0 + i * 60_000 + 1, account: 'a', model: 'claude-opus-4-5', status: 200, outputTokens: 8_000, utilization5h: reading(0.2), reset5hSecs: RESET_SECS });
  }
  return rows.map((row, recordIndex) => ({ ...row, recordIndex }));
}

describe('calibrate', () => {
  it.each([true, false])('should recover the capacity whichever of two tied first readings the file lists first (opener first: %s)', (openerFirst) => {
    const columns = createRowColumns();
    windowRows(openerFirst).forEach((row, i) => columns.push(row, i));
    const calibration = calibrate(columns.columns(), { groupOf: (account) => account });
    const capacity = calibration?.groups.get('a')?.capacity.window5hCredits ?? Number.NaN;
    expect(Math.abs(capacity / 10 - 1)).toBeLessThan(0.01);
    expect(calibration?.weightsFitted).toBe(true);
  });
});
