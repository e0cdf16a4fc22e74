/**
 * @module
 * Anthropic's unified rate-limit headers (`anthropic-ratelimit-unified-*`), parsed into a
 * {@link RateLimitInfo}, and the window arithmetic every strategy shares.
 */

/** Length of the rolling 5-hour window, in seconds. */
export const WINDOW_5H_SECS = 18_000; // 5 × 60 × 60
/** Length of the weekly window, in seconds. */
export const WINDOW_7D_SECS = 604_800; // 7 × 24 × 60 × 60

/**
 * How far past a window's length a reset may lie, measured from the response that reported it,
 * before it is treated as bogus and capped (the default of `FailoverPolicy.windowCapMarginMs`;
 * stores use it to bound exhaustion). Covers clock skew between us and Anthropic.
 *
 * Internal: not exported from the package's barrel.
 */
export const DEFAULT_WINDOW_CAP_MARGIN_MS = 600_000;

/**
 * The longest cooldown any response can justify: the weekly window plus the margin. A store never
 * holds a cooldown longer than this (see `memoryStore`).
 *
 * Internal: not exported from the package's barrel.
 */
export const MAX_COOLDOWN_MS: number = WINDOW_7D_SECS * 1000 + DEFAULT_WINDOW_CAP_MARGIN_MS;

/**
 * A window's status as Anthropic reports it. Real values are `allowed`, `allowed_warning` and
 * `rejected`; `exhausted` is what the Rust shunt synthesised for other providers. Unknown strings
 * are kept as-is so a new value never breaks parsing.
 */
export type WindowStatus = 'allowed' | 'allowed_warning' | 'rejected' | 'exhausted' | (string & {});

/**
 * What one upstream response said about an account's quota. Every field but `updatedMs` is
 * optional: a response may carry only some headers, and {@link mergeRateLimitInfo} keeps the rest.
 */
export interface RateLimitInfo {
  /** Fraction of the 5-hour window used (0..1, may exceed 1). */
  utilization5h?: number;
  /** When the 5-hour window resets, in epoch seconds. */
  reset5hSecs?: number;
  /** The 5-hour window's status. */
  status5h?: WindowStatus;
  /** Fraction of the weekly window used (0..1, may exceed 1). */
  utilization7d?: number;
  /** When the weekly window resets, in epoch seconds. */
  reset7dSecs?: number;
  /** The weekly window's status. */
  status7d?: WindowStatus;
  /** `anthropic-ratelimit-unified-overage-status`. */
  overageStatus?: string;
  /** `anthropic-ratelimit-unified-overage-disabled-reason`. */
  overageDisabledReason?: string;
  /** Which window Anthropic considers binding (`five_hour`, `seven_day`, …). */
  representativeClaim?: string;
  /** When the response carrying these headers was received, in epoch milliseconds. */
  updatedMs: number;
}

/**
 * Anything headers come in: a fetch `Headers`, Node's `IncomingHttpHeaders`, or a plain record.
 * Record keys are matched case-insensitively.
 */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/**
 * Read the `anthropic-ratelimit-unified-*` headers of one response.
 *
 * Returns null when the response carries none of them. A header whose value does not parse is
 * left out rather than failing the whole record, and unknown windows (such as `7d_oi`) are
 * ignored, so a new header from Anthropic never breaks routing. Never throws.
 *
 * @example
 * ```ts
 * const info = parseRateLimitHeaders(response.headers, store.now());
 * if (info) store.updateRateLimits(account.name, info);
 * ```
 */
export function parseRateLimitHeaders(headers: HeaderSource, nowMs: number): RateLimitInfo | null {
  const info: Mutable<RateLimitInfo> = { updatedMs: nowMs };
  let found = false;
  // Hot path (every upstream response, and millions of them in a simulation): constant header
  // names, and a `get`-style source read directly, without a closure per call.
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const h = headers as { get(name: string): string | null };
    for (let i = 0; i < FIELD_COUNT; i++) {
      const raw = h.get(FIELD_NAMES[i] as string) ?? undefined;
      if (raw === undefined) continue;
      const value = (FIELD_PARSERS[i] as FieldParser)(raw);
      if (value === undefined) continue;
      setField(info, FIELD_KEYS[i] as HeaderField, value);
      found = true;
    }
  } else {
    const record = headers as HeaderRecord;
    const lookup: RecordLookup = { record, lowered: undefined };
    for (let i = 0; i < FIELD_COUNT; i++) {
      const raw = readRecord(lookup, FIELD_NAMES[i] as string);
      if (raw === undefined) continue;
      const value = (FIELD_PARSERS[i] as FieldParser)(raw);
      if (value === undefined) continue;
      setField(info, FIELD_KEYS[i] as HeaderField, value);
      found = true;
    }
  }
  return found ? info : null;
}

