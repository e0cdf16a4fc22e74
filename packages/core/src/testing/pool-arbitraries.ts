/**
 * @module
 * fast-check arbitraries for routing: account pools with unique names, per-account store state
 * (both rate-limit windows, cooldowns, disabled flags, exhaustion), the sticky map, the pin and a
 * clock; plus `storeFor` to load a scenario into a `memoryStore` and `eligibleNames`, an
 * independent oracle for which accounts may be picked.
 */
import fc from 'fast-check';
import { WINDOW_5H_SECS, WINDOW_7D_SECS, type RateLimitInfo } from '../rate-limits.js';
import { memoryStore, type MemoryStore } from '../store/memory.js';
import type { CompleteStateStore } from '../store/types.js';
import type { Account } from '../strategies/types.js';

/** What one account's store entry holds in a scenario. */
export interface AccountState {
  /** The merged rate-limit record, or absent for an account never seen (fresh). */
  readonly rateLimits?: RateLimitInfo;
  /** A cooldown running for this many ms from the scenario's `nowMs` (0 or absent: none). */
  readonly cooldownMs?: number;
  /** The disabled reason, or absent when enabled. */
  readonly disabled?: string;
}

/** A pool of accounts and everything a store remembers about them at one instant. */
export interface PoolScenario {
  /** The clock, in epoch milliseconds. */
  readonly nowMs: number;
  /** The accounts in config order, names unique. */
  readonly accounts: readonly Account[];
  /** State per account name (absent: nothing known). */
  readonly states: Readonly<Record<string, AccountState>>;
  /** Names already tried for this request. */
  readonly tried: ReadonlySet<string>;
  /** The pinned name (possibly not in `accounts`), or null. */
  readonly pinned: string | null;
  /** The request's fingerprint, or null. */
  readonly fingerprint: string | null;
  /** The sticky entry for `fingerprint`, if any: an account name and its remaining TTL. */
  readonly sticky: { readonly account: string; readonly ttlMs: number } | null;
  /** The round-robin counter's starting value. */
  readonly roundRobin: number;
}

/** A realistic clock: some instant in 2025–2030, not aligned to whole seconds. */
export const clockArb: fc.Arbitrary<number> = fc.integer({
  min: Date.parse('2025-01-01T00:00:00Z'),
  max: Date.parse('2030-01-01T00:00:00Z'),
});

/** Utilization as Anthropic reports it: mostly 0..1, sometimes a little above, with common values repeated so ties happen. */
export const utilizationArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 0.1, 0.5, 0.8, 1, 1.01),
  fc.double({ min: 0, max: 1.2, noNaN: true }),
);

/** A reset offset from now, in seconds: past (rolled over), imminent, inside and beyond the window. */
export function resetOffsetArb(windowSecs: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constantFrom(-60, 0, 1, 600, 1800, 3600, windowSecs),
    fc.integer({ min: -windowSecs, max: 2 * windowSecs }),
  );
}

/** A window status: mostly allowed, sometimes rejected (Anthropic) or exhausted (the seed's synthetic status). */
export const statusArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('allowed', 'allowed_warning') },
  { weight: 1, arbitrary: fc.constantFrom('rejected', 'exhausted') },
);

/**
 * Few distinct values, so that accounts tie on one key and a strategy's tie-breaks decide: the
 * resets are shared between both windows, so even the 5-hour and the weekly reset can coincide.
 */
const tiedUtilizationArb: fc.Arbitrary<number> = fc.constantFrom(0, 0.5, 1);
const tiedResetOffsetArb: fc.Arbitrary<number> = fc.constantFrom(-60, 600, 1800, 3600);

/**
 * A rate-limit record with both windows, any field possibly missing, resets relative to `nowMs`.
 * `ties` draws from a handful of values so that equal keys are common.
 */
export function rateLimitsArb(nowMs: number, options: { ties?: boolean } = {}): fc.Arbitrary<RateLimitInfo> {
  const nowSecs = Math.floor(nowMs / 1000);
  const ties = options.ties === true;
  const utilization = ties ? tiedUtilizationArb : utilizationArb;
  const resetOffset = (windowSecs: number): fc.Arbitrary<number> => (ties ? tiedResetOffsetArb : resetOffsetArb(windowSecs));
  return fc
    .record(
      {
        utilization5h: utilization,
        reset5hSecs: resetOffset(WINDOW_5H_SECS).map((offset) => nowSecs + offset),
        status5h: statusArb,
        utilization7d: utilization,
        reset7dSecs: resetOffset(WINDOW_7D_SECS).map((offset) => nowSecs + offset),
        status7d: statusArb,
      },
      { requiredKeys: ['utilization5h', 'utilization7d'] },
    )
    .map((info): RateLimitInfo => ({ ...info, updatedMs: nowMs }));
}

/** One account's state: usually usable, sometimes cooling, disabled or never seen. */
export function accountStateArb(nowMs: number, options: { ties?: boolean } = {}): fc.Arbitrary<AccountState> {
  return fc.record(
    {
      rateLimits: rateLimitsArb(nowMs, options),
      cooldownMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_600_000 }) }),
      disabled: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('health check failed') }),
    },
    { requiredKeys: ['cooldownMs'] },
  ).map((state) => (state.disabled === undefined ? withoutKey(state, 'disabled') : state));
}

