/**
 * @module
 * Calibration: fit what each token costs and what each account (or plan) holds from a trace that
 * carries both token counts and utilization headers.
 *
 * Model: within one window of one account, utilization rises by cost / capacity with
 * cost = Σ weight(family, kind) · tokens(family, kind). Utilization is reported rounded, so the fit
 * uses levels, not single steps: for every row, y = utilization − utilization at the window's
 * first row, and X = the tokens charged to the account since then. y = (w · X) / capacity is
 * linear in w / capacity, so it is fitted by alternating least squares:
 *
 * 1. with the token weights fixed, each group's capacity is a one-parameter least-squares fit;
 * 2. with the capacities fixed, the weights are a ridge regression (pulled towards the API-price
 *    defaults, so a model the trace never uses keeps its default), pooled over groups and windows;
 * 3. the weights are rescaled so the trace's total cost is the same as under the defaults (only
 *    cost / capacity is observable; this keeps credits comparable to API dollars).
 *
 * Only sufficient statistics (12×12 sums) are kept, so memory does not grow with the trace. The
 * quality reported is R² over utilization changes between readings at least 5 minutes apart, an
 * honest measure: levels trend upwards and would flatter any fit, while single row-to-row steps
 * are dominated by the order in which concurrent requests were charged, which no cost model sees.
 */
import { DEFAULT_TOKEN_WEIGHTS, FEATURE_COUNT, TOKEN_KINDS, vectorToWeights, weightsToVector, type TokenWeights } from './costs.js';
import type { Capacity } from './plans.js';
import type { RowColumns } from './row-columns.js';

/** The fit for one group (an account, or a plan when plans are known). */
export interface GroupCalibration {
  /** Fitted capacity, credits per window. */
  readonly capacity: Capacity;
  /** Utilization rows used for the 5-hour fit. */
  readonly samples5h: number;
  /** Utilization rows used for the weekly fit. */
  readonly samples7d: number;
  /** R² of predicted vs reported 5-hour utilization changes over ≥ 5-minute steps. */
  readonly r2_5h: number;
  /** R² of weekly utilization changes over ≥ 5-minute steps. */
  readonly r2_7d: number;
  /** Root-mean-square error of a 5-minute-step 5-hour change, in utilization (0.01 = 1 point). */
  readonly rmse5h: number;
}

/** A calibration result. */
export interface Calibration {
  /** Fitted credits per token. */
  readonly weights: TokenWeights;
  /** Per group, in first-seen order. */
  readonly groups: ReadonlyMap<string, GroupCalibration>;
  /** R² over every group's 5-minute-step 5-hour changes. */
  readonly r2: number;
  /** Utilization rows used, all groups and windows. */
  readonly samples: number;
}

/** Groups with fewer 5-hour samples than this keep their plan's default capacity. */
export const MIN_CALIBRATION_SAMPLES = 20;

/** Options for {@link calibrate}. */
export interface CalibrateOptions {
  /** The calibration group of a recorded account (its name, or its plan). */
  readonly groupOf: (account: string) => string;
  /** Alternating least-squares rounds. @default 8 */
  readonly rounds?: number | undefined;
}

/**
 * Fit weights and capacities from trace rows (any order; they are sorted by `ts` here). Returns
 * null when no group has {@link MIN_CALIBRATION_SAMPLES} usable rows.
 */
