/**
 * @module
 * Calibration: fit what each token costs and what each account (or plan) holds from a trace that
 * carries both token counts and utilization headers.
 *
 * Model: within one window of one account, utilization rises by cost / capacity with
 * cost = Σ weight(family, kind) · tokens(family, kind). Utilization is reported rounded, so the fit
 * uses levels, not single steps: for every reading, y = utilization − utilization at the window's
 * first reading, and X = the tokens charged to the account since then. With s_g = 1 / capacity of
 * group g, y = s_g · (w · X): an ordinary least-squares problem in w for fixed s and in each s_g
 * for fixed w, solved by alternating the two exact solutions until they stop moving (no pull
 * towards list prices, so the data decide every weight they carry information about):
 *
 * 1. s_g = (wᵀ b_g) / (wᵀ A_g w), with A_g = Σ X Xᵀ and b_g = Σ y X (the only sums kept);
 * 2. w solves (Σ s_g² A_g) w = Σ s_g b_g. A feature the trace never charged keeps its list
 *    price; a direction the data cannot tell apart (two kinds always in proportion) is held near
 *    list prices by a vanishing ridge, and a weight negative in the converged fit is fixed to its
 *    list price and the rest refitted (never mid-way: a poorly informed weight may pass through
 *    negative values while the capacities are still far off).
 *
 * Only cost / capacity is observable, so at the end the weights are scaled to give the trace's
 * tokens their list-price total (credits stay comparable to API dollars) and the capacities
 * follow. With fewer readings than three per fitted weight, the weights stay at list price and
 * only the capacities are fitted. Uncertainty is the usual least-squares standard error,
 * σ² (XᵀX)⁻¹, reported relative to each value.
 *
 * The quality reported is R² over utilization changes between readings at least 5 minutes apart,
 * an honest measure: levels trend upwards and would flatter any fit, while single row-to-row steps
 * are dominated by the order in which concurrent requests were charged, which no cost model sees.
 */
import { DEFAULT_TOKEN_WEIGHTS, FEATURE_COUNT, MODEL_FAMILIES, TOKEN_KINDS, type ModelFamily, vectorToWeights, weightsToVector, type TokenWeights } from './costs.js';
import { createAttemptClock } from './attempt-time.js';
import type { Capacity } from './plans.js';
import type { RowColumns } from './row-columns.js';

/** The fit for one group (an account, or a plan when plans are known). */
export interface GroupCalibration {
  /** Fitted capacity, credits per window. */
  readonly capacity: Capacity;
  /** Standard error of each capacity, relative to it (0.01 = 1 %); NaN when not fitted. */
  readonly capacityError: { readonly window5h: number; readonly window7d: number };
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
  /** Standard error of each weight relative to it; NaN for a weight the trace does not inform. */
  readonly weightErrors: TokenWeights;
  /** False when the data were too few to fit weights: they are list prices, only capacities were fitted. */
  readonly weightsFitted: boolean;
  /**
   * Relative uncertainty of what the trace's tokens cost: each weight's error weighted by the
   * credits it prices (a weight the trace barely uses hardly matters). NaN when weights were not fitted.
   */
  readonly costError: number;
  /**
   * Relative standard error of what each family's share of the trace's tokens costs (the same
   * credit weighting as `costError`, per family); NaN for a family the trace does not price or
   * when weights were not fitted. A family whose error is a large part of a decision (say above
   * 5 %) is not identified by this trace: its calls are too few or too small to weigh.
   */
  readonly familyCostErrors: Readonly<Record<ModelFamily, number>>;
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
  /** Most alternating rounds (it stops earlier once converged). @default 200 */
  readonly rounds?: number | undefined;
}

/**
 * Fit weights and capacities from trace rows (any order; they are sorted by `ts` here). Returns
 * null when no group has {@link MIN_CALIBRATION_SAMPLES} usable rows.
 */
