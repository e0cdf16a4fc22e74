/**
 * @module
 * Named, reusable fast-check laws for routing. Each `law…` returns a property; run it with
 * `fc.assert(lawNeverPicksIneligible(strategy))`. Scenarios come from `pool-arbitraries.ts`,
 * and eligibility is checked against `eligibleNames`, an oracle computed from the scenario rather
 * than read back from the store.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { explainPick, pickAccount, type PickOptions } from '../pick.js';
import { WINDOW_5H_SECS, WINDOW_7D_SECS, type RateLimitInfo } from '../rate-limits.js';
import { carousel, cushion, maximus, reaper } from '../strategies/index.js';
import type { Account, Strategy } from '../strategies/types.js';
import type { MemoryStore } from '../store/memory.js';
import {
  clockArb,
  cloneStore,
  eligibleNames,
  isEligibleAt,
  isFullIn,
  offeredNames,
  poolScenarioArb,
  rateLimitsArb,
  storeFor,
  type PoolScenario,
} from './pool-arbitraries.js';
import { referenceMaximusScore, referenceReaperBinding, windowsIn, type ReferencePick } from './reference-strategies.js';

/** The options a scenario implies for `pickAccount`. */
export function optionsFor(scenario: PoolScenario, strategy: Strategy, extra: PickOptions = {}): PickOptions {
  return { strategy, tried: scenario.tried, fingerprint: scenario.fingerprint, ...extra };
}

// ── Every strategy ─────────────────────────────────────────────────────────────────────────────

/** The pick is never tried, cooling, disabled or exhausted. */
export function lawNeverPicksIneligible(strategy: Strategy, scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const picked = pickAccount(scenario.accounts, store, optionsFor(scenario, strategy));
    if (picked !== null) expect(eligibleNames(scenario)).toContain(picked.name);
  });
}

/** The result is null exactly when no account is eligible. */
export function lawNullIffNoneEligible(strategy: Strategy, scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const picked = pickAccount(scenario.accounts, store, optionsFor(scenario, strategy));
    expect(picked === null).toBe(eligibleNames(scenario).length === 0);
  });
}

/** An eligible pinned account is always the pick. */
export function lawPinnedWinsWhenEligible(strategy: Strategy, scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const picked = pickAccount(scenario.accounts, store, optionsFor(scenario, strategy));
    const pinned = scenario.pinned;
    if (pinned !== null && scenario.accounts.some((a) => a.name === pinned) && isEligibleAt(scenario, pinned)) {
      expect(picked?.name).toBe(pinned);
    }
  });
}

/**
 * A conversation stays on the account it was routed to for as long as that account is eligible:
 * requests arriving less than the TTL apart (sliding) keep getting it, unless the pin takes over.
 */
export function lawStickyStaysPut(
  strategy: Strategy,
  scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb(),
): fc.IPropertyWithHooks<[PoolScenario, number[]]> {
  const gapsArb = fc.array(fc.integer({ min: 0, max: 599_999 }), { minLength: 1, maxLength: 6 });
  return fc.property(scenarios, gapsArb, (scenario, gaps) => {
    const { store, clock } = storeFor(scenario);
    const options = optionsFor(scenario, strategy, { fingerprint: 'conversation' });
    const first = pickAccount(scenario.accounts, store, options);
    if (first === null) return;
    for (const gap of gaps) {
      clock.t += gap;
      const picked = pickAccount(scenario.accounts, store, options);
      // Time only brings accounts back (cooldowns end, windows reset), so the sticky account is
      // still eligible; the pin may have become eligible and then rightly wins.
      const pinned = scenario.pinned;
      const pinWins =
        pinned !== null && scenario.accounts.some((a) => a.name === pinned) && isEligibleAt(scenario, pinned, clock.t);
      if (pinWins) {
        expect(picked?.name).toBe(pinned);
      } else if (isFullIn(store, first.name) && eligibleNames(scenario, clock.t).some((name) => !isFullIn(store, name))) {
        // A conversation on a full account (overage) moves once an account with room left exists.
        expect(picked !== null && !isFullIn(store, picked.name)).toBe(true);
        return;
      } else {
        expect(picked?.name).toBe(first.name);
      }
    }
  });
}

/** Two stores in the same state (snapshot/restore), asked the same thing, give the same picks. */
export function lawSameStateSamePick(strategy: Strategy, scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const twin = cloneStore(store, scenario.nowMs).store;
    const options = optionsFor(scenario, strategy);
    for (let i = 0; i < 3; i++) {
      expect(pickAccount(scenario.accounts, twin, options)?.name).toBe(pickAccount(scenario.accounts, store, options)?.name);
    }
  });
}

/**
 * `explainPick` makes the decision `pickAccount` makes, with the same writes; its candidates are
 * exactly the eligible accounts and, with the excluded ones, cover the pool once each. With
 * `candidates: false` it makes the same decision for the same reason, with the same writes, and
 * lists nothing.
 */
