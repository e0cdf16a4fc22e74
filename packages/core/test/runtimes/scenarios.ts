/**
 * @module
 * Scenarios that need the whole package, shared by the `node:vm` realm test
 * (test/portability-vm.test.ts, on the source), the runtime matrix (./suite.ts, on `dist/`) and the
 * conformance tests. Each takes the package as an argument, so it runs on whichever copy the
 * caller loaded.
 */
import type * as Core from '../../src/index.js';
import type { Strategy } from '../../src/index.js';

type CoreApi = Pick<typeof Core, 'classifyResponse' | 'memoryStore' | 'pickAccount' | 'recordResponse'>;

/** A user-defined strategy, to prove the suites (and the seam) fit more than the built-ins. */
export const least7d: Strategy = {
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

/** A Claude Code-like request body. */
export const SAMPLE_BODY: string = JSON.stringify({
  system: 'You are Claude Code.',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'fix the bug' }] }],
  tools: [{ name: 'Read' }, { name: 'Bash' }],
});

/**
 * SAMPLE_BODY's conversation with a later message the fingerprint skips: long (past the 32 bytes the
 * skim reads in JS before the runtime's byte search) and full of escaped quotes behind backslash runs.
 */
export const SKIM_BODY: string = JSON.stringify({
  system: 'You are Claude Code.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'fix the bug' }] },
    { role: 'assistant', content: `${'say "hi" \\ then \\"quote\\" '.repeat(20)}done` },
  ],
  tools: [{ name: 'Read' }, { name: 'Bash' }],
});

/** SAMPLE_BODY's fingerprint: node:crypto's SHA-256 of "You are Claude Code.\0fix the bug\0Bash,Read". */
export const SAMPLE_FINGERPRINT = '3f61df75c1667b53c7ded8912db4fedff377bc0402bcb5d58163da57cfc7877f';

/**
 * Two accounts on a virtual clock: pick, a 429 that spends the first one's 5-hour window, pick
 * again, then pick an hour later. Returns the three picks; a correct package gives a, b, a.
 */
export function failoverOnAVirtualClock(core: CoreApi): (string | undefined)[] {
  let t = 1_800_000_000_000;
  const store = core.memoryStore({ now: () => t });
  const accounts = [{ name: 'a' }, { name: 'b' }];
  const picks = [core.pickAccount(accounts, store)?.name];
  const action = core.classifyResponse(
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
  core.recordResponse(store, { name: 'a' }, action);
  picks.push(core.pickAccount(accounts, store)?.name);
  t += 3_601_000;
  picks.push(core.pickAccount(accounts, store)?.name);
  return picks;
}
