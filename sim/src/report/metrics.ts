/**
 * @module
 * What one strategy's replay measured. The collector is fed by the replayer as events happen and
 * keeps memory bounded: hold times go into a fixed histogram, conversations idle for a day are
 * forgotten, and the timeline halves its resolution when it grows long.
 */
import { gini, roundTo } from '../util/numbers.js';
import type { AccountModel } from '../model/account.js';

/** Hold-time summary, in milliseconds. */
export interface HoldSummary {
  readonly total: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** Per-account results of one strategy. */
export interface AccountReport {
  readonly name: string;
  readonly served: number;
  readonly rateLimited: number;
  readonly peakUtilization5h: number;
  readonly weeklyUse: number;
  readonly expiredWeeklyQuota: number;
  readonly firstExhaustion: string | null;
}

/** Everything one strategy's replay reports (the `--json` schema's `strategies[]` entry). */
export interface StrategyReport {
  readonly strategy: string;
  readonly requests: number;
  readonly served: number;
  readonly servedAfterHold: number;
  readonly failed: number;
  readonly rateLimited: number;
  readonly held: number;
  readonly holdMs: HoldSummary;
  readonly exhaustedMinutes: number;
  readonly switches: number;
  /** Prompt-cache misses routing caused (another account held the conversation's live cache), and what they cost in credits. */
  readonly cacheMisses: { readonly routing: number; readonly credits: number; readonly all: number };
  readonly stickyHitRate: number;
  readonly expiredWeeklyQuota: number;
  readonly firstExhaustion: string | null;
  readonly firstHold: string | null;
  readonly spread: { readonly gini: number; readonly range: number };
  readonly accounts: readonly AccountReport[];
}

/** A point of the per-strategy timeline (for the HTML charts). */
export interface TimelinePoint {
  /** Start of the bucket, epoch ms. */
  readonly atMs: number;
  /** Each account's 5-hour utilization at `atMs` (max over merged buckets). */
  readonly utilization5h: readonly number[];
  /** Each account's weekly utilization at `atMs`. */
  readonly utilization7d: readonly number[];
  /** 429s in the bucket. */
  rateLimited: number;
  /** Requests that started a hold in the bucket. */
  held: number;
  /** Requests that failed in the bucket. */
  failed: number;
}

/** Collects one strategy's measurements. */
export interface MetricsCollector {
  /** A pick was made for a request with a conversation; `sticky` when its sticky entry decided. */
  picked(sticky: boolean): void;
  /** A request was served at `atMs` by `account`, after `heldMs` of holding. */
  served(session: string | null, account: string, atMs: number, heldMs: number): void;
  /** An attempt earned a 429. */
  rateLimited(): void;
  /** A served request paid for its cached prefix again (`byRouting` when another account held it), `credits` extra. */
  cacheMissed(byRouting: boolean, credits: number): void;
  /**
   * A request found no eligible account at `atMs`; the pool counts as dry until `dryUntilMs`.
   * `startsHold` when this begins the request's hold (not for a re-block or an immediate failure).
   */
  blocked(atMs: number, dryUntilMs: number, startsHold: boolean): void;
  /** A request failed (no account would return within the max wait) after `heldMs` of holding. */
  failed(heldMs: number): void;
  /** Move the timeline forward to `atMs` (call before each event). */
  tick(atMs: number): void;
  /** The report, once the replay is over. */
  report(strategy: string, requests: number): StrategyReport;
  /** The timeline, when one was requested. */
  timeline(): { readonly stepMs: number; readonly points: readonly TimelinePoint[] } | null;
}

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** The modelled accounts, in config order (their stats are read at report time). */
  readonly accounts: readonly AccountModel[];
  /** The longest hold, which sizes the hold-time histogram. */
  readonly maxWaitMs: number;
  /** Timeline bucket in ms, or null for no timeline. @default null */
  readonly timelineStepMs?: number | null | undefined;
  /** Timeline points kept before halving resolution. @default 2048 */
  readonly timelineMaxPoints?: number | undefined;
}

/** Conversations idle this long are forgotten (a prompt cache has long expired by then). */
const CONVERSATION_MEMORY_MS = 24 * 3_600_000;