export function lawPickAndExplainAgree(strategy: Strategy, scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const twin = cloneStore(store, scenario.nowMs).store;
    const options = optionsFor(scenario, strategy);
    const picked = pickAccount(scenario.accounts, store, options);
    const decision = explainPick(scenario.accounts, twin, options);
    expect(decision.account).toBe(picked);
    expect(decision.reason === 'none').toBe(picked === null);
    expect(decision.strategy).toBe(strategy.name);
    expect(decision.candidates.map((c) => c.name)).toEqual(eligibleNames(scenario));
    expect([...decision.candidates.map((c) => c.name), ...decision.excluded.map((e) => e.name)].sort()).toEqual(
      scenario.accounts.map((a) => a.name).sort(),
    );
    expect(twin.snapshot()).toEqual(store.snapshot());
    // Without the lists (`candidates: false`): the same decision, reason and writes, nothing listed.
    const briefStore = storeFor(scenario).store;
    const brief = explainPick(scenario.accounts, briefStore, { ...options, candidates: false });
    expect(brief.account).toBe(picked);
    expect(brief).toEqual({ account: picked, reason: decision.reason, strategy: strategy.name, candidates: [], excluded: [] });
    expect(briefStore.snapshot()).toEqual(store.snapshot());
  });
}

// ── Maximus ────────────────────────────────────────────────────────────────────────────────────

/** Every Maximus score is in [0, 1], even with utilization above 1. */
export function lawMaximusScoreInUnitInterval(): fc.IPropertyWithHooks<[LimitsAt]> {
  return fc.property(limitsAtArb, ({ nowMs, info }) => {
    const score = maximusScore(nowMs, info);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
  });
}

/** Using more of either window never raises the Maximus score. */
export function lawMaximusNonIncreasingInUtilization(): fc.IPropertyWithHooks<[LimitsAt, number, boolean]> {
  return fc.property(limitsAtArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), ({ nowMs, info }, more, weekly) => {
    const key = weekly ? 'utilization7d' : 'utilization5h';
    const busier = { ...info, [key]: (info[key] ?? 0) + more };
    expect(maximusScore(nowMs, busier)).toBeLessThanOrEqual(maximusScore(nowMs, info));
  });
}

/** As time passes (resets draw nearer, then windows roll over) the Maximus score never falls. */
export function lawMaximusNonDecreasingOverTime(): fc.IPropertyWithHooks<[LimitsAt, number]> {
  return fc.property(limitsAtArb, fc.integer({ min: 0, max: 2 * WINDOW_7D_SECS * 1000 }), ({ nowMs, info }, elapsedMs) => {
    expect(maximusScore(nowMs + elapsedMs, info)).toBeGreaterThanOrEqual(maximusScore(nowMs, info));
  });
}

/** An account with no rate-limit data, or with nothing used, scores exactly 1. */
export function lawMaximusFreshScoresOne(): fc.IPropertyWithHooks<[LimitsAt]> {
  return fc.property(limitsAtArb, ({ nowMs, info }) => {
    expect(maximusScore(nowMs, null)).toBe(1);
    expect(maximusScore(nowMs, { ...info, utilization5h: 0, utilization7d: 0 })).toBe(1);
  });
}

/**
 * Maximus's score is docs/strategies.md's formula, computed by the reference model from the four
 * numbers the store reports (not by the code's own helpers).
 */
export function lawMaximusScoreIsTheFormula(): fc.IPropertyWithHooks<[LimitsAt]> {
  return fc.property(limitsAtArb, ({ nowMs, info }) => {
    const store = storeAt(nowMs);
    store.updateRateLimits('a', info);
    const explained = maximus.explain?.({ name: 'a' }, { store, nowMs, expirySoonSecs: 1800 });
    expect(explained?.['score']).toBe(referenceMaximusScore(windowsIn(store, 'a'), nowMs / 1000));
  });
}

// ── Cushion ────────────────────────────────────────────────────────────────────────────────────

/** Cushion's pick has the lexicographically smallest (binding, secondary), first in config order on ties. */
export function lawCushionPicksLexicographicMinimum(scenarios: fc.Arbitrary<PoolScenario> = fc.oneof(poolScenarioArb(), poolScenarioArb({ ties: true }))): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    const picked = pickAccount(scenario.accounts, store, optionsFor(scenario, cushion, { fingerprint: null }));
    if (picked === null || picked.name === scenario.pinned) return;
    const key = (name: string): [number, number] => {
      const u5 = store.utilization5h(name);
      const u7 = store.utilization7d(name);
      return [Math.max(u5, u7), Math.min(u5, u7)];
    };
    const [binding, secondary] = key(picked.name);
    const eligible = offeredNames(scenario, store);
    for (const name of eligible) {
      const [b, s] = key(name);
      expect(b < binding || (b === binding && s < secondary)).toBe(false);
    }
    // Among equal keys, the first in config order.
    const first = eligible.find((name) => key(name)[0] === binding && key(name)[1] === secondary);
    expect(picked.name).toBe(first);
  });
}

// ── Reaper ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Reaper marks an account expiring exactly when the reference says so (both directions), and
 * picks an expiring account whenever there is one.
 */