export function calibrate(rows: RowColumns, options: CalibrateOptions): Calibration | null {
  const stats = collectStatistics(rows, options.groupOf);
  const usable = [...stats.entries()].filter(([, s]) => s.w5h.level.n >= MIN_CALIBRATION_SAMPLES);
  if (usable.length === 0) return null;

  const prior = weightsToVector(DEFAULT_TOKEN_WEIGHTS);
  const n = FEATURE_COUNT;
  const total = new Float64Array(n);
  for (const s of stats.values()) addInto(total, s.total);
  const informed = new Array<boolean>(n).fill(false);
  let samples5h = 0;
  for (const [, s] of usable) {
    samples5h += s.w5h.level.n;
    for (let k = 0; k < n; k++) if ((s.w5h.level.xx[k * n + k] as number) > 0) informed[k] = true;
  }
  const informedCount = informed.filter(Boolean).length;
  const weightsFitted = samples5h >= 3 * (informedCount + usable.length);

  let w = [...prior];
  const inverse = new Map<string, number>();
  const fitInverses = (): void => {
    for (const [group, s] of usable) inverse.set(group, fitInverseCapacity(s.w5h.level, w));
  };
  fitInverses();
  let covariance: Float64Array | null = null;
  // Features held at list price (no data, or a fit that came out negative): no error to report.
  const pinned: boolean[] = informed.map((v) => !v);
  if (weightsFitted) {
    const rounds = options.rounds ?? 2_000;
    // Each round is an exact least-squares step, so the fit only improves, even where it passes
    // through negative weights on its way (a poorly informed weight, such as input tokens, swings
    // widely while the capacities are still far off). Only the converged fit is judged: a weight
    // negative there is fixed at list price and the rest fitted again.
    for (let pass = 0; pass < n; pass++) {
      for (let round = 0; round < rounds; round++) {
        const next = fitWeights(usable, inverse, w, prior, pinned);
        if (next === null) break;
        const moved = maxRelativeChange(w, next);
        w = next;
        fitInverses();
        if (moved < 1e-10) break;
      }
      const negative = w.findIndex((value, k) => !pinned[k] && !(value > 0));
      if (negative === -1) break;
      pinned[negative] = true;
    }
    covariance = normalMatrixInverse(usable, inverse, pinned);
  }

  // Errors within one window are correlated (every reading shares the baseline's rounding, and a
  // misordered charge offsets every later reading), so the textbook σ² (XᵀX)⁻¹ understates them:
  // the sandwich estimator clustered by window, M⁻¹ (Σ_c u_c u_cᵀ) M⁻¹, counts each window once.
  const clustered = covariance === null ? null : clusteredCovariance(usable, inverse, w, covariance);
  // Scale: the trace's tokens cost what they cost at list prices.
  const fitted = dot(total, w);
  const reference = dot(total, prior);
  const scale = fitted > 0 && reference > 0 ? reference / fitted : 1;
  w = w.map((value) => value * scale);

  // σ² from the level residuals of every usable group.
  let sse = 0;
  for (const [group, s] of usable) sse += residual(s.w5h.level, w, (inverse.get(group) as number) / scale);
  const dof = samples5h - (weightsFitted ? informedCount : 0) - usable.length;
  const sigma2 = dof > 0 ? Math.max(0, sse) / dof : Number.NaN;
  const weightErrors = w.map((value, k) => {
    if (covariance === null || !informed[k] || pinned[k] === true || !(value > 0)) return Number.NaN;
    // The covariance was of the unscaled weights, at unit capacity scale. The larger of the two
    // estimates: with few windows the clustered one is itself noisy.
    const classical = sigma2 * (covariance[k * n + k] as number);
    const variance = Math.max(classical, clustered === null ? 0 : (clustered[k * n + k] as number));
    return (Math.sqrt(variance) * scale) / value;
  });

  // Only weights with a stated error weigh in; none at all (every priced weight held at list
  // price) is no statement, not a zero error.
  let pricedError = 0;
  let priced = 0;
  let measured = false;
  for (let k = 0; k < n; k++) {
    const credits = (w[k] as number) * (total[k] as number);
    priced += credits;
    const error = weightErrors[k] as number;
    if (Number.isFinite(error) && credits > 0) {
      pricedError += credits * error;
      measured = true;
    }
  }
  const costError = weightsFitted && priced > 0 && measured ? pricedError / priced : Number.NaN;
  const familyCostErrors = Object.fromEntries(
    MODEL_FAMILIES.map((family, f) => {
      let sum = 0;
      let weighted = 0;
      let familyMeasured = false;
      for (let kind = 0; kind < TOKEN_KINDS.length; kind++) {
        const k = f * TOKEN_KINDS.length + kind;
        const credits = (w[k] as number) * (total[k] as number);
        if (!(credits > 0)) continue;
        sum += credits;
        const error = weightErrors[k] as number;
        if (Number.isFinite(error)) {
          weighted += credits * error;
          familyMeasured = true;
        }
      }
      return [family, weightsFitted && sum > 0 && familyMeasured ? weighted / sum : Number.NaN];
    }),
  ) as Record<ModelFamily, number>;

  const groups = new Map<string, GroupCalibration>();
  let qualitySse = 0;
  let qualitySst = 0;
  let samples = 0;
  for (const [group, s] of usable) {
    const c5 = scale / (inverse.get(group) as number);
    const s7 = s.w7d.level.n >= MIN_CALIBRATION_SAMPLES ? fitInverseCapacity(s.w7d.level, w) : Number.NaN;
    const c7 = s7 > 0 ? 1 / s7 : Number.NaN;
    const fit5 = deltaFit(s.w5h.delta, w, c5);
    const fit7 = Number.isFinite(c7) ? deltaFit(s.w7d.delta, w, c7) : { r2: Number.NaN, sse: 0, sst: 0, n: 0 };
    qualitySse += fit5.sse;
    qualitySst += fit5.sst;
    samples += s.w5h.level.n + s.w7d.level.n;
    groups.set(group, {
      capacity: { window5hCredits: c5, window7dCredits: c7 },
      capacityError: { window5h: capacityError(s.w5h.level, w, c5, sigma2), window7d: Number.isFinite(c7) ? capacityError(s.w7d.level, w, c7, residualVariance(s.w7d.level, w, c7)) : Number.NaN },
      samples5h: s.w5h.level.n,
      samples7d: s.w7d.level.n,
      r2_5h: fit5.r2,
      r2_7d: fit7.r2,
      rmse5h: fit5.n > 0 ? Math.sqrt(Math.max(0, fit5.sse) / fit5.n) : Number.NaN,
    });
  }
  return {
    weights: vectorToWeights(w),
    weightErrors: vectorToWeights(weightErrors),
    weightsFitted,
    costError,
    familyCostErrors,
    groups,
    r2: qualitySst > 0 ? 1 - qualitySse / qualitySst : Number.NaN,
    samples,
  };
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
  /** The level sums of each window (segment) on their own: errors within a window are correlated. */
  readonly segments: Sums[];
}

