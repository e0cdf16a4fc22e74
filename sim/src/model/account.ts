/**
 * @module
 * One modelled account: its 5-hour and weekly windows, and the response (status and
 * `anthropic-ratelimit-unified-*` headers) it gives a request, the way Anthropic's would.
 *
 * - The 5-hour window opens with the first request after the previous window ended and resets
 *   5 hours later.
 * - The weekly window is anchored: it resets every 7 days at the account's weekly reset when the
 *   trace shows one; otherwise it opens with the first request, like the 5-hour window.
 * - A request is admitted while both windows are below 1 (100 %); its whole cost is charged when it
 *   starts, so utilization may end above 1. A window at or above 1 refuses with a 429 whose
 *   headers mark it `rejected` until its reset.
 */
import { WINDOW_5H_SECS, WINDOW_7D_SECS } from '@shunt/core';
import type { Capacity } from './plans.js';

/** Utilization from which a window's status reads `allowed_warning`. */
export const WARNING_UTILIZATION = 0.8;

const WINDOW_5H_MS = WINDOW_5H_SECS * 1000;
const WINDOW_7D_MS = WINDOW_7D_SECS * 1000;

/** How an account starts the replay. */
export interface AccountStart {
  /** Weekly reset schedule: any past or future weekly reset, in epoch ms; null for a rolling weekly window. */
  readonly weeklyAnchorMs: number | null;
  /** A 5-hour window already open at the start: its reset (epoch ms) and utilization. */
  readonly window5h?: { readonly resetMs: number; readonly utilization: number } | undefined;
  /** Weekly utilization already used when the replay starts (anchored windows only). */
  readonly utilization7d?: number | undefined;
}

/** Response headers, readable like fetch's `Headers` (lower-case names). */
export interface ModelHeaders {
  /** A header's value, or null when absent. */
  get(name: string): string | null;
  /** Names of the headers present (as fetch's `Headers.keys()`). */
  keys(): IterableIterator<string>;
  /** Every header as a plain record. */
  toRecord(): Record<string, string>;
}

/** What the modelled upstream answered. */
export interface ModelResponse {
  /** 200, or 429 when a window is exhausted. */
  readonly status: 200 | 429;
  /** The `anthropic-ratelimit-unified-*` headers Anthropic would have sent. */
  readonly headers: ModelHeaders;
}

/** Running totals an account keeps for the report. */
export interface AccountStats {
  /** Requests served. */
  served: number;
  /** Requests refused with a 429. */
  rateLimited: number;
  /** Highest 5-hour utilization reached (after a charge). */
  peakUtilization5h: number;
  /** Weekly quota consumed during the replay, in weeks of this account's quota. */
  weeklyUse: number;
  /**
   * Weekly quota that reset unused during the replay, plus what the weekly window open at its end
   * still held (it expires at the first reset after the trace), in weeks of this account's quota.
   */
  expiredWeekly: number;
  /** When a window first reached 100 %, in epoch ms, or null. */
  firstExhaustedMs: number | null;
}

/** A modelled account. */
export interface AccountModel {
  /** Account name. */
  readonly name: string;
  /** Credits per window. */
  readonly capacity: Capacity;
  /** Running totals. */
  readonly stats: AccountStats;
  /**
   * Answer a request that starts at `nowMs` and costs `credits5h` / `credits7d` credits (the same
   * number unless the cost came from separate utilization deltas). Time must not go backwards.
   * The response is only valid until the next call: read it (or `toRecord()` it) right away.
   */
  respond(nowMs: number, credits5h: number, credits7d: number): ModelResponse;
  /** 5-hour utilization at `atMs` (≥ the last time seen), without changing anything. */
  utilization5hAt(atMs: number): number;
  /** Weekly utilization at `atMs`, without changing anything. */
  utilization7dAt(atMs: number): number;
  /** When the 5-hour window open at `atMs` resets, epoch ms, or null when none is open. */
  reset5hAt(atMs: number): number | null;
  /** Bring the windows forward to `nowMs` (counting weekly quota that expires on the way). */
  advance(nowMs: number): void;
  /**
   * The replay ends at `endMs`: bring the windows forward, then count what the open weekly window
   * still holds as expiring at its reset (nothing more will use it in the replay).
   */
  close(endMs: number): void;
  /**
   * Replay a recorded attempt: whether this model would have refused it at `nowMs` (a 429), and,
   * when the recording says it was served, charge it whatever the model would have answered, so
   * the model follows the recording instead of drifting from it. A window this attempt opens
   * starts at `opensAtMs` (default `nowMs`): the row's own ts when the attempt time was inferred
   * from the very window it opened.
   */
  replayRecorded(nowMs: number, credits5h: number, credits7d: number, served: boolean, opensAtMs?: number): boolean;
}

