/**
 * @module
 * The pure merge rules shared by the local replica and Redis (whose Lua scripts in `scripts.ts`
 * implement the same comparisons): every value stored in Redis is a register whose merge is
 * commutative, associative and idempotent, so instances converge whatever order writes arrive in.
 *
 * - **LWW entries** (`"<a>:<b>:<payload>"`): the larger `(a, b)` wins, then the larger payload
 *   (bytewise; payloads are ASCII-only JSON so JavaScript and Lua compare them the same way).
 *   Rate-limit fields use `a = updatedMs`; everything else uses a hybrid logical clock stamp.
 * - **Cooldown registers** (`"<clearStamp>;<untilMs>,<setStamp>;…"`): the later deadline wins
 *   among cooldowns set after the latest clear.
 */
import { mergeRateLimitInfo, type RateLimitInfo } from '@shunt/core';

/** A parsed LWW entry. */
export interface Entry {
  /** Primary order: `updatedMs` for rate-limit fields, a clock stamp otherwise. */
  readonly a: number;
  /** Tie-break: a clock stamp. */
  readonly b: number;
  /** ASCII-only JSON. */
  readonly payload: string;
}

/** Encode an LWW entry; `payload` must come from {@link asciiJson}. */
export function encodeEntry(a: number, b: number, payload: string): string {
  return `${String(a)}:${String(b)}:${payload}`;
}

/** Parse an LWW entry, or null when it is malformed. */
export function parseEntry(text: string): Entry | null {
  const i = text.indexOf(':');
  const j = i < 0 ? -1 : text.indexOf(':', i + 1);
  if (j < 0) return null;
  const a = Number(text.slice(0, i));
  const b = Number(text.slice(i + 1, j));
  if (!Number.isFinite(a) || !Number.isFinite(b) || i === 0 || j === i + 1) return null;
  return { a, b, payload: text.slice(j + 1) };
}

/** True when entry `x` beats entry `y` (or `y` is absent). Mirrors `newer()` in the Lua scripts. */
export function isNewer(x: string, y: string | undefined | null): boolean {
  if (y === undefined || y === null) return true;
  const p = parseEntry(x);
  const q = parseEntry(y);
  if (p === null) return false;
  if (q === null) return true;
  if (p.a !== q.a) return p.a > q.a;
  if (p.b !== q.b) return p.b > q.b;
  // Both payloads are ASCII, so UTF-16 order is byte order (what the Lua side compares).
  return p.payload > q.payload;
}

