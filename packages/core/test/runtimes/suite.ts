/**
 * @module
 * What the runtime matrix runs on Bun, Deno, workerd and Chromium (scripts/test-runtimes.ts): the
 * published `@shunt/core/testing` suites and laws, registered exactly as a gateway's own test file
 * would, against the built `dist/` (the bundle aliases `@shunt/core` to it). `vitest` is aliased to
 * ./vitest-shim.ts, so the assertions are vitest's own.
 */
import fc from 'fast-check';
import {
  carousel,
  classifyResponse,
  cushion,
  fingerprint,
  maximus,
  memoryStore,
  pickAccount,
  reaper,
  recordResponse,
  type Strategy,
} from '@shunt/core';
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
    it('should fingerprint with the pure TypeScript SHA-256 (the digest node:crypto gives)', () => {
      const body = JSON.stringify({
        system: 'You are Claude Code.',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'fix the bug' }] }],
        tools: [{ name: 'Read' }, { name: 'Bash' }],
      });
      const expected = '3f61df75c1667b53c7ded8912db4fedff377bc0402bcb5d58163da57cfc7877f';
      expect(fingerprint(body)).toBe(expected);
      expect(fingerprint(new TextEncoder().encode(body))).toBe(expected);
    });

    it('should pick, classify a 429 and fail over on a virtual clock', () => {
      let t = 1_800_000_000_000;
      const store = memoryStore({ now: () => t });
      const accounts = [{ name: 'a' }, { name: 'b' }];
      expect(pickAccount(accounts, store)?.name).toBe('a');
      const action = classifyResponse(
        {
          status: 429,
          headers: {
            'anthropic-ratelimit-unified-5h-status': 'rejected',
            'anthropic-ratelimit-unified-5h-utilization': '1.01',
            'anthropic-ratelimit-unified-5h-reset': String(t / 1000 + 3600),
          },
        },
        { nowMs: t },
      );
      recordResponse(store, { name: 'a' }, action);
      expect(pickAccount(accounts, store)?.name).toBe('b');
      t += 3_601_000;
      expect(pickAccount(accounts, store)?.name).toBe('a');
    });
  });
}

/** A user-defined strategy, as in src/strategies/conformance.test.ts: the suite fits more than the built-ins. */
const least7d: Strategy = {
  name: 'least-7d',
  pick(candidates, { store }) {
    let best = candidates[0];
    for (const candidate of candidates) {
      if (store.utilization7d(candidate.name) < store.utilization7d(best.name)) best = candidate;
    }
    return best;
  },
  explain: (account, { store }) => ({ utilization7d: store.utilization7d(account.name) }),
};
