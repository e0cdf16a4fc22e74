/**
 * @module
 * What the runtime matrix runs on Bun, Deno, workerd and Chromium (scripts/test-runtimes.ts): the
 * published `@shunt/core/testing` suites and laws, registered exactly as a gateway's own test file
 * would, against the built `dist/` (the bundle aliases `@shunt/core` to it). `vitest` is aliased to
 * ./vitest-shim.ts, so the assertions are vitest's own.
 */
import fc from 'fast-check';
import * as core from '@shunt/core';
import { carousel, cushion, maximus, memoryStore, reaper, type Strategy } from '@shunt/core';
import {
  describeStateStore,
  describeStrategy,
  lawNeverPicksIneligible,
  lawNullIffNoneEligible,
  lawPickAndExplainAgree,
  lawPinnedWinsWhenEligible,
  lawSameStateSamePick,
  lawStickyStaysPut,
} from '@shunt/core/testing';
// The shim itself, not `vitest`: the bundle aliases `vitest` to the same file, so the suites register here.
import { failoverOnAVirtualClock, least7d, SAMPLE_BODY, SAMPLE_FINGERPRINT, SKIM_BODY } from './scenarios.js';
import { describe, expect, it, runRegistered, type RunResult } from './vitest-shim.js';

/** What one runtime reports back: the counts, and where it ran. */
export interface RuntimeReport extends RunResult {
  readonly runtime: string;
  readonly numRuns: number;
}

const builtIns: readonly Strategy[] = [maximus, cushion, reaper, carousel];

/** Register every suite and law, run them with `numRuns` cases per property, and report. */
export async function runConformance(runtime: string, numRuns = 100): Promise<RuntimeReport> {
  // Like test/setup.ts for `pnpm test`; no time limit, so a slow runtime fails on a check, not a clock.
  fc.configureGlobal({ numRuns });
  registerAll();
  return { runtime, numRuns, ...(await runRegistered()) };
}

function registerAll(): void {
  describe('harness', () => {
    // The shim must be able to fail: a passing run is only worth something if this one holds.
    it('should throw from a failing expect', () => {
      let threw = false;
      try {
        expect(1).toBe(2);
      } catch {
        threw = true;
      }
      if (!threw) throw new Error('expect(1).toBe(2) did not throw');
    });
  });

  for (const strategy of builtIns) describeStrategy(strategy);
  describeStrategy(least7d);

  describeStateStore('memoryStore', (clock) => memoryStore({ now: clock.now }));
  describeStateStore('memoryStore restored from a JSON snapshot', (clock) => {
    const restored = memoryStore({ now: clock.now });
    restored.restore(JSON.parse(JSON.stringify(memoryStore({ now: clock.now }).snapshot())));
    return restored;
  });

  for (const strategy of builtIns) {
    describe(`routing laws: ${strategy.name}`, () => {
      it('should never pick an account that is tried, cooling, disabled or exhausted', () => fc.assert(lawNeverPicksIneligible(strategy)));
      it('should return null exactly when no account is eligible', () => fc.assert(lawNullIffNoneEligible(strategy)));
      it('should pick the pinned account whenever it is eligible', () => fc.assert(lawPinnedWinsWhenEligible(strategy)));
      it('should keep a conversation on its account while that account is eligible', () => fc.assert(lawStickyStaysPut(strategy)));
      it('should pick the same accounts from two stores in the same state', () => fc.assert(lawSameStateSamePick(strategy)));
      it('should make the same decision in pickAccount and explainPick', () => fc.assert(lawPickAndExplainAgree(strategy)));
    });
  }

  describe('the runtime itself', () => {
    it('should fingerprint with the pure TypeScript SHA-256 or the native one, to the same digest', () => {
      expect(core.fingerprint(SAMPLE_BODY)).toBe(SAMPLE_FINGERPRINT);
      expect(core.fingerprint(new TextEncoder().encode(SAMPLE_BODY))).toBe(SAMPLE_FINGERPRINT);
    });

    it('should skim a body with the runtime byte search (validate: false) to the same digest', () => {
      for (const body of [SKIM_BODY, new TextEncoder().encode(SKIM_BODY)]) {
        expect(core.fingerprint(body)).toBe(SAMPLE_FINGERPRINT);
        expect(core.fingerprint(body, { validate: false })).toBe(SAMPLE_FINGERPRINT);
      }
    });

    it('should pick, classify a 429 and fail over on a virtual clock', () => {
      expect(failoverOnAVirtualClock(core)).toEqual(['a', 'b', 'a']);
    });
  });
}
