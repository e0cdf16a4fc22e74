/**
 * @module
 * `pickAccount`: pinned → sticky → strategy over the eligible candidates.
 */
import { cappedResetSecs, isWindowExhausted } from './rate-limits.js';
import { resolveStrategy, type StrategyName } from './strategies/index.js';
import { completeStore } from './store/complete.js';
import type { CompleteStateStore, StateStore } from './store/types.js';
import type { Account, ExplainValue, Strategy, StrategyContext } from './strategies/types.js';

/** Options for {@link pickAccount} and {@link explainPick}. */
export interface PickOptions {
  /** The conversation's fingerprint (see `fingerprint`); null or absent disables stickiness. */
  readonly fingerprint?: string | null | undefined;
  /** Accounts already tried for this request; never picked again. */
  readonly tried?: ReadonlySet<string> | undefined;
  /**
   * The strategy, as an object or a built-in name (aliases such as `round-robin` accepted).
   * @default "maximus"
   */
  readonly strategy?: Strategy | StrategyName | (string & {}) | undefined;
  /**
   * How long a conversation stays on its account after its last routed request.
   * @default 600000
   */
  readonly stickyTtlMs?: number | undefined;
  /**
   * How long the request asks Anthropic to keep its prompt cache (`cache_control` with
   * `ttl: "1h"` is 3600000). The conversation then sticks at least that long, so a pause shorter
   * than its cache's life never moves it off the account that holds the cache.
   * @default 0
   */
  readonly promptCacheTtlMs?: number | undefined;
  /**
   * Reaper's "expiring soon" horizon, in seconds.
   * @default 1800
   */
  readonly expirySoonSecs?: number | undefined;
  /**
   * Renew a conversation's sticky TTL on every sticky hit. `false` keeps the Rust shunt's
   * behaviour (the TTL counts from the last strategy decision, so long conversations are re-routed
   * every `stickyTtlMs` and lose their prompt cache).
   * @default true
   */
  readonly slidingSticky?: boolean | undefined;
}

/** Options for {@link explainPick}: those of {@link pickAccount}, and how much to explain. */
export interface ExplainPickOptions extends PickOptions {
  /**
   * List the candidates, with what the strategy weighed for each, and the excluded accounts.
   * `false` leaves both lists empty and reports only the account, the reason and the strategy, at
   * what {@link pickAccount} costs: for a caller that logs only why (a proxy's access log), and asks
   * again with the lists when it needs them (no account could serve).
   * @default true
   */
  readonly candidates?: boolean | undefined;
}

/** Why an account was chosen: the pin, the conversation's sticky entry, or the strategy. */
export type PickReason = 'pinned' | 'sticky' | 'strategy' | 'none';

/** Why an account was not a candidate. */
export type ExclusionReason = 'tried' | 'disabled' | 'cooling' | 'exhausted';

/** A routing decision with everything needed to explain it in a log line or a report. */
export interface PickDecision<A extends Account> {
  /** The chosen account (the same object as in `accounts`), or null when none is eligible. */
  readonly account: A | null;
  /** What decided: the pin, stickiness, the strategy, or nothing was eligible. */
  readonly reason: PickReason;
  /** Name of the strategy in force (even when the pin or stickiness decided). */
  readonly strategy: string;
  /**
   * Eligible candidates in config order, with what the strategy weighed for each (when it explains).
   * When the strategy chose one with a full window (utilization ≥ 1, as on overage) while some had
   * room left, it chose again among those.
   */
  readonly candidates: ReadonlyArray<{
    readonly name: string;
    readonly explain: Readonly<Record<string, ExplainValue>>;
  }>;
  /** Accounts that were not candidates, and why. */
  readonly excluded: ReadonlyArray<{ readonly name: string; readonly why: ExclusionReason }>;
}