interface GroupSums {
  readonly w5h: WindowSums;
  readonly w7d: WindowSums;
  /** Tokens charged, all requests, for rescaling. */
  readonly total: Float64Array;
}

interface Segment {
  resetSecs: number;
  /** When the baseline reading was taken. */
  readonly baseTsMs: number;
  baseUtilization: number;
  lastUtilization: number;
  /** The reading the current step started from. */
  stepUtilization: number;
  stepStartMs: number;
  readonly charged: Float64Array;
  readonly chargedAtLast: Float64Array;
  /** This window's own level sums. */
  readonly level: Sums;
}

/** Resets further apart than this belong to different windows (jitter is about a second). */
const SAME_WINDOW_SECS = 600;
/** Shortest step for the quality measure. */
const QUALITY_STEP_MS = 5 * 60_000;

function collectStatistics(rows: RowColumns, groupOf: (account: string) => string): Map<string, GroupSums> {
  // Requests released together from a hold share one ts; within a window utilization only grows,
  // so among equal timestamps it gives the order they were charged in.
  const order = new Uint32Array(rows.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const u5 = (i: number): number => {
    const u = rows.utilization5h[i] as number;
    return Number.isNaN(u) ? 0 : u;
  };
  // A recorder writes the request's arrival as ts; a request held until a reset was charged in the
  // window its reading reports (see attempt-time.ts). Rows are handed to the clock in ts order.
  const byArrival = Uint32Array.from(order).sort((a, b) => (rows.tsMs[a] as number) - (rows.tsMs[b] as number) || a - b);
  const clock = createAttemptClock();
  const chargedAt = new Float64Array(rows.length);
  for (const i of byArrival) {
    const accountId = rows.account[i] as number;
    chargedAt[i] =
      accountId === -1
        ? (rows.tsMs[i] as number)
        : clock.at(rows.accountNames[accountId] as string, rows.tsMs[i] as number, optional(rows.reset5hSecs[i]), optional(rows.reset7dSecs[i]));
  }
  order.sort(
    // Equal readings: requests released together are charged in arrival order (the hold queue's).
    (a, b) =>
      (chargedAt[a] as number) - (chargedAt[b] as number) ||
      u5(a) - u5(b) ||
      (rows.tsMs[a] as number) - (rows.tsMs[b] as number) ||
      (rows.recordIndex[a] as number) - (rows.recordIndex[b] as number),
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
      const write1h = rows.cacheCreation1hTokens[i] as number;
      features[base + 3] = (rows.cacheCreationTokens[i] as number) - write1h;
      features[base + 4] = write1h;
      for (let k = 0; k < FEATURE_COUNT; k++) sums.total[k] = (sums.total[k] as number) + (features[k] as number);
    }
    const tsMs = chargedAt[i] as number;
    observe(segments, `${account}\u00005h`, sums.w5h, tsMs, optional(rows.utilization5h[i]), optional(rows.reset5hSecs[i]), charged ? features : null);
    observe(segments, `${account}\u00007d`, sums.w7d, tsMs, optional(rows.utilization7d[i]), optional(rows.reset7dSecs[i]), charged ? features : null);
  }
  // The whole level fit is the sum of its windows' fits.
  for (const sums of groups.values()) {
    for (const window of [sums.w5h, sums.w7d]) for (const segment of window.segments) addSums(window.level, segment);
  }
  return groups;
}

