/**
 * @module
 * The self-check: the trace's own recorded routing replayed through the same model of Anthropic
 * (costs, capacities, starting state, prompt cache). Every recorded attempt goes to the account
 * it went to, at the time it went there; the model says whether it would have answered 429, and
 * a recorded success is charged whatever the model says, so the model follows the recording and
 * each attempt is judged on its own. A faithful model refuses where the recording shows 429s and
 * nowhere else; the report counts the differences and explains them as far as it can.
 */
import { createAccountModel, type AccountModel } from '../model/account.js';
import { createAttemptClock } from '../model/attempt-time.js';
import type { RequestCost } from '../model/cost-model.js';
import { createPromptCacheState } from '../model/prompt-cache.js';
import type { ReadRow } from '../trace/reader.js';
import { createHeap } from '../util/heap.js';
import type { PoolAccount } from './replayer.js';

/** How faithfully the model replays the recording (the JSON report's `trace.fidelity`). */
export interface Fidelity {
  /** Upstream 429 rows of accounts in the pool. */
  readonly recorded429s: number;
  /** Of those, attempts the model refused too. */
  readonly reproduced429s: number;
  /** Recorded 429s the model would have served. */
  readonly missed429s: number;
  /** Recorded successes the model would have refused. */
  readonly spurious429s: number;
  /**
   * Per account: the model's first refusal minus the recording's first 429, in minutes (positive:
   * the model is late); null when neither has one. Infinite when only one of them has one.
   */
  readonly firstRateLimitErrorMinutes: Readonly<Record<string, number | null>>;
  /** True when the model reproduces the recording within the documented bounds. */
  readonly good: boolean;
  /** Why it is not, as far as can be told (empty when good). */
  readonly reasons: readonly string[];
}

/** Hints the self-check uses to explain poor fidelity. */
export interface FidelityContext {
  /** Share of requests whose cost was estimated. */
  readonly estimatedShare: number;
  /** Accounts whose capacity is a plan default rather than calibrated. */
  readonly uncalibrated: readonly string[];
  /** Calibration R² (NaN when none). */
  readonly r2: number;
}

/** Resets further apart than this belong to different windows (jitter is about a second). */
const SAME_WINDOW_MS = 600_000;

/** Half a step of the utilization headers' 4 decimals. */
const HALF_STEP = 0.00005;

/** Resets round up to the second and jitter: a window opening this soon after a row's ts was opened by it. */
const OPENED_BY_ROW_MS = 5_000;

/** Bounds of a faithful model: ≥ 95 % reproduced, ≤ 5 % spurious, first 429 within 15 minutes. */
export const FIDELITY_BOUNDS = { reproduced: 0.95, spurious: 0.05, firstMinutes: 15 } as const;

/** Feeds the recording through the model, request by request, in arrival order. */
export interface SelfCheck {
  /** The next request in arrival order: its recorded attempts and its modelled cost. */
  push(arrivalMs: number, session: string | null, attempts: readonly ReadRow[], cost: RequestCost): void;
  /** Finish and report. */
  finish(context: FidelityContext): Fidelity;
}