/**
 * Choose the account for one request: the pinned account if it is eligible, else the
 * conversation's sticky account if it is eligible, else the strategy's pick among the eligible
 * accounts (which then becomes the conversation's sticky account). Returns null when no account is
 * eligible. Eligible means: not in `tried`, not disabled, not cooling down and not exhausted.
 * Accounts with a full window (utilization ≥ 1: served on overage, or about to be rejected) are the
 * last resort: when the strategy picks one while other eligible accounts have room left, it picks
 * again among those, and a conversation leaves such an account for one with room left.
 *
 * This is the hot path: it computes no explanation. {@link explainPick} makes the same decision
 * (with the same writes) and says why.
 *
 * Differences from the seed, on purpose: a pinned account that is exhausted is skipped (the seed
 * routed to it anyway, earning a 429 per request); a sticky hit renews the TTL unless
 * `slidingSticky` is false; an unknown strategy name throws instead of falling back to Maximus;
 * every built-in strategy breaks ties towards the first account in config order.
 *
 * Throws a `TypeError` when two accounts share a name (the store keys all state by name, so they
 * would silently share cooldowns and quota), a `RangeError` for an invalid option or strategy
 * name, and an `Error` when the strategy returns something that is not one of the candidates.
 *
 * @example
 * ```ts
 * const account = pickAccount(accounts, store, { fingerprint: fingerprint(body), tried });
 * if (account === null) {
 *   const back = soonestAvailableMs(accounts, store); // hold the request until then, or answer 503
 * }
 * ```
 */
export function pickAccount<A extends Account>(
  accounts: readonly A[],
  store: StateStore,
  options: PickOptions = {},
): A | null {
  return decide(accounts, completeStore(store), options, undefined);
}

/**
 * Make the same decision as {@link pickAccount}, with the same side effects (sticky write,
 * round-robin counter), and report why: what decided, every candidate with what the strategy
 * weighed for it, and every excluded account with the first reason that applies (`tried`,
 * `disabled`, `cooling`, `exhausted`).
 */
export function explainPick<A extends Account>(
  accounts: readonly A[],
  store: StateStore,
  options: ExplainPickOptions = {},
): PickDecision<A> {
  const trace: Trace = { reason: 'none', strategy: '', candidates: [], excluded: [], weigh: options.candidates !== false };
  const account = decide(accounts, completeStore(store), options, trace);
  return { account, reason: trace.reason, strategy: trace.strategy, candidates: trace.candidates, excluded: trace.excluded };
}

/**
 * The earliest instant, in epoch milliseconds, at which some account that is not disabled becomes
 * eligible again: per account, the later of its cooldown's end and, when it is exhausted, the
 * reset of its rejected window(s). Returns `store.now()` when an account is eligible right now,
 * and null when every account is disabled (or the list is empty): waiting brings nothing back.
 *
 * Accounts in a request's `tried` set are not considered unavailable here: a held request starts
 * over with a fresh `tried` set.
 */
export function soonestAvailableMs(accounts: readonly Account[], store: StateStore): number | null {
  const complete = completeStore(store);
  const nowMs = complete.now();
  let soonest: number | null = null;
  for (const { name } of accounts) {
    if (complete.disabledReason(name) !== null) continue;
    let backMs = Math.max(nowMs, complete.cooldownUntilMs(name) ?? nowMs);
    if (complete.isExhausted(name)) {
      const resetMs = exhaustionEndMs(complete, name, nowMs);
      // A store that calls the account exhausted without saying until when: its return cannot be
      // predicted, so it does not count.
      if (resetMs === null) continue;
      backMs = Math.max(backMs, resetMs);
    }
    if (soonest === null || backMs < soonest) soonest = backMs;
    if (soonest === nowMs) break;
  }
  return soonest;
}

interface Trace {
  reason: PickReason;
  strategy: string;
  candidates: Array<PickDecision<Account>['candidates'][number]>;
  excluded: Array<PickDecision<Account>['excluded'][number]>;
  /** Whether to fill `candidates` and `excluded` (ExplainPickOptions.candidates). */
  readonly weigh: boolean;
}

const DEFAULT_STICKY_TTL_MS = 600_000;
const DEFAULT_EXPIRY_SOON_SECS = 1_800;
const NOTHING_WEIGHED: Readonly<Record<string, ExplainValue>> = Object.freeze({});
/** Account arrays already checked for duplicate names, with the length they had then. */
const checkedLength = new WeakMap<readonly Account[], number>();