function addSums(into: Sums, from: Sums): void {
  addInto(into.xx, from.xx);
  addInto(into.xy, from.xy);
  into.yy += from.yy;
  into.y += from.y;
  into.n += from.n;
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
    const level = emptySums();
    sums.segments.push(level);
    segments.set(key, {
      level,
      resetSecs,
      baseTsMs: tsMs,
      baseUtilization: utilization,
      lastUtilization: utilization,
      stepUtilization: utilization,
      stepStartMs: tsMs,
      charged: new Float64Array(FEATURE_COUNT),
      chargedAtLast: new Float64Array(FEATURE_COUNT),
    });
    return;
  }
  const open = segment as Segment;
  // Charged in the same instant as the baseline and reading the same: either it came first and
  // its cost is inside the baseline (the tie hides the order), or its cost is below one rounding
  // step. Adding it would offset every later reading of the window by a whole request.
  if (tsMs === open.baseTsMs && utilization === open.baseUtilization) return;
  if (features !== null) addInto(open.charged, features);
  open.lastUtilization = utilization;
  // Every reading counts: a one-hour recording has few, and the sums cost the same either way.
  accumulate(open.level, open.charged, utilization - open.baseUtilization);
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

/** 1 / capacity = (wᵀ b) / (wᵀ A w): least squares of y ≈ (w·X) / capacity. */
function fitInverseCapacity(sums: Sums, w: readonly number[]): number {
  const quad = quadratic(sums.xx, w, w);
  const lin = dot(sums.xy, w);
  return quad > 0 && lin > 0 ? lin / quad : Number.NaN;
}