export function lawReaperPutsExpiringFirst(scenarios: fc.Arbitrary<PoolScenario> = fc.oneof(poolScenarioArb(), poolScenarioArb({ ties: true }))): fc.IPropertyWithHooks<[PoolScenario, number]> {
  return fc.property(scenarios, expiryHorizonArb, (scenario, expirySoonSecs) => {
    const { store } = storeFor(scenario);
    const decision = explainPick(scenario.accounts, store, optionsFor(scenario, reaper, { fingerprint: null, expirySoonSecs }));
    if (decision.reason !== 'strategy') return;
    const expected = (name: string): boolean =>
      referenceReaperBinding(windowsIn(store, name), scenario.nowMs / 1000, expirySoonSecs).expiring;
    for (const candidate of decision.candidates) expect(candidate.explain['expiring']).toBe(expected(candidate.name));
    // Accounts with a full window are the last resort (docs/strategies.md, overage): the expiring
    // rule applies among the accounts with room when there are any.
    const offered = offeredNames(scenario, store);
    if (decision.candidates.some((c) => offered.includes(c.name) && expected(c.name))) expect(expected(decision.account?.name ?? '')).toBe(true);
  });
}

// ── Every built-in strategy against its reference model ─────────────────────────────────────────

/**
 * The strategy's pick among the eligible accounts is the reference model's pick (test/reference-strategies.ts):
 * the documented formula and order, ties to the first in config order.
 */
export function lawPicksAsTheReference(
  strategy: Strategy,
  reference: ReferencePick,
  scenarios: fc.Arbitrary<PoolScenario> = fc.oneof(poolScenarioArb(), poolScenarioArb({ ties: true })),
): fc.IPropertyWithHooks<[PoolScenario, number]> {
  return fc.property(scenarios, expiryHorizonArb, (scenario, expirySoonSecs) => {
    const { store } = storeFor(scenario);
    // The counter the pick will consume, read on a twin because reading advances it.
    const counter = cloneStore(store, scenario.nowMs).store.nextRoundRobin();
    const decision = explainPick(scenario.accounts, store, optionsFor(scenario, strategy, { fingerprint: null, expirySoonSecs }));
    if (decision.reason !== 'strategy') return;
    const candidates = decision.candidates.map((c) => ({ name: c.name }));
    expect(candidates.map((c) => c.name)).toEqual(eligibleNames(scenario));
    const input = { windows: (name: string) => windowsIn(store, name), nowSecs: scenario.nowMs / 1000, expirySoonSecs, counter };
    let expected = reference(candidates as [Account, ...Account[]], input).name;
    // A full account is the last resort: when the pick lands on one while others have room, the
    // strategy is asked again among those (Carousel's counter moves on one more step).
    const offered = offeredNames(scenario, store);
    if (!offered.includes(expected)) {
      const roomy = candidates.filter((c) => offered.includes(c.name));
      expected = reference(roomy as [Account, ...Account[]], { ...input, counter: counter + 1 }).name;
    }
    expect(decision.account?.name).toBe(expected);
  });
}

// ── Carousel ───────────────────────────────────────────────────────────────────────────────────

/**
 * With nothing changing, n consecutive Carousel picks visit each of the n eligible accounts once;
 * when only some of them have a full window, every pick goes to one with room left.
 */
export function lawCarouselVisitsEachOncePerCycle(scenarios: fc.Arbitrary<PoolScenario> = poolScenarioArb()): fc.IPropertyWithHooks<[PoolScenario]> {
  return fc.property(scenarios, (scenario) => {
    const { store } = storeFor(scenario);
    store.setPinned(null);
    const eligible = eligibleNames(scenario);
    const offered = offeredNames(scenario, store);
    const options = optionsFor(scenario, carousel, { fingerprint: null });
    const visited = eligible.map(() => pickAccount(scenario.accounts, store, options)?.name);
    if (offered.length === eligible.length) expect([...visited].sort()).toEqual([...eligible].sort());
    else for (const name of visited) expect(offered).toContain(name);
  });
}

/** An instant and a rate-limit record whose resets are relative to it. */
export interface LimitsAt {
  readonly nowMs: number;
  readonly info: RateLimitInfo;
}

/** Reaper's horizon: the default, 0, and anything up to a whole 5-hour window. */
const expiryHorizonArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1800), fc.integer({ min: 0, max: WINDOW_5H_SECS }));

const limitsAtArb: fc.Arbitrary<LimitsAt> = clockArb.chain((nowMs) => rateLimitsArb(nowMs).map((info) => ({ nowMs, info })));

/** Maximus's score for an account holding `info` (or nothing), asked at `nowMs`. */
function maximusScore(nowMs: number, info: RateLimitInfo | null): number {
  const store = storeAt(nowMs);
  if (info !== null) store.updateRateLimits('a', info);
  const explained = maximus.explain?.({ name: 'a' }, { store, nowMs, expirySoonSecs: 1800 });
  return explained?.['score'] as number;
}

function storeAt(nowMs: number): MemoryStore {
  return storeFor({
    nowMs,
    accounts: [],
    states: {},
    tried: new Set(),
    pinned: null,
    fingerprint: null,
    sticky: null,
    roundRobin: 0,
  }).store;
}