/** JSON with every non-ASCII character escaped, so string order equals byte order everywhere. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Decode an entry's payload, or undefined when it is not valid JSON. */
export function payloadOf(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  const entry = parseEntry(text);
  if (entry === null) return undefined;
  try {
    return JSON.parse(entry.payload) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Cooldowns

/** One `setCooldown`: its deadline and the stamp it was made at. */
export interface CooldownSet {
  /** The deadline, in epoch ms. */
  readonly untilMs: number;
  /** When it was set (a clock stamp). */
  readonly setStamp: number;
}

/**
 * A cooldown register: the latest clear, and the cooldowns set after it that could still matter
 * (a Pareto frontier: later-set entries have earlier deadlines, so a later clear can never leave
 * the wrong one standing). Merging is a set union, hence commutative, associative and idempotent.
 */
export interface CooldownState {
  /** Stamp of the latest `clearCooldown` (0 when never cleared). */
  readonly clearStamp: number;
  /** Oldest first; the first deadline is the latest one. */
  readonly sets: readonly CooldownSet[];
}

/** The empty cooldown register. */
export const NO_COOLDOWN: CooldownState = { clearStamp: 0, sets: [] };

/**
 * The longest cooldown a store holds: the weekly window plus 10 minutes, as `memoryStore` caps
 * `setCooldown`. A register entry whose deadline lies further from its set stamp was made from a
 * bogus reset (by a version that did not cap them): it says nothing, and merges drop it.
 */
export const MAX_COOLDOWN_MS: number = 604_800_000 + 600_000;

/** Entries kept per account at most (only reached by many cooldowns shortening one another). */
export const MAX_COOLDOWN_SETS = 16;

/** The deadline a cooldown register stands for, or null. */
export function cooldownDeadline(state: CooldownState): number | null {
  return state.sets[0]?.untilMs ?? null;
}

/** Encode a cooldown register as `clearStamp;untilMs,setStamp;…` (numbers as JavaScript prints them). */
export function encodeCooldown(state: CooldownState): string {
  return [String(state.clearStamp), ...state.sets.map((set) => `${String(set.untilMs)},${String(set.setStamp)}`)].join(';');
}

/** Parse a cooldown register, or null when malformed. */
export function parseCooldown(text: string): CooldownState | null {
  const [clear, ...rest] = text.split(';');
  const clearStamp = Number(clear);
  if (clear === undefined || clear === '' || !Number.isFinite(clearStamp)) return null;
  const sets: CooldownSet[] = [];
  for (const part of rest) {
    const comma = part.indexOf(',');
    const untilMs = Number(part.slice(0, comma));
    const setStamp = Number(part.slice(comma + 1));
    if (comma <= 0 || comma === part.length - 1 || !Number.isFinite(untilMs) || !Number.isFinite(setStamp)) return null;
    sets.push({ untilMs, setStamp });
  }
  return mergeCooldown({ clearStamp, sets }, NO_COOLDOWN);
}

/**
 * Merge two cooldown registers: the latest clear removes every cooldown set before it, and of the
 * rest only those that some later clear could leave standing are kept. Mirrors `MERGE_COOLDOWN`.
 */
export function mergeCooldown(x: CooldownState, y: CooldownState): CooldownState {
  const clearStamp = Math.max(x.clearStamp, y.clearStamp);
  // Set stamps are wall-clock milliseconds × 1000 (a hybrid logical clock).
  const all = [...x.sets, ...y.sets].filter((set) => set.setStamp > clearStamp && set.untilMs <= set.setStamp / 1000 + MAX_COOLDOWN_MS);
  const frontier: CooldownSet[] = [];
  for (const set of all) {
    const dominated = all.some(
      (other) =>
        other.untilMs >= set.untilMs && other.setStamp >= set.setStamp && (other.untilMs > set.untilMs || other.setStamp > set.setStamp),
    );
    if (!dominated && !frontier.some((kept) => kept.untilMs === set.untilMs && kept.setStamp === set.setStamp)) frontier.push(set);
  }
  frontier.sort((p, q) => p.setStamp - q.setStamp);
  return { clearStamp, sets: frontier.slice(-MAX_COOLDOWN_SETS) };
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/** The fields of a {@link RateLimitInfo} kept as separate registers, plus `updatedMs`. */
export const RATE_LIMIT_FIELDS = [
  'utilization5h',
  'reset5hSecs',
  'status5h',
  'utilization7d',
  'reset7dSecs',
  'status7d',
  'overageStatus',
  'overageDisabledReason',
  'representativeClaim',
  'updatedMs',
] as const;

/** One of {@link RATE_LIMIT_FIELDS}. */
export type RateLimitField = (typeof RATE_LIMIT_FIELDS)[number];

/** An account's rate-limit registers: field → LWW entry whose payload is `[value, windowReset]`. */
export type RateLimitRegisters = Map<RateLimitField, string>;

/** True when `field` is one of the fields a rate-limit register holds. */
export function isRateLimitField(field: string): field is RateLimitField {
  return (RATE_LIMIT_FIELDS as readonly string[]).includes(field);
}

/**
 * The register entries a local `updateRateLimits` produces: every field `info` carries, stamped
 * with `info.updatedMs`, and a tombstone for every field the core merge dropped because its window
 * rolled over. A window field also carries the reset of its window as the writer saw it after the
 * merge, so a field from an older window cannot join a newer window's reset on another instance;
 * when a record moves a window's reset without rolling it over, the window's other fields are
 * re-tagged (keeping their own `updatedMs`, so a newer value elsewhere still wins).
 */
export function rateLimitDelta(
  before: RateLimitInfo | null,
  after: RateLimitInfo,
  info: RateLimitInfo,
  stamp: number,
  registers?: RateLimitRegisters | undefined,
): Map<RateLimitField, string> {
  const delta = new Map<RateLimitField, string>();
  const entry = (value: unknown, epoch: number | null, at = info.updatedMs): string => encodeEntry(at, stamp, asciiJson([value, epoch]));
  for (const field of RATE_LIMIT_FIELDS) {
    if (field === 'updatedMs') continue;
    const value = info[field];
    const epoch = windowEpoch(field, after);
    if (value !== undefined) delta.set(field, entry(value, epoch));
    else if (before?.[field] !== undefined && after[field] === undefined) delta.set(field, entry(null, null));
    else if (epoch !== null && epoch !== windowEpoch(field, before) && after[field] !== undefined) {
      delta.set(field, entry(after[field], epoch, parseEntry(registers?.get(field) ?? '')?.a ?? info.updatedMs));
    }
  }
  delta.set('updatedMs', entry(info.updatedMs, null));
  return delta;
}

/**
 * Merge `incoming` entries into `registers` (LWW per field); returns the fields that changed.
 */
export function mergeRegisters(registers: RateLimitRegisters, incoming: ReadonlyMap<RateLimitField, string>): RateLimitField[] {
  const changed: RateLimitField[] = [];
  for (const [field, entry] of incoming) {
    if (isNewer(entry, registers.get(field))) {
      registers.set(field, entry);
      changed.push(field);
    }
  }
  return changed;
}

/**
 * The record the registers describe: every live field, except a window field whose window reset
 * (as its writer saw it) is no longer the window's reset. Null when nothing was ever recorded.
 */
export function materializeRateLimits(registers: RateLimitRegisters): RateLimitInfo | null {
  const updatedMs = registerValue(registers, 'updatedMs');
  if (typeof updatedMs !== 'number') return null;
  const out: Record<string, unknown> = {};
  const resets = { '5h': registerValue(registers, 'reset5hSecs') ?? null, '7d': registerValue(registers, 'reset7dSecs') ?? null };
  for (const field of RATE_LIMIT_FIELDS) {
    if (field === 'updatedMs') continue;
    const payload = payloadOf(registers.get(field));
    if (!Array.isArray(payload)) continue;
    const [value, epoch] = payload as [unknown, unknown];
    if (value === null || value === undefined || !validValue(field, value)) continue;
    const window = WINDOW_OF[field];
    if (window !== undefined && epoch !== null && epoch !== resets[window]) continue;
    out[field] = value;
  }
  out['updatedMs'] = updatedMs;
  return out as unknown as RateLimitInfo;
}

/** True when two records hold the same fields with the same values. */
export function sameRateLimits(x: RateLimitInfo | null, y: RateLimitInfo | null): boolean {
  if (x === null || y === null) return x === y;
  for (const field of RATE_LIMIT_FIELDS) if (x[field] !== y[field]) return false;
  return true;
}

/**
 * Fold records through core's `mergeRateLimitInfo` in `updatedMs` order: what a single store that
 * saw every record in time order would hold (used by tests as the reference).
 */
export function foldRateLimits(records: readonly RateLimitInfo[]): RateLimitInfo | null {
  let merged: RateLimitInfo | null = null;
  for (const record of [...records].sort((p, q) => p.updatedMs - q.updatedMs)) merged = mergeRateLimitInfo(merged, record);
  return merged;
}

const WINDOW_OF: Partial<Record<RateLimitField, '5h' | '7d'>> = {
  utilization5h: '5h',
  status5h: '5h',
  utilization7d: '7d',
  status7d: '7d',
};

const NUMERIC_FIELDS: ReadonlySet<RateLimitField> = new Set(['utilization5h', 'reset5hSecs', 'utilization7d', 'reset7dSecs', 'updatedMs']);

function windowEpoch(field: RateLimitField, after: RateLimitInfo | null): number | null {
  const window = WINDOW_OF[field];
  if (window === undefined || after === null) return null;
  return (window === '5h' ? after.reset5hSecs : after.reset7dSecs) ?? null;
}

function registerValue(registers: RateLimitRegisters, field: RateLimitField): number | undefined {
  const payload = payloadOf(registers.get(field));
  if (!Array.isArray(payload)) return undefined;
  const value: unknown = payload[0];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function validValue(field: RateLimitField, value: unknown): boolean {
  return NUMERIC_FIELDS.has(field) ? typeof value === 'number' && Number.isFinite(value) : typeof value === 'string';
}