/** Create a collector. */
export function createMetrics(options: MetricsOptions): MetricsCollector {
  const { accounts } = options;
  const holdBinMs = Math.max(100, Math.ceil(options.maxWaitMs / 36_000));
  const holdBins = new Float64Array(Math.ceil(options.maxWaitMs / holdBinMs) + 2);
  let held = 0;
  let servedAfterHold = 0;
  let served = 0;
  let failed = 0;
  let rateLimitedCount = 0;
  let holdTotalMs = 0;
  let holdMaxMs = 0;
  let holdCount = 0;
  let switches = 0;
  let cacheMisses = 0;
  let routingCacheMisses = 0;
  let routingCacheMissCredits = 0;
  let stickyPicks = 0;
  let stickyHits = 0;
  let firstHoldMs: number | null = null;
  let dryStart = Number.NaN;
  let dryEnd = Number.NaN;
  let dryTotalMs = 0;
  const conversations = createConversationMemory();

  let stepMs = options.timelineStepMs ?? null;
  const maxPoints = options.timelineMaxPoints ?? 2048;
  const points: TimelinePoint[] = [];
  let nextSampleMs = Number.NaN;
  let current: TimelinePoint | null = null;

  const recordHold = (heldMs: number): void => {
    holdCount++;
    holdTotalMs += heldMs;
    if (heldMs > holdMaxMs) holdMaxMs = heldMs;
    const bin = Math.min(holdBins.length - 1, Math.ceil(heldMs / holdBinMs));
    holdBins[bin] = (holdBins[bin] as number) + 1;
  };

  const holdPercentile = (p: number): number => {
    if (holdCount === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * holdCount));
    let seen = 0;
    for (let bin = 0; bin < holdBins.length; bin++) {
      seen += holdBins[bin] as number;
      if (seen >= rank) return Math.min(bin * holdBinMs, holdMaxMs);
    }
    return holdMaxMs;
  };

  const sample = (atMs: number): TimelinePoint => ({
    atMs,
    utilization5h: accounts.map((a) => a.utilization5hAt(atMs)),
    utilization7d: accounts.map((a) => a.utilization7dAt(atMs)),
    rateLimited: 0,
    held: 0,
    failed: 0,
  });

  const halve = (): void => {
    const merged: TimelinePoint[] = [];
    for (let i = 0; i < points.length; i += 2) {
      const a = points[i] as TimelinePoint;
      const b = points[i + 1];
      merged.push(
        b === undefined
          ? a
          : {
              atMs: a.atMs,
              utilization5h: a.utilization5h.map((u, k) => Math.max(u, b.utilization5h[k] ?? 0)),
              utilization7d: a.utilization7d.map((u, k) => Math.max(u, b.utilization7d[k] ?? 0)),
              rateLimited: a.rateLimited + b.rateLimited,
              held: a.held + b.held,
              failed: a.failed + b.failed,
            },
      );
    }
    points.length = 0;
    points.push(...merged);
  };

  const tick = (atMs: number): void => {
    if (stepMs === null) return;
    if (Number.isNaN(nextSampleMs)) nextSampleMs = Math.floor(atMs / stepMs) * stepMs;
    while (atMs >= nextSampleMs) {
      if (current !== null) points.push(current);
      current = sample(nextSampleMs);
      if (points.length >= maxPoints) {
        halve();
        stepMs *= 2;
      }
      nextSampleMs = current.atMs + stepMs;
    }
  };

  return {
    picked(sticky) {
      stickyPicks++;
      if (sticky) stickyHits++;
    },
    served(session, account, atMs, heldMs) {
      served++;
      if (heldMs > 0) {
        servedAfterHold++;
        recordHold(heldMs);
      }
      if (session === null) return;
      conversations.forgetIdleSince(atMs - CONVERSATION_MEMORY_MS);
      const previous = conversations.served(session, account, atMs);
      if (previous !== null && previous !== account) switches++;
    },
    cacheMissed(byRouting, credits) {
      cacheMisses++;
      if (!byRouting) return;
      routingCacheMisses++;
      routingCacheMissCredits += credits;
    },
    rateLimited() {
      rateLimitedCount++;
      if (current !== null) current.rateLimited++;
    },
    blocked(atMs, dryUntilMs, startsHold) {
      if (startsHold) {
        held++;
        if (firstHoldMs === null) firstHoldMs = atMs;
        if (current !== null) current.held++;
      }
      // Union of dry intervals; intervals arrive in start order.
      if (Number.isNaN(dryStart) || atMs > dryEnd) {
        if (!Number.isNaN(dryStart)) dryTotalMs += dryEnd - dryStart;
        dryStart = atMs;
        dryEnd = dryUntilMs;
      } else if (dryUntilMs > dryEnd) {
        dryEnd = dryUntilMs;
      }
    },
    failed(heldMs) {
      failed++;
      if (heldMs > 0) recordHold(heldMs);
      if (current !== null) current.failed++;
    },
    tick,
    report(strategy, requests) {
      const dryMs = dryTotalMs + (Number.isNaN(dryStart) ? 0 : dryEnd - dryStart);
      const accountReports: AccountReport[] = accounts.map((a) => ({
        name: a.name,
        served: a.stats.served,
        rateLimited: a.stats.rateLimited,
        peakUtilization5h: roundTo(a.stats.peakUtilization5h, 4),
        weeklyUse: roundTo(a.stats.weeklyUse, 4),
        expiredWeeklyQuota: roundTo(a.stats.expiredWeekly, 4),
        firstExhaustion: isoOrNull(a.stats.firstExhaustedMs),
      }));
      const weeklyCapacity = accounts.reduce((sum, a) => sum + finiteOr0(a.capacity.window7dCredits), 0);
      const expired =
        weeklyCapacity > 0
          ? accounts.reduce((sum, a) => sum + a.stats.expiredWeekly * finiteOr0(a.capacity.window7dCredits), 0) / weeklyCapacity
          : 0;
      const uses = accounts.map((a) => a.stats.weeklyUse);
      const firstExhaustedMs = accounts.reduce<number | null>(
        (first, a) =>
          a.stats.firstExhaustedMs === null ? first : first === null ? a.stats.firstExhaustedMs : Math.min(first, a.stats.firstExhaustedMs),
        null,
      );
      return {
        strategy,
        requests,
        served,
        servedAfterHold,
        failed,
        rateLimited: rateLimitedCount,
        held,
        holdMs: {
          total: Math.round(holdTotalMs),
          p50: Math.round(holdPercentile(50)),
          p95: Math.round(holdPercentile(95)),
          max: Math.round(holdMaxMs),
        },
        exhaustedMinutes: roundTo(dryMs / 60_000, 1),
        switches,
        cacheMisses: { routing: routingCacheMisses, credits: roundTo(routingCacheMissCredits, 4), all: cacheMisses },
        stickyHitRate: stickyPicks === 0 ? 0 : roundTo(stickyHits / stickyPicks, 4),
        expiredWeeklyQuota: roundTo(expired, 4),
        firstExhaustion: isoOrNull(firstExhaustedMs),
        firstHold: isoOrNull(firstHoldMs),
        spread: {
          gini: roundTo(gini(uses), 4),
          range: roundTo(uses.length === 0 ? 0 : Math.max(...uses) - Math.min(...uses), 4),
        },
        accounts: accountReports,
      };
    },
    timeline() {
      if (stepMs === null) return null;
      const all = current === null ? [...points] : [...points, current];
      return { stepMs, points: all };
    },
  };
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function finiteOr0(value: number): number {
  return Number.isFinite(value) ? value : 0;
}