/**
 * Create a modelled account with `capacity` that starts at `startMs`.
 *
 * @example
 * ```ts
 * const account = createAccountModel('work', planCapacity('max5'), Date.UTC(2026, 0, 5), { weeklyAnchorMs: null });
 * account.respond(Date.UTC(2026, 0, 5, 9), 0.5, 0.5).status; // 200
 * ```
 */
export function createAccountModel(name: string, capacity: Capacity, startMs: number, start: AccountStart): AccountModel {
  const cap5h = capacity.window5hCredits;
  const cap7d = capacity.window7dCredits;
  let reset5hMs: number | null = null;
  let used5h = 0;
  let reset7dMs: number | null = null;
  let used7d = 0;
  const anchorMs = start.weeklyAnchorMs;
  if (start.window5h !== undefined && start.window5h.resetMs > startMs) {
    reset5hMs = start.window5h.resetMs;
    used5h = Math.max(0, start.window5h.utilization);
  }
  if (anchorMs !== null) {
    reset7dMs = nextWeeklyReset(anchorMs, startMs);
    used7d = Math.max(0, start.utilization7d ?? 0);
  }
  const stats: AccountStats = {
    served: 0,
    rateLimited: 0,
    peakUtilization5h: used5h,
    weeklyUse: 0,
    expiredWeekly: 0,
    firstExhaustedMs: null,
  };

  const advance = (nowMs: number): void => {
    if (reset5hMs !== null && nowMs >= reset5hMs) {
      reset5hMs = null;
      used5h = 0;
    }
    if (reset7dMs !== null && nowMs >= reset7dMs) {
      stats.expiredWeekly += Math.max(0, 1 - used7d);
      used7d = 0;
      if (anchorMs === null) {
        reset7dMs = null;
      } else {
        // Whole weeks without a single request expire entirely.
        const next = nextWeeklyReset(anchorMs, nowMs);
        stats.expiredWeekly += Math.round((next - reset7dMs) / WINDOW_7D_MS) - 1;
        reset7dMs = next;
      }
    }
  };

  // One headers object and one response per status, rewritten on every answer: a replay makes
  // millions of responses, and each is read once, synchronously, before the next is made.
  const current = responseHeaders();
  const ok: { status: 200; headers: ModelHeaders } = { status: 200, headers: current };
  const refused: { status: 429; headers: ModelHeaders } = { status: 429, headers: current };
  // Each header's text is rendered here, once per answer, without building new strings where it
  // can: a reset keeps its text until it moves, and a utilization below 1 comes from a table.
  let reset5hTextFor: number | null = null;
  let reset7dTextFor: number | null = null;
  const headers = (rejected5h: boolean, rejected7d: boolean): void => {
    const k5 = headerUtilizationTicks(used5h);
    const k7 = headerUtilizationTicks(used7d);
    const u5 = k5 / UTILIZATION_TICKS;
    const u7 = k7 / UTILIZATION_TICKS;
    current.utilization5h = utilizationText(k5, u5);
    if (reset5hMs !== reset5hTextFor) {
      reset5hTextFor = reset5hMs;
      current.reset5hSecs = reset5hMs === null ? null : String(Math.ceil(reset5hMs / 1000));
    }
    current.status5h = windowStatus(u5, rejected5h);
    current.utilization7d = utilizationText(k7, u7);
    if (reset7dMs !== reset7dTextFor) {
      reset7dTextFor = reset7dMs;
      current.reset7dSecs = reset7dMs === null ? null : String(Math.ceil(reset7dMs / 1000));
    }
    current.status7d = windowStatus(u7, rejected7d);
    current.claim = rejected7d || (!rejected5h && u7 > u5) ? 'seven_day' : 'five_hour';
  };

  return {
    name,
    capacity,
    stats,
    advance,
    respond(nowMs, credits5h, credits7d) {
      advance(nowMs);
      const full5h = reset5hMs !== null && used5h >= 1;
      const full7d = reset7dMs !== null && used7d >= 1;
      if (full5h || full7d) {
        stats.rateLimited++;
        headers(full5h, full7d);
        return refused;
      }
      // Resets sit on whole seconds, as Anthropic's epoch-second headers do.
      if (reset5hMs === null) reset5hMs = Math.ceil(nowMs / 1000) * 1000 + WINDOW_5H_MS;
      if (reset7dMs === null) reset7dMs = Math.ceil(nowMs / 1000) * 1000 + WINDOW_7D_MS;
      const add5h = credits5h / cap5h;
      const add7d = credits7d / cap7d;
      used5h += add5h;
      used7d += add7d;
      stats.served++;
      stats.weeklyUse += add7d;
      if (used5h > stats.peakUtilization5h) stats.peakUtilization5h = used5h;
      if (stats.firstExhaustedMs === null && (used5h >= 1 || used7d >= 1)) stats.firstExhaustedMs = nowMs;
      headers(false, false);
      return ok;
    },
    close(endMs) {
      advance(endMs);
      if (reset7dMs !== null) stats.expiredWeekly += Math.max(0, 1 - used7d);
    },
    replayRecorded(nowMs, credits5h, credits7d, served, opensAtMs = nowMs) {
      advance(nowMs);
      const refused = (reset5hMs !== null && used5h >= 1) || (reset7dMs !== null && used7d >= 1);
      if (served) {
        if (reset5hMs === null) reset5hMs = Math.ceil(opensAtMs / 1000) * 1000 + WINDOW_5H_MS;
        if (reset7dMs === null) reset7dMs = Math.ceil(opensAtMs / 1000) * 1000 + WINDOW_7D_MS;
        used5h += credits5h / cap5h;
        used7d += credits7d / cap7d;
      }
      return refused;
    },
    utilization5hAt: (atMs) => (reset5hMs !== null && atMs < reset5hMs ? used5h : 0),
    utilization7dAt: (atMs) => (reset7dMs !== null && atMs < reset7dMs ? used7d : 0),
    reset5hAt: (atMs) => (reset5hMs !== null && atMs < reset5hMs ? reset5hMs : null),
  };
}