/** The decision behind {@link pickAccount} and {@link explainPick}; fills `trace` when given. */
function decide<A extends Account>(
  accounts: readonly A[],
  store: CompleteStateStore,
  options: PickOptions,
  trace: Trace | undefined,
): A | null {
  const strategy = resolveStrategy(options.strategy ?? 'maximus');
  const stickyTtlMs = Math.max(
    nonNegative('stickyTtlMs', options.stickyTtlMs, DEFAULT_STICKY_TTL_MS),
    nonNegative('promptCacheTtlMs', options.promptCacheTtlMs, 0),
  );
  const expirySoonSecs = nonNegative('expirySoonSecs', options.expirySoonSecs, DEFAULT_EXPIRY_SOON_SECS);
  const fingerprint = options.fingerprint ?? null;
  const tried = options.tried;
  assertUniqueNames(accounts);
  const context: StrategyContext = { store, nowMs: store.now(), expirySoonSecs };

  let candidates: A[] | undefined;
  if (trace !== undefined) {
    trace.strategy = strategy.name;
    // Explanations first, while the state is exactly what the strategy will see.
    if (trace.weigh) candidates = classify(accounts, store, tried, strategy, context, trace);
  }

  // 1. The pin is the operator's explicit choice, but unlike the seed it does not override
  //    exhaustion: a pinned account whose window is rejected would only earn 429s.
  const pinned = store.getPinned();
  if (pinned !== null) {
    const account = byName(accounts, pinned);
    if (account !== undefined && isEligible(store, tried, account.name)) {
      if (trace !== undefined) trace.reason = 'pinned';
      return account;
    }
  }

  // 2. Keep a conversation on its account so the prompt cache keeps paying off.
  if (fingerprint !== null) {
    const stuck = store.getSticky(fingerprint);
    const account = stuck === null ? undefined : byName(accounts, stuck);
    // A conversation leaves an account whose window is full (served on overage, at a cost) only
    // when some eligible account has room left: moving between full accounts gains nothing.
    if (
      account !== undefined &&
      isEligible(store, tried, account.name) &&
      (!isFull(store, account.name) || !hasRoomLeft((candidates ??= eligibleOf(accounts, store, tried)), store))
    ) {
      if (options.slidingSticky !== false) store.setSticky(fingerprint, account.name, stickyTtlMs);
      if (trace !== undefined) trace.reason = 'sticky';
      return account;
    }
  }

  // 3. The strategy, over the eligible accounts in config order.
  candidates ??= eligibleOf(accounts, store, tried);
  if (!isNonEmpty(candidates)) return null;
  let chosen = strategy.pick(candidates, context);
  assertCandidate(strategy, chosen, candidates);
  // Accounts with a full window (served on overage, or about to be rejected) are the last resort:
  // when the strategy chose one while others have room left, it chooses again among those. Asked
  // only then, so the usual pick checks one account, not every candidate; for a strategy that
  // ranks accounts (every built-in but Carousel) this is the same as offering only those with room.
  if (isFull(store, chosen.name)) {
    const roomy = withRoomLeft(candidates, store);
    if (roomy !== candidates) {
      chosen = strategy.pick(roomy, context);
      assertCandidate(strategy, chosen, roomy);
    }
  }
  if (fingerprint !== null) store.setSticky(fingerprint, chosen.name, stickyTtlMs);
  if (trace !== undefined) trace.reason = 'strategy';
  return chosen;
}

/** The eligible accounts, recording every candidate's explanation and every exclusion's reason. */
function classify<A extends Account>(
  accounts: readonly A[],
  store: CompleteStateStore,
  tried: ReadonlySet<string> | undefined,
  strategy: Strategy,
  context: StrategyContext,
  trace: Trace,
): A[] {
  const candidates: A[] = [];
  for (const account of accounts) {
    const { name } = account;
    const why: ExclusionReason | null =
      tried?.has(name) === true
        ? 'tried'
        : store.disabledReason(name) !== null
          ? 'disabled'
          : !store.isAvailable(name)
            ? 'cooling'
            : store.isExhausted(name)
              ? 'exhausted'
              : null;
    if (why !== null) {
      trace.excluded.push({ name, why });
      continue;
    }
    candidates.push(account);
    trace.candidates.push({ name, explain: strategy.explain?.(account, context) ?? NOTHING_WEIGHED });
  }
  return candidates;
}