/** Σ (y − w·X / capacity)² over a window's level sums, for 1 / capacity = `inverse`. */
function residual(sums: Sums, w: readonly number[], inverse: number): number {
  if (!Number.isFinite(inverse)) return 0;
  return sums.yy - 2 * inverse * dot(sums.xy, w) + inverse * inverse * quadratic(sums.xx, w, w);
}

/** σ² of a window's own fit (for the weekly window, fitted with the weights fixed). */
function residualVariance(sums: Sums, w: readonly number[], capacity: number): number {
  return sums.n > 1 ? Math.max(0, residual(sums, w, 1 / capacity)) / (sums.n - 1) : Number.NaN;
}

/**
 * The weights' covariance clustered by window (unscaled weights, for fixed inverse capacities):
 * with u_c = s_g (b_c − s_g A_c w) the score of window c, M⁻¹ (Σ u_c u_cᵀ) M⁻¹ · C / (C − 1).
 */
function clusteredCovariance(
  usable: ReadonlyArray<readonly [string, GroupSums]>,
  inverse: ReadonlyMap<string, number>,
  w: readonly number[],
  bread: Float64Array,
): Float64Array | null {
  const n = FEATURE_COUNT;
  const meat = new Float64Array(n * n);
  const u = new Float64Array(n);
  let clusters = 0;
  for (const [group, s] of usable) {
    const sg = inverse.get(group) as number;
    if (!Number.isFinite(sg)) continue;
    for (const segment of s.w5h.segments) {
      if (segment.n === 0) continue;
      clusters++;
      for (let i = 0; i < n; i++) {
        let aw = 0;
        for (let j = 0; j < n; j++) aw += (segment.xx[i * n + j] as number) * (w[j] as number);
        u[i] = sg * ((segment.xy[i] as number) - sg * aw);
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) meat[i * n + j] = (meat[i * n + j] as number) + (u[i] as number) * (u[j] as number);
    }
  }
  if (clusters < 2) return null;
  const out = new Float64Array(n * n);
  const left = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += (bread[i * n + k] as number) * (meat[k * n + j] as number);
      left[i * n + j] = sum;
    }
  }
  const correction = clusters / (clusters - 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += (left[i * n + k] as number) * (bread[k * n + j] as number);
      out[i * n + j] = sum * correction;
    }
  }
  return out;
}

/** Relative standard error of a capacity: var(1/C) = σ² / (wᵀ A w), and δC / C = δs / s. */
function capacityError(sums: Sums, w: readonly number[], capacity: number, sigma2: number): number {
  const quad = quadratic(sums.xx, w, w);
  if (!(quad > 0) || !Number.isFinite(sigma2)) return Number.NaN;
  return Math.sqrt(sigma2 / quad) * capacity;
}

/** Σ_g s_g² A_g over the usable groups' 5-hour level sums, and Σ_g s_g b_g. */
function normalEquations(usable: ReadonlyArray<readonly [string, GroupSums]>, inverse: ReadonlyMap<string, number>): { a: Float64Array; b: Float64Array } {
  const n = FEATURE_COUNT;
  const a = new Float64Array(n * n);
  const b = new Float64Array(n);
  for (const [group, s] of usable) {
    const sg = inverse.get(group) as number;
    if (!Number.isFinite(sg)) continue;
    const sums = s.w5h.level;
    for (let k = 0; k < n * n; k++) a[k] = (a[k] as number) + sg * sg * (sums.xx[k] as number);
    for (let k = 0; k < n; k++) b[k] = (b[k] as number) + sg * (sums.xy[k] as number);
  }
  return { a, b };
}