/**
 * Merge a newer record into an older one field by field: a response that carries only some
 * headers does not erase what earlier responses said about the rest. A window of `previous` whose
 * reset had already passed when `next` was received has rolled over, so its utilization, reset
 * and status are dropped rather than carried into the new window.
 */
export function mergeRateLimitInfo(previous: RateLimitInfo | null | undefined, next: RateLimitInfo): RateLimitInfo {
  if (previous === null || previous === undefined) return { ...next };
  const merged: Mutable<RateLimitInfo> = { ...previous };
  // Without this, a later response carrying only a new reset would revive the old window's
  // `rejected` status (blocking the account for a whole window), and one carrying only a new
  // utilization would sit behind the old, past reset and read as 0.
  // An unknown reset (NaN here) never compares as passed.
  if (Number(previous.reset5hSecs) * 1000 <= next.updatedMs) {
    delete merged.utilization5h;
    delete merged.reset5hSecs;
    delete merged.status5h;
  }
  if (Number(previous.reset7dSecs) * 1000 <= next.updatedMs) {
    delete merged.utilization7d;
    delete merged.reset7dSecs;
    delete merged.status7d;
  }
  for (const key of Object.keys(next) as Array<keyof RateLimitInfo>) {
    const value = next[key];
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/**
 * True when the account's `window` is rejected (or exhausted) and its reset is still ahead of
 * `nowMs`: routing there would only earn a 429. The reset counts at most the window's length
 * (plus a margin) after the record's `updatedMs` (see {@link cappedResetSecs}), so a bogus reset
 * years ahead cannot keep an account out for years.
 */
export function isWindowExhausted(info: RateLimitInfo, window: '5h' | '7d', nowMs: number): boolean {
  const status = window === '5h' ? info.status5h : info.status7d;
  if (status !== 'rejected' && status !== 'exhausted') return false;
  // An unknown reset (NaN here) is never ahead.
  return Number(cappedResetSecs(info, window)) * 1000 > nowMs;
}

/**
 * True when some window is rejected (see {@link isWindowExhausted}) while
 * `anthropic-ratelimit-unified-overage-status` is `allowed` or `allowed_warning`: Anthropic keeps
 * serving the account past its quota, billed as overage. Such an account is not exhausted, but it
 * is the last resort (`pickAccount` routes to it only when every eligible account is full).
 *
 * Internal: not exported from the package's barrel.
 */
export function isOnOverage(info: RateLimitInfo, nowMs: number): boolean {
  const overage = info.overageStatus;
  if (overage !== 'allowed' && overage !== 'allowed_warning') return false;
  return isWindowExhausted(info, '5h', nowMs) || isWindowExhausted(info, '7d', nowMs);
}

/**
 * The window's reset in epoch seconds, capped at `updatedMs` plus the window's length plus
 * `marginMs`: a window cannot reset later than one full window after the response that reported
 * it, so anything later is a bogus header. Undefined when the record has no reset for the window.
 *
 * Internal: not exported from the package's barrel.
 */
export function cappedResetSecs(
  info: RateLimitInfo,
  window: '5h' | '7d',
  marginMs: number = DEFAULT_WINDOW_CAP_MARGIN_MS,
): number | undefined {
  const reset = window === '5h' ? info.reset5hSecs : info.reset7dSecs;
  if (reset === undefined) return undefined;
  return Math.min(reset, Math.floor((info.updatedMs + marginMs) / 1000) + (window === '5h' ? WINDOW_5H_SECS : WINDOW_7D_SECS));
}

/**
 * True when the record's reset for `window` lies beyond its cap (see {@link cappedResetSecs}).
 *
 * Internal: not exported from the package's barrel.
 */
export function isResetBogus(info: RateLimitInfo, window: '5h' | '7d'): boolean {
  // An unknown reset is undefined on both sides, so it is never bogus.
  return cappedResetSecs(info, window) !== (window === '5h' ? info.reset5hSecs : info.reset7dSecs);
}

/** True when the headers carry any rate-limit header at all (`anthropic-ratelimit-*` or `x-ratelimit-*`). */
export function hasRateLimitHeaders(headers: HeaderSource): boolean {
  for (const name of headerNames(headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('anthropic-ratelimit-') || lower.startsWith('x-ratelimit-')) return true;
  }
  return false;
}

/**
 * Read one header, case-insensitively, from any {@link HeaderSource}. Repeated headers are joined
 * with ", " as fetch does. Returns undefined when absent.
 */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  const lowerName = name.toLowerCase();
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(lowerName) ?? undefined;
  }
  return readRecord({ record: headers as HeaderRecord, lowered: undefined }, lowerName);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The largest reset whose value in milliseconds is still a safe integer. */
const MAX_EPOCH_SECS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Significant digits that always fit below 2^53, so the mantissa is built exactly. */
const MAX_SHORT_DIGITS = 15;
/** The largest power of ten a double holds exactly (5^22 < 2^53). */
const MAX_EXACT_POWER_OF_10 = 22;
/** 10^k for k = 0..22, written out: each literal is exact, and no `**` or Math.pow rounding is involved. */
const POWERS_OF_10: readonly number[] = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];