function assertCandidate<A extends Account>(strategy: Strategy, chosen: A, candidates: readonly A[]): void {
  if (!candidates.includes(chosen)) {
    throw new Error(
      `Strategy ${JSON.stringify(strategy.name)} returned ${describe(chosen)}, which is not one of its ${String(candidates.length)} candidates`,
    );
  }
}

/** The eligible accounts, in config order. */
function eligibleOf<A extends Account>(accounts: readonly A[], store: CompleteStateStore, tried: ReadonlySet<string> | undefined): A[] {
  const eligible: A[] = [];
  for (const account of accounts) if (isEligible(store, tried, account.name)) eligible.push(account);
  return eligible;
}

/** Whether some of `candidates` has no full window. */
function hasRoomLeft(candidates: readonly Account[], store: CompleteStateStore): boolean {
  for (const { name } of candidates) if (!isFull(store, name)) return true;
  return false;
}

/** A window at utilization ≥ 1: what a rejected window served on overage reads as (see `memoryStore`). */
function isFull(store: CompleteStateStore, name: string): boolean {
  return store.utilization5h(name) >= 1 || store.utilization7d(name) >= 1;
}

/**
 * The candidates with no full window, or all of them when every one has one. Called only once the
 * strategy chose a full one, so at least one is full.
 */
function withRoomLeft<A extends Account>(candidates: [A, ...A[]], store: CompleteStateStore): [A, ...A[]] {
  let full = 0;
  for (const { name } of candidates) if (isFull(store, name)) full++;
  if (full === candidates.length) return candidates;
  const roomy: A[] = [];
  for (const account of candidates) if (!isFull(store, account.name)) roomy.push(account);
  return roomy as [A, ...A[]];
}

function isEligible(store: CompleteStateStore, tried: ReadonlySet<string> | undefined, name: string): boolean {
  return tried?.has(name) !== true && store.isAvailable(name) && !store.isExhausted(name);
}

function byName<A extends Account>(accounts: readonly A[], name: string): A | undefined {
  for (const account of accounts) if (account.name === name) return account;
  return undefined;
}

function isNonEmpty<T>(items: T[]): items is [T, ...T[]] {
  return items.length > 0;
}

function nonNegative(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  // Number.isFinite, unlike the global isFinite, is false for every non-number (no coercion).
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`pickAccount: ${option} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function assertUniqueNames(accounts: readonly Account[]): void {
  // The proxy passes the same config array on every request: check it once (again if its length
  // changes), since the Set costs more than the whole strategy at thousands of accounts. Renaming
  // an account in place, in an array typed readonly, is the one change this does not notice.
  if (checkedLength.get(accounts) === accounts.length) return;
  const seen = new Set<string>();
  for (const { name } of accounts) {
    if (seen.has(name)) duplicateName(name);
    seen.add(name);
  }
  checkedLength.set(accounts, accounts.length);
}

function duplicateName(name: string): never {
  throw new TypeError(
    `pickAccount: two accounts are named ${JSON.stringify(name)}; names must be unique, because the store keeps cooldowns, quota and stickiness by name`,
  );
}

/** When an exhausted account's rejected windows have all reset, in epoch ms, or null if unknown. */
function exhaustionEndMs(store: CompleteStateStore, name: string, nowMs: number): number | null {
  const info = store.rateLimits(name);
  let endSecs: number | null = null;
  if (info !== null) {
    // Capped: a bogus reset years ahead must not make the wait years long.
    const r5 = cappedResetSecs(info, '5h');
    const r7 = cappedResetSecs(info, '7d');
    if (isWindowExhausted(info, '5h', nowMs) && r5 !== undefined) endSecs = r5;
    if (isWindowExhausted(info, '7d', nowMs) && r7 !== undefined) endSecs = Math.max(endSecs ?? 0, r7);
  }
  if (endSecs === null) {
    // A store with its own notion of exhaustion: assume it lasts until the later known reset.
    const r5 = store.reset5hSecs(name);
    const r7 = store.reset7dSecs(name);
    endSecs = r5 === null ? r7 : r7 === null ? r5 : Math.max(r5, r7);
  }
  return endSecs === null ? null : endSecs * 1000;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null && typeof (value as Account).name === 'string') {
    return `an account named ${JSON.stringify((value as Account).name)}`;
  }
  return String(value);
}