/**
 * Weights for fixed inverse capacities: (Σ s² A) w = Σ s b, plain least squares. Pinned features
 * (no data, or negative in a converged fit) keep the prior, scaled to the current weights; a
 * vanishing ridge towards it holds directions the data cannot separate. Null when the system is
 * empty or singular.
 */
function fitWeights(
  usable: ReadonlyArray<readonly [string, GroupSums]>,
  inverse: ReadonlyMap<string, number>,
  current: readonly number[],
  prior: readonly number[],
  pinned: readonly boolean[],
): number[] | null {
  const n = FEATURE_COUNT;
  const { a, b } = normalEquations(usable, inverse);
  const system = pinnedSystem(a, b, current, prior, pinned);
  return system === null ? null : solve(system.m, system.r, n);
}

/** (Σ s² A)⁻¹ of the final fit, for the standard errors (pinned rows and columns are unit). */
function normalMatrixInverse(
  usable: ReadonlyArray<readonly [string, GroupSums]>,
  inverse: ReadonlyMap<string, number>,
  pinned: readonly boolean[],
): Float64Array | null {
  const { a, b } = normalEquations(usable, inverse);
  const system = pinnedSystem(a, b, pinned.map(() => 1), pinned.map(() => 1), pinned);
  return system === null ? null : invert(system.m, FEATURE_COUNT);
}

/** The normal equations with pinned features moved to the right-hand side and the ridge added. */
function pinnedSystem(
  a: Float64Array,
  b: Float64Array,
  current: readonly number[],
  prior: readonly number[],
  pinned: readonly boolean[],
): { m: Float64Array; r: Float64Array } | null {
  const n = FEATURE_COUNT;
  let trace = 0;
  for (let k = 0; k < n; k++) trace += a[k * n + k] as number;
  if (!(trace > 0)) return null;
  // The prior in the current weights' scale, so holding a feature there does not bias the others.
  const priorScale = scaleBetween(current, prior, pinned.map((v) => !v));
  const m = Float64Array.from(a);
  const r = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    const target = (prior[k] as number) * priorScale;
    if (pinned[k]) {
      // Pin: zero the row and column, move the known part to the right-hand side.
      for (let j = 0; j < n; j++) {
        if (j !== k) r[j] = (r[j] as number) - (m[j * n + k] as number) * target;
        m[k * n + j] = 0;
        m[j * n + k] = 0;
      }
      m[k * n + k] = 1;
      r[k] = target;
      continue;
    }
    const ridge = 1e-9 * (trace / n);
    m[k * n + k] = (m[k * n + k] as number) + ridge;
    r[k] = (r[k] as number) + ridge * target;
  }
  return { m, r };
}

/** The factor that best maps `prior` onto `w` over the informed features. */
function scaleBetween(w: readonly number[], prior: readonly number[], informed: readonly boolean[]): number {
  let num = 0;
  let den = 0;
  for (let k = 0; k < w.length; k++) {
    if (!informed[k]) continue;
    num += (w[k] as number) * (prior[k] as number);
    den += (prior[k] as number) * (prior[k] as number);
  }
  return den > 0 && num > 0 ? num / den : 1;
}

function maxRelativeChange(a: readonly number[], b: readonly number[]): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const scale = Math.max(Math.abs(a[k] as number), Math.abs(b[k] as number), 1e-300);
    worst = Math.max(worst, Math.abs((a[k] as number) - (b[k] as number)) / scale);
  }
  return worst;
}

/** The inverse of a symmetric matrix (by solving for each unit vector); null when singular. */
function invert(matrix: Float64Array, n: number): Float64Array | null {
  const out = new Float64Array(n * n);
  for (let col = 0; col < n; col++) {
    const unit = new Float64Array(n);
    unit[col] = 1;
    const x = solve(matrix, unit, n);
    if (x === null) return null;
    for (let row = 0; row < n; row++) out[row * n + col] = x[row] as number;
  }
  return out;
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
  return { level: emptySums(), delta: emptySums(), segments: [] };
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