export function calibrate(rows: RowColumns, options: CalibrateOptions): Calibration | null {
  const stats = collectStatistics(rows, options.groupOf);
  const usable = [...stats.entries()].filter(([, s]) => s.w5h.level.n >= MIN_CALIBRATION_SAMPLES && s.w5h.level.n > 0);
  if (usable.length === 0) return null;

  const defaults = weightsToVector(DEFAULT_TOKEN_WEIGHTS);
  let w = [...defaults];
  const caps = new Map<string, { c5: number; c7: number }>();
  const fitCaps = (): void => {
    for (const [group, s] of usable) {
      const c5 = fitCapacity(s.w5h.level, w);
      const c7 = s.w7d.level.n >= MIN_CALIBRATION_SAMPLES ? fitCapacity(s.w7d.level, w) : Number.NaN;
      caps.set(group, { c5, c7 });
    }
  };

  const rounds = options.rounds ?? 8;
  for (let round = 0; round < rounds; round++) {
    fitCaps();
    w = fitWeights(usable, caps, w, defaults);
    w = rescale(w, defaults, stats);
  }
  fitCaps();

  const groups = new Map<string, GroupCalibration>();
  let sse = 0;
  let sst = 0;
  let samples = 0;
  for (const [group, s] of usable) {
    const cap = caps.get(group) as { c5: number; c7: number };
    const fit5 = deltaFit(s.w5h.delta, w, cap.c5);
    const fit7 = Number.isFinite(cap.c7) ? deltaFit(s.w7d.delta, w, cap.c7) : { r2: Number.NaN, sse: 0, sst: 0, n: 0 };
    sse += fit5.sse;
    sst += fit5.sst;
    samples += s.w5h.level.n + s.w7d.level.n;
    groups.set(group, {
      capacity: { window5hCredits: cap.c5, window7dCredits: cap.c7 },
      samples5h: s.w5h.level.n,
      samples7d: s.w7d.level.n,
      r2_5h: fit5.r2,
      r2_7d: fit7.r2,
      rmse5h: fit5.n > 0 ? Math.sqrt(Math.max(0, fit5.sse) / fit5.n) : Number.NaN,
    });
  }
  return { weights: vectorToWeights(w), groups, r2: sst > 0 ? 1 - sse / sst : Number.NaN, samples };
}

/** Sums for a least-squares fit of y ≈ θ·X: Σ X Xᵀ, Σ y X, Σ y², Σ y and the count. */
interface Sums {
  readonly xx: Float64Array;
  readonly xy: Float64Array;
  yy: number;
  y: number;
  n: number;
}

interface WindowSums {
  readonly level: Sums;
  readonly delta: Sums;
}

interface GroupSums {
  readonly w5h: WindowSums;
  readonly w7d: WindowSums;
  /** Tokens charged, all requests, for rescaling. */
  readonly total: Float64Array;
}

interface Segment {
  resetSecs: number;
  baseUtilization: number;
  lastUtilization: number;
  /** The reading the current step started from. */
  stepUtilization: number;
  stepStartMs: number;
  lastLevelMs: number;
  readonly charged: Float64Array;
  readonly chargedAtLast: Float64Array;
}

/** Resets further apart than this belong to different windows (jitter is about a second). */
const SAME_WINDOW_SECS = 600;
/** Shortest step for the quality measure. */
const QUALITY_STEP_MS = 5 * 60_000;
/** Level readings closer together than this add little; skipping them keeps calibration cheap. */
const LEVEL_STEP_MS = 20_000;