/** The first weekly reset strictly after `afterMs` on the schedule through `anchorMs`. */
export function nextWeeklyReset(anchorMs: number, afterMs: number): number {
  const weeks = Math.floor((afterMs - anchorMs) / WINDOW_7D_MS) + 1;
  return anchorMs + weeks * WINDOW_7D_MS;
}

/** The rendered header values (what `get` returns). */
interface HeaderValues {
  utilization5h: string;
  reset5hSecs: string | null;
  status5h: string;
  utilization7d: string;
  reset7dSecs: string | null;
  status7d: string;
  claim: string;
}

const PREFIX = 'anthropic-ratelimit-unified-';

/**
 * Headers that are rendered once per answer and read by name. One shared `get`, not a closure per
 * response: responses are made millions of times.
 */
function responseHeaders(): ModelHeaders & HeaderValues {
  return {
    utilization5h: '0',
    reset5hSecs: null,
    status5h: 'allowed',
    utilization7d: '0',
    reset7dSecs: null,
    status7d: 'allowed',
    claim: 'five_hour',
    get: readModelHeader,
    keys: modelHeaderNames,
    toRecord: modelHeadersToRecord,
  };
}

function readModelHeader(this: HeaderValues, name: string): string | null {
  switch (headerIndex(name)) {
    case 0:
      return this.utilization5h;
    case 1:
      return this.reset5hSecs;
    case 2:
      return this.status5h;
    case 3:
      return this.utilization7d;
    case 4:
      return this.reset7dSecs;
    case 5:
      return this.status7d;
    case 6:
      return this.claim;
    default:
      return null;
  }
}