/** Create a self-check over the simulated pool (only attempts on its accounts are judged). */
export function createSelfCheck(pool: readonly PoolAccount[], startMs: number): SelfCheck {
  const models: AccountModel[] = pool.map((a) => createAccountModel(a.name, a.capacity, startMs, a.start));
  const indexOf = new Map(pool.map((a, i) => [a.name, i]));
  const cache = createPromptCacheState(pool.length);
  const clock = createAttemptClock();
  // Attempts wait here until the replay clock reaches them: a retry after a hold comes later
  // than requests that arrived in between.
  // Requests released together from a hold share one ts: within a window utilization only grows,
  // so the recorded reading gives the order they were charged in (and which one wrote the cache).
  const pending = createHeap<Pending>(
    (a, b) => a.tsMs < b.tsMs || (a.tsMs === b.tsMs && (a.reading < b.reading || (a.reading === b.reading && a.order < b.order))),
  );
  let order = 0;
  let recorded = 0;
  let reproduced = 0;
  let spurious = 0;
  const firstRecorded = new Array<number | null>(pool.length).fill(null);
  const firstModelled = new Array<number | null>(pool.length).fill(null);

  const judge = (attempt: Pending): void => {
    const index = attempt.account;
    const model = models[index] as AccountModel;
    const tsMs = chargedAt(model, attempt);
    const served = attempt.status === undefined || (attempt.status >= 200 && attempt.status <= 299);
    let extra = 0;
    let expiries: Float64Array | undefined;
    if (attempt.session !== null) {
      expiries = cache.get(attempt.session, tsMs);
      if (!((expiries[index] as number) > tsMs)) extra = attempt.cost.cacheMissCredits;
    }
    // A window this attempt opens started at its own ts when the attempt time came from that window.
    const opensAtMs = tsMs - attempt.arrivalMs <= OPENED_BY_ROW_MS ? attempt.arrivalMs : tsMs;
    // How full the model was, to within the headers' resolution: the readings it was fitted to are
    // rounded to 4 decimals, so a window within half a step of 100 % is at the boundary either way.
    const fullest = Math.max(model.utilization5hAt(tsMs), model.utilization7dAt(tsMs));
    const strict = model.replayRecorded(tsMs, attempt.cost.credits5h + extra, attempt.cost.credits7d + extra, served, opensAtMs);
    const refused = attempt.status === 429 ? strict || fullest >= 1 - HALF_STEP : strict && fullest >= 1 + HALF_STEP;
    if (served && expiries !== undefined) expiries[index] = tsMs + attempt.cost.cacheTtlMs;
    if (refused && firstModelled[index] === null) firstModelled[index] = tsMs;
    if (attempt.status === 429) {
      recorded++;
      if (refused) reproduced++;
      if (firstRecorded[index] === null) firstRecorded[index] = tsMs;
    } else if (served && refused) {
      spurious++;
    }
  };

  const runUntil = (untilMs: number): void => {
    for (;;) {
      const next = pending.peek();
      if (next === undefined || next.tsMs > untilMs) return;
      pending.pop();
      judge(next);
    }
  };

  return {
    push(arrivalMs, session, attempts, cost) {
      runUntil(arrivalMs - 1);
      for (const row of attempts) {
        if (row.account === undefined) continue;
        const index = indexOf.get(row.account);
        if (index === undefined) continue;
        pending.push({
          tsMs: clock.at(row.account, row.tsMs, row.reset5hSecs, row.reset7dSecs),
          arrivalMs: row.tsMs,
          reading: row.utilization5h ?? 0,
          reset5hSecs: row.reset5hSecs,
          order: order++,
          account: index,
          status: row.status,
          session,
          cost,
        });
      }
    },
    finish(context) {
      runUntil(Number.POSITIVE_INFINITY);
      const firstRateLimitErrorMinutes: Record<string, number | null> = {};
      pool.forEach((account, i) => {
        const r = firstRecorded[i] ?? null;
        const m = firstModelled[i] ?? null;
        firstRateLimitErrorMinutes[account.name] =
          r === null && m === null ? null : r === null || m === null ? (m === null ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : (m - r) / 60_000;
      });
      const missed = recorded - reproduced;
      const reasons: string[] = [];
      const denominator = Math.max(recorded, 1);
      if (reproduced < FIDELITY_BOUNDS.reproduced * recorded) {
        reasons.push(`the model serves ${missed} of ${recorded} recorded 429s: it gives the accounts more room than they had`);
      }
      if (spurious > FIDELITY_BOUNDS.spurious * denominator) {
        reasons.push(`the model refuses ${spurious} attempts the recording shows served: it gives the accounts less room than they had`);
      }
      const late = Object.entries(firstRateLimitErrorMinutes).filter(([, minutes]) => minutes !== null && Math.abs(minutes) > FIDELITY_BOUNDS.firstMinutes);
      if (late.length > 0) {
        reasons.push(
          `first 429 off by more than ${FIDELITY_BOUNDS.firstMinutes} min on ${late
            .map(([name, minutes]) => `${name} (${Number.isFinite(minutes) ? `${Math.round(minutes as number)} min` : (minutes as number) > 0 ? 'never in the model' : 'never recorded'})`)
            .join(', ')}`,
        );
      }
      if (reasons.length > 0) {
        if (context.uncalibrated.length > 0) reasons.push(`capacity not calibrated (plan default) for ${context.uncalibrated.join(', ')}`);
        if (context.estimatedShare > 0.1) reasons.push(`${Math.round(context.estimatedShare * 100)} % of requests have estimated costs (no tokens recorded)`);
        if (Number.isFinite(context.r2) && context.r2 < 0.9) reasons.push(`the cost fit explains only ${Math.round(context.r2 * 100)} % of utilization changes (usage outside the pool?)`);
      }
      return {
        recorded429s: recorded,
        reproduced429s: reproduced,
        missed429s: missed,
        spurious429s: spurious,
        firstRateLimitErrorMinutes,
        good: reasons.length === 0,
        reasons,
      };
    },
  };
}

interface Pending {
  readonly tsMs: number;
  /** The row's own ts. */
  readonly arrivalMs: number;
  /** The recorded 5-hour utilization (orders attempts with equal timestamps). */
  readonly reading: number;
  /** The recorded 5-hour reset, epoch seconds. */
  readonly reset5hSecs: number | undefined;
  readonly order: number;
  readonly account: number;
  readonly status: number | undefined;
  readonly session: string | null;
  readonly cost: RequestCost;
}

/**
 * When `attempt` was charged on `model`. An attempt held until a reset gets its time from the
 * reset its row reports (attempt-time.ts), and the model's window from the time of the attempt
 * that opened it: jitter in the recorded resets can leave the model's window open a second or two
 * after the recording shows the next one begun. The recording is right about which window charged
 * it, so such an attempt comes at the model's reset (never more than that jitter later).
 */
function chargedAt(model: AccountModel, attempt: Pending): number {
  const resetMs = model.reset5hAt(attempt.tsMs);
  if (resetMs === null || attempt.reset5hSecs === undefined) return attempt.tsMs;
  const laterWindow = attempt.reset5hSecs * 1000 - resetMs > SAME_WINDOW_MS;
  return laterWindow && resetMs - attempt.tsMs <= OPENED_BY_ROW_MS ? resetMs : attempt.tsMs;
}