type FieldParser = (raw: string) => number | string | undefined;

/**
 * The `anthropic-ratelimit-unified-*` fields, with full header names written out: building
 * `prefix + suffix` on every call (and comparing the resulting rope) cost more than the lookup.
 */
/** The fields a header sets: all but `updatedMs`, which is the response's arrival. */
type HeaderField = Exclude<keyof RateLimitInfo, 'updatedMs'>;

const FIELDS: ReadonlyArray<readonly [string, HeaderField, FieldParser]> = [
  // A utilization is any plain decimal: the number parser accepts no sign, so none is negative.
  ['anthropic-ratelimit-unified-5h-utilization', 'utilization5h', parseStrictNumber],
  ['anthropic-ratelimit-unified-5h-reset', 'reset5hSecs', parseEpochSeconds],
  ['anthropic-ratelimit-unified-5h-status', 'status5h', parseToken],
  ['anthropic-ratelimit-unified-7d-utilization', 'utilization7d', parseStrictNumber],
  ['anthropic-ratelimit-unified-7d-reset', 'reset7dSecs', parseEpochSeconds],
  ['anthropic-ratelimit-unified-7d-status', 'status7d', parseToken],
  ['anthropic-ratelimit-unified-overage-status', 'overageStatus', parseToken],
  ['anthropic-ratelimit-unified-overage-disabled-reason', 'overageDisabledReason', parseToken],
  ['anthropic-ratelimit-unified-representative-claim', 'representativeClaim', parseToken],
];
const FIELD_COUNT = FIELDS.length;
const FIELD_NAMES: readonly string[] = FIELDS.map(([name]) => name);
const FIELD_KEYS: readonly HeaderField[] = FIELDS.map(([, key]) => key);
const FIELD_PARSERS: readonly FieldParser[] = FIELDS.map(([, , parse]) => parse);

/**
 * `info[key] = value`, written as one named store per field: a store through a computed key is a
 * megamorphic keyed store, which cost more than parsing the value.
 */
function setField(info: Mutable<RateLimitInfo>, key: HeaderField, value: number | string): void {
  switch (key) {
    case 'utilization5h':
      info.utilization5h = value as number;
      return;
    case 'reset5hSecs':
      info.reset5hSecs = value as number;
      return;
    case 'status5h':
      info.status5h = value as string;
      return;
    case 'utilization7d':
      info.utilization7d = value as number;
      return;
    case 'reset7dSecs':
      info.reset7dSecs = value as number;
      return;
    case 'status7d':
      info.status7d = value as string;
      return;
    case 'overageStatus':
      info.overageStatus = value as string;
      return;
    case 'overageDisabledReason':
      info.overageDisabledReason = value as string;
      return;
    case 'representativeClaim':
      info.representativeClaim = value as string;
      return;
  }
}

function parseEpochSeconds(raw: string): number | undefined {
  const value = parseStrictNumber(raw);
  // Bounded so that `reset * 1000` stays an exact, finite number of milliseconds: "9e307" would
  // otherwise turn into an Infinity cooldown. Never negative: the number parser accepts no sign.
  return Number.isInteger(value) && (value as number) <= MAX_EPOCH_SECS ? value : undefined;
}

function parseToken(raw: string): string | undefined {
  const value = raw.trim();
  return value === '' ? undefined : value;
}

/** A plain decimal number (`0.5`, `+3`, `1e3`, `.5`), never negative, never `Infinity`; else undefined. */
function parseStrictNumber(raw: string): number | undefined {
  const text = raw.trim();
  // What headers carry, without the general parse: several headers of every response are numbers.
  return parseShortDecimal(text) ?? parseDecimal(text);
}