/**
 * Which of {@link HEADER_NAMES} `name` is, or -1, from its length and three characters. Callers
 * build names by concatenation; hashing or comparing such a string flattens it first, which costs
 * more than the rest of a response. The nine unified names, `retry-after`, `retry-after-ms` and
 * `x-should-retry` (everything core asks for) are told apart exactly.
 */
function headerIndex(name: string): number {
  const length = name.length;
  if (length < 36 || name.charCodeAt(0) !== 97 /* a */ || name.charCodeAt(27) !== 45 /* - */) return -1;
  const window = name.charCodeAt(28);
  const fiveHour = window === 53; /* 5 */
  if (!fiveHour && window !== 55 /* 7 */) return length === 48 && window === 114 /* r */ ? 6 : -1;
  switch (length) {
    case 36: // -5h-reset, -7d-reset
      return fiveHour ? 1 : 4;
    case 37: // -5h-status, -7d-status
      return fiveHour ? 2 : 5;
    case 42: // -5h-utilization, -7d-utilization
      return fiveHour ? 0 : 3;
    default:
      return -1;
  }
}

function modelHeaderNames(this: ModelHeaders): IterableIterator<string> {
  return Object.keys(this.toRecord()).values();
}

function modelHeadersToRecord(this: ModelHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const suffix of HEADER_SUFFIXES) {
    const value = this.get(PREFIX + suffix);
    if (value !== null) out[PREFIX + suffix] = value;
  }
  return out;
}

const HEADER_SUFFIXES = ['5h-utilization', '5h-reset', '5h-status', '7d-utilization', '7d-reset', '7d-status', 'representative-claim'];
/** The headers a modelled response carries, in {@link headerIndex} order. */
const HEADER_NAMES: readonly string[] = HEADER_SUFFIXES.map((suffix) => PREFIX + suffix);

/**
 * Utilization as the header carries it: 4 decimals (Anthropic's own are coarser still; the
 * generator records the same 4 decimals, so a recorded trace holds exactly what routing saw).
 */
export function headerUtilization(utilization: number): number {
  return headerUtilizationTicks(utilization) / UTILIZATION_TICKS;
}

/** Steps of 1/10,000 per unit of utilization (the headers' 4 decimals). */
const UTILIZATION_TICKS = 10_000;

/** {@link headerUtilization} × 10,000: a whole number. */
function headerUtilizationTicks(utilization: number): number {
  return Number.isFinite(utilization) ? Math.round(utilization * UTILIZATION_TICKS) : 0;
}

/** `String(k / 10000)` for every k below 10,000 (utilization under 100 %), made once. */
let utilizationTexts: string[] | undefined;

/** `String(value)`, where `value` is `ticks / 10000`, from the table when it is there. */
function utilizationText(ticks: number, value: number): string {
  if (ticks >= 0 && ticks < UTILIZATION_TICKS) {
    utilizationTexts ??= Array.from({ length: UTILIZATION_TICKS }, (_, k) => String(k / UTILIZATION_TICKS));
    return utilizationTexts[ticks] as string;
  }
  return String(value);
}

function windowStatus(utilization: number, rejected: boolean): string {
  if (rejected) return 'rejected';
  return utilization >= WARNING_UTILIZATION ? 'allowed_warning' : 'allowed';
}