/** A conversation's last serving account, linked into a list from least to most recently served. */
interface Conversation {
  readonly session: string;
  account: string;
  atMs: number;
  newer: Conversation | null;
  older: Conversation | null;
}

/**
 * The account each conversation last ran on, forgetting conversations idle past a horizon.
 * Served times never decrease, so a recency list keeps the idlest conversation at its head and
 * forgetting is O(1) per conversation; moving a conversation to the tail is pointer work, not the
 * Map delete-and-insert that costs several times a lookup.
 */
function createConversationMemory(): {
  /** Record that `session` was served by `account` at `atMs`; returns the account before, or null. */
  served(session: string, account: string, atMs: number): string | null;
  /** Forget conversations last served at or before `atMs`. */
  forgetIdleSince(atMs: number): void;
} {
  const bySession = new Map<string, Conversation>();
  let oldest: Conversation | null = null;
  let newest: Conversation | null = null;

  const unlink = (c: Conversation): void => {
    if (c.older === null) oldest = c.newer;
    else c.older.newer = c.newer;
    if (c.newer === null) newest = c.older;
    else c.newer.older = c.older;
    c.older = null;
    c.newer = null;
  };
  const append = (c: Conversation): void => {
    c.older = newest;
    if (newest === null) oldest = c;
    else newest.newer = c;
    newest = c;
  };

  return {
    served(session, account, atMs) {
      const known = bySession.get(session);
      if (known === undefined) {
        const c: Conversation = { session, account, atMs, newer: null, older: null };
        bySession.set(session, c);
        append(c);
        return null;
      }
      const previous = known.account;
      known.account = account;
      known.atMs = atMs;
      if (known !== newest) {
        unlink(known);
        append(known);
      }
      return previous;
    },
    forgetIdleSince(atMs) {
      while (oldest !== null && oldest.atMs <= atMs) {
        const c: Conversation = oldest;
        bySession.delete(c.session);
        unlink(c);
      }
    },
  };
}