/** Unique account names, including awkward ones a store must not confuse with object keys. */
export function accountNamesArb(options: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<string[]> {
  return fc.uniqueArray(
    fc.oneof(fc.constantFrom('work', 'personal', 'team-1', 'team-2', 'constructor', '__proto__'), fc.string({ minLength: 1, maxLength: 6 })),
    { minLength: options.minLength ?? 1, maxLength: options.maxLength ?? 8 },
  );
}

/**
 * A whole routing scenario: accounts, their states, `tried`, the pin, a fingerprint and its sticky
 * entry, the counter. `ties` makes accounts share utilizations and resets (see `rateLimitsArb`).
 */
export function poolScenarioArb(options: { minAccounts?: number; maxAccounts?: number; ties?: boolean } = {}): fc.Arbitrary<PoolScenario> {
  return fc
    .tuple(clockArb, accountNamesArb({ minLength: options.minAccounts ?? 1, maxLength: options.maxAccounts ?? 8 }))
    .chain(([nowMs, names]) => {
      const nameArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.constant('not-in-pool') });
      return fc.record({
        nowMs: fc.constant(nowMs),
        accounts: fc.constant(names.map((name) => ({ name }))),
        states: fc.tuple(...names.map(() => fc.option(accountStateArb(nowMs, { ties: options.ties === true }), { freq: 4 }))).map((states) => {
          const out: Record<string, AccountState> = {};
          states.forEach((state, i) => {
            if (state !== null) Object.defineProperty(out, names[i] as string, { value: state, enumerable: true });
          });
          return out;
        }),
        tried: fc.subarray(names, { maxLength: Math.max(0, names.length - 1) }).map((tried) => new Set(tried)),
        pinned: fc.option(nameArb, { freq: 3 }),
        fingerprint: fc.option(fc.constantFrom('conversation-1', 'conversation-2'), { freq: 3 }),
        sticky: fc.option(fc.record({ account: nameArb, ttlMs: fc.integer({ min: 1, max: 600_000 }) }), { freq: 2 }),
        roundRobin: fc.nat({ max: 1000 }),
      });
    });
}

/** A memoryStore on a mutable clock, loaded with everything `scenario` says. */
export function storeFor(scenario: PoolScenario): { store: MemoryStore; clock: { t: number } } {
  const clock = { t: scenario.nowMs };
  const store = memoryStore({ now: () => clock.t });
  for (const [name, state] of Object.entries(scenario.states)) {
    if (state.rateLimits !== undefined) store.updateRateLimits(name, state.rateLimits);
    if (state.cooldownMs !== undefined && state.cooldownMs > 0) store.setCooldown(name, state.cooldownMs);
    if (state.disabled !== undefined) store.disable(name, state.disabled);
  }
  store.setPinned(scenario.pinned);
  if (scenario.fingerprint !== null && scenario.sticky !== null) {
    store.setSticky(scenario.fingerprint, scenario.sticky.account, scenario.sticky.ttlMs);
  }
  for (let i = 0; i < scenario.roundRobin; i++) store.nextRoundRobin();
  return { store, clock };
}

/** A second store with the same state and its own clock at the same instant (via snapshot/restore). */
export function cloneStore(store: MemoryStore, nowMs: number): { store: MemoryStore; clock: { t: number } } {
  const clock = { t: nowMs };
  const copy = memoryStore({ now: () => clock.t });
  copy.restore(JSON.parse(JSON.stringify(store.snapshot())));
  return { store: copy, clock };
}

/**
 * The accounts that may be picked at `nowMs`, in config order, computed from the scenario alone
 * (not through the store), so laws check the router against an independent oracle.
 */
export function eligibleNames(scenario: PoolScenario, nowMs: number = scenario.nowMs): string[] {
  return scenario.accounts.map((a) => a.name).filter((name) => isEligibleAt(scenario, name, nowMs));
}

/**
 * The eligible accounts a strategy's pick lands on: those with no full window (utilization ≥ 1, as
 * the store reads it), or every eligible account when all of them (or none) have one.
 */
export function offeredNames(scenario: PoolScenario, store: CompleteStateStore, nowMs: number = scenario.nowMs): string[] {
  const eligible = eligibleNames(scenario, nowMs);
  const roomy = eligible.filter((name) => !isFullIn(store, name));
  return roomy.length === 0 ? eligible : roomy;
}

/** Whether the store reads a window of the account as full (utilization ≥ 1). */
export function isFullIn(store: CompleteStateStore, name: string): boolean {
  return store.utilization5h(name) >= 1 || store.utilization7d(name) >= 1;
}

/** Whether one account may be picked at `nowMs`, per the scenario alone. */
export function isEligibleAt(scenario: PoolScenario, name: string, nowMs: number = scenario.nowMs): boolean {
  if (scenario.tried.has(name)) return false;
  const state = Object.hasOwn(scenario.states, name) ? scenario.states[name] : undefined;
  if (state === undefined) return true;
  if (state.disabled !== undefined) return false;
  if (state.cooldownMs !== undefined && state.cooldownMs > 0 && nowMs < scenario.nowMs + state.cooldownMs) return false;
  const info = state.rateLimits;
  if (info === undefined) return true;
  const rejected = (status: string | undefined, reset: number | undefined): boolean =>
    (status === 'rejected' || status === 'exhausted') && reset !== undefined && reset * 1000 > nowMs;
  return !rejected(info.status5h, info.reset5hSecs) && !rejected(info.status7d, info.reset7dSecs);
}

function withoutKey<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  const { [key]: _, ...rest } = value;
  return rest;
}