function collectStatistics(rows: RowColumns, groupOf: (account: string) => string): Map<string, GroupSums> {
  // Requests released together from a hold share one ts; within a window utilization only grows,
  // so among equal timestamps it gives the order they were charged in.
  const order = new Uint32Array(rows.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const u5 = (i: number): number => {
    const u = rows.utilization5h[i] as number;
    return Number.isNaN(u) ? 0 : u;
  };
  order.sort(
    (a, b) => (rows.tsMs[a] as number) - (rows.tsMs[b] as number) || u5(a) - u5(b) || (rows.recordIndex[a] as number) - (rows.recordIndex[b] as number),
  );

  const groupsByAccount = rows.accountNames.map((name) => groupOf(name));
  const groups = new Map<string, GroupSums>();
  const segments = new Map<string, Segment>();
  const features = new Float64Array(FEATURE_COUNT);
  for (const i of order) {
    const accountId = rows.account[i] as number;
    if (accountId === -1) continue;
    const account = rows.accountNames[accountId] as string;
    const group = groupsByAccount[accountId] as string;
    let sums = groups.get(group);
    if (sums === undefined) {
      sums = { w5h: windowSums(), w7d: windowSums(), total: new Float64Array(FEATURE_COUNT) };
      groups.set(group, sums);
    }
    features.fill(0);
    const charged = rows.success[i] === 1 && rows.hasTokens[i] === 1;
    if (charged) {
      const base = (rows.family[i] as number) * TOKEN_KINDS.length;
      features[base] = rows.inputTokens[i] as number;
      features[base + 1] = rows.outputTokens[i] as number;
      features[base + 2] = rows.cacheReadTokens[i] as number;
      features[base + 3] = rows.cacheCreationTokens[i] as number;
      for (let k = 0; k < FEATURE_COUNT; k++) sums.total[k] = (sums.total[k] as number) + (features[k] as number);
    }
    const tsMs = rows.tsMs[i] as number;
    observe(segments, `${account}\u00005h`, sums.w5h, tsMs, optional(rows.utilization5h[i]), optional(rows.reset5hSecs[i]), charged ? features : null);
    observe(segments, `${account}\u00007d`, sums.w7d, tsMs, optional(rows.utilization7d[i]), optional(rows.reset7dSecs[i]), charged ? features : null);
  }
  return groups;
}

function optional(value: number | undefined): number | undefined {
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

function observe(
  segments: Map<string, Segment>,
  key: string,
  sums: WindowSums,
  tsMs: number,
  utilization: number | undefined,
  resetSecs: number | undefined,
  features: Float64Array | null,
): void {
  let segment = segments.get(key);
  if (utilization === undefined || resetSecs === undefined) {
    // Still charged to the open window, even though this row did not report it.
    if (segment !== undefined && features !== null) addInto(segment.charged, features);
    return;
  }
  const newWindow =
    segment === undefined ||
    Math.abs(resetSecs - segment.resetSecs) > SAME_WINDOW_SECS ||
    utilization < segment.lastUtilization - 0.02;
  if (newWindow) {
    // The row that opens a segment is its baseline: its own cost is already inside it.
    segments.set(key, {
      resetSecs,
      baseUtilization: utilization,
      lastUtilization: utilization,
      stepUtilization: utilization,
      stepStartMs: tsMs,
      lastLevelMs: tsMs,
      charged: new Float64Array(FEATURE_COUNT),
      chargedAtLast: new Float64Array(FEATURE_COUNT),
    });
    return;
  }
  const open = segment as Segment;
  if (features !== null) addInto(open.charged, features);
  open.lastUtilization = utilization;
  if (tsMs - open.lastLevelMs >= LEVEL_STEP_MS) {
    open.lastLevelMs = tsMs;
    accumulate(sums.level, open.charged, utilization - open.baseUtilization);
  }
  if (tsMs - open.stepStartMs < QUALITY_STEP_MS) return;
  const step = new Float64Array(FEATURE_COUNT);
  for (let k = 0; k < FEATURE_COUNT; k++) step[k] = (open.charged[k] as number) - (open.chargedAtLast[k] as number);
  accumulate(sums.delta, step, utilization - open.stepUtilization);
  open.stepUtilization = utilization;
  open.stepStartMs = tsMs;
  open.chargedAtLast.set(open.charged);
}

function accumulate(sums: Sums, x: Float64Array, y: number): void {
  const n = FEATURE_COUNT;
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    if (xi === 0) continue;
    sums.xy[i] = (sums.xy[i] as number) + xi * y;
    for (let j = 0; j < n; j++) sums.xx[i * n + j] = (sums.xx[i * n + j] as number) + xi * (x[j] as number);
  }
  sums.yy += y * y;
  sums.y += y;
  sums.n++;
}

/** capacity = (wᵀ A w) / (wᵀ b): least squares of y ≈ (w·X) / capacity. */
function fitCapacity(sums: Sums, w: readonly number[]): number {
  const quad = quadratic(sums.xx, w, w);
  const lin = dot(sums.xy, w);
  return lin > 0 ? quad / lin : Number.NaN;
}

/**
 * Ridge regression of credits = y · capacity on X, pooled over groups and both windows, pulled
 * towards `prior` (feature by feature, in proportion to how much data each feature has).
 */
function fitWeights(
  usable: ReadonlyArray<readonly [string, GroupSums]>,
  caps: ReadonlyMap<string, { c5: number; c7: number }>,
  current: readonly number[],
  prior: readonly number[],
): number[] {
  const n = FEATURE_COUNT;
  const a = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (const [group, s] of usable) {
    const cap = caps.get(group) as { c5: number; c7: number };
    for (const [sums, c] of [
      [s.w5h.level, cap.c5],
      [s.w7d.level, cap.c7],
    ] as const) {
      if (!Number.isFinite(c) || sums.n === 0) continue;
      // Minimise Σ (c·y − w·X)²: normal equations A w = c · Σ y X.
      for (let k = 0; k < n * n; k++) a[k] = (a[k] as number) + (sums.xx[k] as number);
      for (let k = 0; k < n; k++) b[k] = (b[k] as number) + c * (sums.xy[k] as number);
    }
  }
  let trace = 0;
  for (let k = 0; k < n; k++) trace += a[k * n + k] as number;
  if (trace <= 0) return [...current];
  for (let k = 0; k < n; k++) {
    const penalty = 0.05 * (a[k * n + k] as number) + 1e-9 * (trace / n);
    a[k * n + k] = (a[k * n + k] as number) + penalty;
    b[k] = (b[k] as number) + penalty * (prior[k] as number);
  }
  const solved = solve(a, b, n);
  if (solved === null) return [...current];
  // A negative price is never the truth; fall back to the prior for that feature.
  return solved.map((value, k) => (value > 0 ? value : (prior[k] as number)));
}

/** Scale w so the trace's total cost is what the default weights give it. */
function rescale(w: readonly number[], defaults: readonly number[], groups: ReadonlyMap<string, GroupSums>): number[] {
  const total = new Float64Array(FEATURE_COUNT);
  for (const s of groups.values()) addInto(total, s.total);
  const fitted = dot(total, w);
  const reference = dot(total, defaults);
  if (!(fitted > 0) || !(reference > 0)) return [...w];
  const scale = reference / fitted;
  return w.map((value) => value * scale);
}

function deltaFit(sums: Sums, w: readonly number[], capacity: number): { r2: number; sse: number; sst: number; n: number } {
  if (sums.n === 0 || !Number.isFinite(capacity)) return { r2: Number.NaN, sse: 0, sst: 0, n: 0 };
  const theta = w.map((value) => value / capacity);
  const sse = sums.yy - 2 * dot(sums.xy, theta) + quadratic(sums.xx, theta, theta);
  const sst = sums.yy - (sums.y * sums.y) / sums.n;
  return { r2: sst > 0 ? 1 - sse / sst : Number.NaN, sse, sst, n: sums.n };
}

/** Gaussian elimination with partial pivoting; null when singular. */
function solve(matrix: Float64Array, rhs: Float64Array, n: number): number[] | null {
  const a = Float64Array.from(matrix);
  const b = Float64Array.from(rhs);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) {
      if (Math.abs(a[row * n + col] as number) > Math.abs(a[pivot * n + col] as number)) pivot = row;
    }
    if (Math.abs(a[pivot * n + col] as number) < 1e-300) return null;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) {
        const t = a[col * n + k] as number;
        a[col * n + k] = a[pivot * n + k] as number;
        a[pivot * n + k] = t;
      }
      const t = b[col] as number;
      b[col] = b[pivot] as number;
      b[pivot] = t;
    }
    for (let row = col + 1; row < n; row++) {
      const factor = (a[row * n + col] as number) / (a[col * n + col] as number);
      if (factor === 0) continue;
      for (let k = col; k < n; k++) a[row * n + k] = (a[row * n + k] as number) - factor * (a[col * n + k] as number);
      b[row] = (b[row] as number) - factor * (b[col] as number);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = b[row] as number;
    for (let k = row + 1; k < n; k++) sum -= (a[row * n + k] as number) * (x[k] as number);
    x[row] = sum / (a[row * n + row] as number);
  }
  return x;
}

function windowSums(): WindowSums {
  return { level: emptySums(), delta: emptySums() };
}

function emptySums(): Sums {
  return { xx: new Float64Array(FEATURE_COUNT * FEATURE_COUNT), xy: new Float64Array(FEATURE_COUNT), yy: 0, y: 0, n: 0 };
}

function addInto(into: Float64Array, from: Float64Array): void {
  for (let k = 0; k < into.length; k++) into[k] = (into[k] as number) + (from[k] as number);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += (a[k] as number) * (b[k] as number);
  return sum;
}

function quadratic(matrix: Float64Array, u: readonly number[], v: readonly number[]): number {
  const n = u.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const ui = u[i] as number;
    if (ui === 0) continue;
    for (let j = 0; j < n; j++) sum += ui * (matrix[i * n + j] as number) * (v[j] as number);
  }
  return sum;
}
