/**
 * @module
 * Number formatting that is identical on every run and platform (reports are compared byte for byte).
 */

/**
 * Round to `digits` decimals and return a plain number (no `-0`). Uses `toFixed`, whose output is
 * specified exactly by ECMAScript, so the same input always gives the same digits.
 */
export function roundTo(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const rounded = Number(value.toFixed(digits));
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** Nearest-rank percentile (`p` in 0..100) of an ascending array, or 0 when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * Gini coefficient of non-negative values: 0 when all are equal, approaching 1 when one holds
 * everything. 0 for an empty list or when everything is 0.
 */
export function gini(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i] as number;
    sum += v;
    weighted += (i + 1) * v;
  }
  if (sum <= 0) return 0;
  return (2 * weighted) / (n * sum) - (n + 1) / n;
}