function parseDecimal(text: string): number | undefined {
  // Number('') is 0 and Number('0x1') is 1: accept only plain decimal notation.
  if (!isPlainDecimal(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Exactly `Number(text)` when `text` is digits with an optional `+` and an optional decimal point
 * (`1767600642`, `0.4712`, `.5`, `5.`), with at most 15 significant digits and 22 after the point;
 * undefined for anything else (exponents included), which the general parse handles.
 *
 * Exact by Clinger's fast path: the digits make an integer m < 10^15 < 2^53 and 10^k (k <= 22) is
 * an exact double, so m / 10^k is a single correctly rounded division, the double nearest the
 * decimal, which is what `Number` returns.
 *
 * Exported for its tests only; not part of the package's API.
 */
export function parseShortDecimal(text: string): number | undefined {
  const n = text.length;
  // charCodeAt past the end is NaN, so the empty string needs no check of its own.
  let i = text.charCodeAt(0) === 43 /* + */ ? 1 : 0;
  let mantissa = 0;
  let digits = 0;
  let significant = 0;
  let pointAt = -1;
  for (; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* . */ && pointAt < 0) {
      pointAt = digits;
      continue;
    }
    if (!isDigit(code)) return undefined;
    digits++;
    if (significant > 0 || code !== 48 /* 0 */) {
      if (++significant > MAX_SHORT_DIGITS) return undefined;
    }
    mantissa = mantissa * 10 + (code - 48);
  }
  if (digits === 0) return undefined;
  if (pointAt < 0) return mantissa;
  const fractionDigits = digits - pointAt;
  return fractionDigits <= MAX_EXACT_POWER_OF_10 ? mantissa / (POWERS_OF_10[fractionDigits] as number) : undefined;
}

/**
 * Exactly `/^[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)`, by hand: this runs for
 * the number headers the fast path leaves (exponents, long fractions).
 *
 * Reading past the end needs no bounds checks: `charCodeAt` is then NaN, which is no digit, sign,
 * point or exponent.
 *
 * Exported for its tests only; not part of the package's API.
 */
export function isPlainDecimal(text: string): boolean {
  let i = text.charCodeAt(0) === 43 /* + */ ? 1 : 0;
  const intStart = i;
  while (isDigit(text.charCodeAt(i))) i++;
  const hasIntDigits = i > intStart;
  if (text.charCodeAt(i) === 46 /* . */) {
    const fractionStart = ++i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (!hasIntDigits && i === fractionStart) return false;
  } else if (!hasIntDigits) {
    return false;
  }
  if (i < text.length) {
    const e = text.charCodeAt(i);
    if (e !== 101 /* e */ && e !== 69 /* E */) return false;
    const sign = text.charCodeAt(++i);
    if (sign === 43 /* + */ || sign === 45 /* - */) i++;
    const exponentStart = i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (i === exponentStart) return false;
  }
  return i === text.length;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

type HeaderRecord = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** A plain-record header source, with its case-folded index built on the first miss (if ever needed). */
interface RecordLookup {
  readonly record: HeaderRecord;
  /** Values of the keys that are not lower-case, by lower-cased key; null when there are none. */
  lowered: Map<string, string> | null | undefined;
}

/** Read a lower-case `name` from a plain record, case-insensitively (own keys only). */
function readRecord(lookup: RecordLookup, name: string): string | undefined {
  const record = lookup.record;
  // Node's IncomingHttpHeaders are already lower-case: try the direct lookup first.
  // Own keys only: `constructor` or `__proto__` must not read Object.prototype.
  const direct = Object.hasOwn(record, name) ? record[name] : undefined;
  if (direct !== undefined) return joinHeader(direct);
  let lowered = lookup.lowered;
  if (lowered === undefined) {
    lowered = null;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value === undefined) continue;
      // V8 hands an already lower-case key back without copying it: cheaper than any pre-scan.
      const lower = key.toLowerCase();
      if (lower === key) continue;
      lowered ??= new Map();
      lowered.set(lower, joinHeader(value));
    }
    lookup.lowered = lowered;
  }
  return lowered === null ? undefined : lowered.get(name);
}

function headerNames(headers: HeaderSource): Iterable<string> {
  const withKeys = headers as { keys?: unknown; get?: unknown };
  if (typeof withKeys.get === 'function') {
    return typeof withKeys.keys === 'function' ? (withKeys.keys as () => Iterable<string>).call(headers) : [];
  }
  return Object.keys(headers);
}

function joinHeader(value: string | readonly string[] | number): string {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : value.join(', ');
}
