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

/**
 * Twelve 5-hour windows of Sonnet turns with a Haiku side call on every other one, far below one
 * rounding step of a reading to 4 decimals: the Haiku weights are barely informed.
 */
function smallCallRows(): ReadRow[] {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const rows: ReadRow[] = [];
  for (let window = 0; window < 12; window++) {
    const start = T0 + window * 5 * 3_600_000;
    const reset = (start + 5 * 3_600_000) / 1000;
    let used = 0;
    for (let i = 0; i < 60; i++) {
      const tsMs = start + i * 4 * 60_000;
      const input = 200 + Math.round(random() * 400);
      const output = 2_000 + Math.round(random() * 6_000);
      used += (input * 3e-6 + output * 15e-6) / 20;
      rows.push({ recordIndex: rows.length, tsMs, account: 'a', model: 'claude-sonnet-4-5', status: 200, inputTokens: input, outputTokens: output, utilization5h: Math.round(used * 10_000) / 10_000, reset5hSecs: reset });
      if (i % 2 === 0) {
        const haikuIn = 150 + Math.round(random() * 600);
        const haikuOut = 8 + Math.round(random() * 52);
        used += (haikuIn * 1e-6 + haikuOut * 5e-6) / 20;
        rows.push({ recordIndex: rows.length, tsMs: tsMs + 1, account: 'a', model: 'claude-haiku-4-5', status: 200, inputTokens: haikuIn, outputTokens: haikuOut, utilization5h: Math.round(used * 10_000) / 10_000, reset5hSecs: reset });
      }
    }
  }
  return rows;
}

describe('calibration uncertainty', () => {
  it("should state a barely informed family's cost error at least half its actual error (readings of one window share their errors)", () => {
    const columns = createRowColumns();
    const rows = smallCallRows();
    rows.forEach((row, i) => columns.push(row, i));
    const calibration = calibrate(columns.columns(), { groupOf: (account) => account });
    expect(calibration?.weightsFitted).toBe(true);
    if (calibration === undefined || calibration === null) return;
    // What the Haiku calls cost relative to the Sonnet calls, fitted against true.
    const cost = (family: 'sonnet' | 'haiku', w: { input: number; output: number }): number =>
      rows.filter((r) => r.model?.includes(family) === true).reduce((sum, r) => sum + (r.inputTokens ?? 0) * w.input + (r.outputTokens ?? 0) * w.output, 0);
    const fitted = cost('haiku', calibration.weights.haiku) / cost('sonnet', calibration.weights.sonnet);
    const truth = cost('haiku', { input: 1e-6, output: 5e-6 }) / cost('sonnet', { input: 3e-6, output: 15e-6 });
    const actual = Math.abs(fitted / truth - 1);
    const stated = calibration.familyCostErrors.haiku + calibration.familyCostErrors.sonnet;
    // Far outside the textbook error of levels, inside twice the error clustered by window.
    expect(actual).toBeGreaterThan(0.1);
    expect(stated).toBeGreaterThan(actual / 2);
  });
});
