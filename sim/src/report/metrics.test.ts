import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createAccountModel } from '../model/account.js';
import { createMetrics } from './metrics.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const HOUR = 3_600_000;

function collector() {
  const accounts = ['a', 'b'].map((name) =>
    createAccountModel(name, { window5hCredits: 100, window7dCredits: 1_000 }, T0, { weeklyAnchorMs: null }),
  );
  return createMetrics({ accounts, maxWaitMs: 600_000 });
}

describe('createMetrics: conversation switches', () => {
  it('should count a conversation that runs on another account than last time, once per move', () => {
    const metrics = collector();
    metrics.served('s1', 'a', T0, 0);
    metrics.served('s2', 'b', T0 + 1, 0);
    metrics.served('s1', 'a', T0 + 2, 0);
    metrics.served('s1', 'b', T0 + 3, 0);
    metrics.served('s2', 'b', T0 + 4, 0);
    metrics.served('s1', 'a', T0 + 5, 0);
    metrics.served(null, 'a', T0 + 6, 0);
    expect(metrics.report('x', 7).switches).toBe(2);
  });

  it('should forget a conversation idle for 24 hours, so its next request is not a switch', () => {
    const metrics = collector();
    metrics.served('s1', 'a', T0, 0);
    metrics.served('s2', 'a', T0 + 23 * HOUR, 0);
    metrics.served('s2', 'b', T0 + 24 * HOUR - 1, 0); // 1 switch: s2 was served 1 h ago
    metrics.served('s1', 'b', T0 + 24 * HOUR, 0); // s1 idle exactly 24 h: forgotten
    expect(metrics.report('x', 4).switches).toBe(1);
  });

  // The recency list must agree with the plain definition: a switch is a request whose
  // conversation was last served, less than 24 hours earlier, by another account.
  test.prop([
    fc.array(fc.record({ session: fc.constantFrom('s1', 's2', 's3', 's4'), account: fc.constantFrom('a', 'b'), gapMs: fc.nat(30 * HOUR) }), {
      maxLength: 200,
    }),
  ])('should count exactly the switches a full history would', (events) => {
    const metrics = collector();
    const last = new Map<string, { account: string; atMs: number }>();
    let atMs = T0;
    let expected = 0;
    for (const e of events) {
      atMs += e.gapMs;
      const previous = last.get(e.session);
      if (previous !== undefined && previous.atMs > atMs - 24 * HOUR && previous.account !== e.account) expected++;
      last.set(e.session, { account: e.account, atMs });
      metrics.served(e.session, e.account, atMs, 0);
    }
    expect(metrics.report('x', events.length).switches).toBe(expected);
  });
});
