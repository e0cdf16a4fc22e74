/**
 * @module
 * The conformance suite every {@link Strategy} must pass, built-in or user-defined (in the spirit
 * of hono's `common.case.test.ts` for routers):
 *
 * ```ts
 * describeStrategy(myStrategy);
 * describeStrategy(experimental, { skip: { reason: 'waiting on #12' } });
 * describeStrategy(maximus, { reference: referenceStrategies.maximus });
 * ```
 *
 * The strategy is called directly, with candidates in any state, so the suite checks the
 * strategy's own contract rather than the router's filtering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RateLimitInfo } from '../rate-limits.js';
import type { MemoryStore, MemoryStoreSnapshot } from '../store/memory.js';
import type { Account, Strategy, StrategyContext } from '../strategies/types.js';
import { cloneStore, poolScenarioArb, storeFor } from './pool-arbitraries.js';
import { windowsIn, type ReferencePick } from './reference-strategies.js';

/**
 * Register the conformance suite for `strategy`; `skip` keeps it visible as skipped, with a reason;
 * `reference` (a model written from the documented formula, test/reference-strategies.ts) must
 * agree with every pick.
 */
export function describeStrategy(strategy: Strategy, options: { skip?: { reason: string }; reference?: ReferencePick } = {}): void {
  const { skip, reference } = options;
  const title = `strategy conformance: ${strategy.name}${skip === undefined ? '' : ` (skipped: ${skip.reason})`}`;

  describe.skipIf(skip !== undefined)(title, () => {
    it('should have a non-empty name', () => {
      expect(typeof strategy.name).toBe('string');
      expect(strategy.name.length).toBeGreaterThan(0);
    });

    it('should return one of the candidates, as the same object', () => {
      fc.assert(
        fc.property(poolScenarioArb(), expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          const candidates = nonEmpty(scenario.accounts);
          expect(candidates).toContain(strategy.pick(candidates, contextOf(store, expirySoonSecs)));
        }),
      );
    });

    it('should return the only candidate when there is one', () => {
      fc.assert(
        fc.property(poolScenarioArb({ maxAccounts: 1 }), expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          const only = { name: scenario.accounts[0]?.name ?? 'only' };
          expect(strategy.pick([only], contextOf(store, expirySoonSecs))).toBe(only);
        }),
      );
    });

    it('should pick the same account from the same store state', () => {
      fc.assert(
        fc.property(poolScenarioArb(), expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          // A clone, not a second call on the same store: Carousel's counter moves on each pick.
          const twin = cloneStore(store, scenario.nowMs).store;
          const candidates = nonEmpty(scenario.accounts);
          expect(strategy.pick(candidates, contextOf(store, expirySoonSecs))).toBe(
            strategy.pick(candidates, contextOf(twin, expirySoonSecs)),
          );
        }),
      );
    });

    // Only strategies that have a reference model get this check.
    if (reference !== undefined) it('should pick what its reference model picks, from candidates in any state', () => {
      const scenarios = fc.oneof(poolScenarioArb(), poolScenarioArb({ ties: true }));
      fc.assert(
        fc.property(scenarios, expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          const counter = cloneStore(store, scenario.nowMs).store.nextRoundRobin();
          const candidates = nonEmpty(scenario.accounts);
          const input = { windows: (name: string) => windowsIn(store, name), nowSecs: scenario.nowMs / 1000, expirySoonSecs, counter };
          expect(strategy.pick(candidates, contextOf(store, expirySoonSecs)).name).toBe(reference(candidates, input).name);
        }),
      );
    });

    it('should change no state but the round-robin counter, and explain() none at all', () => {
      fc.assert(
        fc.property(poolScenarioArb(), expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          const candidates = nonEmpty(scenario.accounts);
          const before = store.snapshot();
          strategy.pick(candidates, contextOf(store, expirySoonSecs));
          expect(withoutCounter(store.snapshot())).toEqual(withoutCounter(before));

          const afterPick = store.snapshot();
          for (const candidate of candidates) strategy.explain?.(candidate, contextOf(store, expirySoonSecs));
          expect(store.snapshot()).toEqual(afterPick);
        }),
      );
    });

    it('should explain with plain values only (number, string, boolean or null)', () => {
      fc.assert(
        fc.property(poolScenarioArb(), expirySoonArb, (scenario, expirySoonSecs) => {
          const { store } = storeFor(scenario);
          for (const account of scenario.accounts) {
            const explained = strategy.explain?.(account, contextOf(store, expirySoonSecs)) ?? {};
            for (const value of Object.values(explained)) {
              expect(value === null || ['number', 'string', 'boolean'].includes(typeof value)).toBe(true);
            }
          }
        }),
      );
    });

    it('should not throw on extreme inputs (utilization far above 1, resets far in the past or future)', () => {
      fc.assert(
        fc.property(poolScenarioArb(), fc.array(extremeLimitsArb, { minLength: 1, maxLength: 8 }), (scenario, extremes) => {
          const { store } = storeFor(scenario);
          scenario.accounts.forEach((account, i) => {
            const info = extremes[i % extremes.length];
            if (info !== undefined) store.updateRateLimits(account.name, info);
          });
          const candidates = nonEmpty(scenario.accounts);
          const context = contextOf(store, 1800);
          expect(candidates).toContain(strategy.pick(candidates, context));
          for (const candidate of candidates) strategy.explain?.(candidate, context);
        }),
      );
    });
  });
}

const expirySoonArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1800), fc.integer({ min: 0, max: 7 * 24 * 3600 }));

const extremeNumberArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1.01, 2, 1e9, Number.MAX_VALUE, Number.POSITIVE_INFINITY, -1),
  fc.double({ noNaN: true }),
);

const extremeLimitsArb: fc.Arbitrary<RateLimitInfo> = fc
  .record({
    utilization5h: extremeNumberArb,
    utilization7d: extremeNumberArb,
    reset5hSecs: fc.oneof(extremeNumberArb, fc.constantFrom(0, 4_102_444_800, 1e15)),
    reset7dSecs: fc.oneof(extremeNumberArb, fc.constantFrom(0, 4_102_444_800, 1e15)),
    status5h: fc.constantFrom('allowed', 'rejected'),
    status7d: fc.constantFrom('allowed', 'exhausted'),
  })
  .map((info) => ({ ...info, updatedMs: 0 }));

function contextOf(store: MemoryStore, expirySoonSecs: number): StrategyContext {
  return { store, nowMs: store.now(), expirySoonSecs };
}

function nonEmpty(accounts: readonly Account[]): readonly [Account, ...Account[]] {
  if (accounts.length === 0) throw new Error('scenario without accounts');
  return accounts as readonly [Account, ...Account[]];
}

function withoutCounter(snapshot: MemoryStoreSnapshot): Omit<MemoryStoreSnapshot, 'roundRobin'> {
  const { roundRobin: _, ...rest } = snapshot;
  return rest;
}
