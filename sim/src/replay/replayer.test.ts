import { strategies, type Strategy } from '@shunt/core';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { T0, poolArb, requestsArb, routingArb } from '../../test/arbitraries.js';
import type { StrategyReport } from '../report/metrics.js';
import { createReplayer, type PoolAccount, type ReplayRequest, type RoutingSettings } from './replayer.js';

const BUILT_INS: Strategy[] = Object.values(strategies);

function replay(strategy: Strategy, pool: readonly PoolAccount[], requests: readonly ReplayRequest[], routing: RoutingSettings): StrategyReport {
  const replayer = createReplayer({ strategy, pool, routing, startMs: T0, timelineStepMs: 600_000 });
  for (const request of requests) replayer.push(request);
  const end = (requests[requests.length - 1]?.arrivalMs ?? T0) + 3_600_000;
  return replayer.finish(end).report;
}

function withoutName(report: StrategyReport): Omit<StrategyReport, 'strategy'> {
  const { strategy: _, ...rest } = report;
  return rest;
}

describe('createReplayer', () => {
  it('should charge a conversation its cached prefix again where its cache is not live, and count the misses routing caused', () => {
    const big = { window5hCredits: 1_000, window7dCredits: 10_000 };
    const pool: PoolAccount[] = ['a', 'b'].map((name) => ({ name, capacity: big, start: { weeklyAnchorMs: null } }));
    const routing = { stickyTtlMs: 0, expirySoonSecs: 0, maxWaitMs: 0 };
    const turn = (seq: number, atMs: number): ReplayRequest => ({
      seq,
      arrivalMs: atMs,
      session: 's',
      credits5h: 1,
      credits7d: 1,
      cacheMissCredits: 10,
      cacheTtlMs: 300_000,
    });
    // Round-robin with no stickiness moves the conversation on every turn.
    const turns = [turn(0, T0), turn(1, T0 + 60_000), turn(2, T0 + 120_000), turn(3, T0 + 3_600_000)];
    const moved = replay(strategies.carousel, pool, turns, routing);
    // a, b, a, b. Turn 1: a miss nobody caused. Turn 2 on b: a held the live cache, routing's
    // fault. Turn 3 back on a, within its 5 minutes: a hit. Turn 4, an hour later: every cache has
    // expired, a miss that is not routing's fault.
    expect(moved.cacheMisses).toEqual({ routing: 1, credits: 10, all: 3 });
    expect(moved.accounts.reduce((sum, a) => sum + a.weeklyUse * 10_000, 0)).toBeCloseTo(4 + 30);
    const stuck = replay(strategies.carousel, pool, turns, { ...routing, stickyTtlMs: 600_000 });
    // Sticky: turns 2 and 3 read the cache where it lives.
    expect(stuck.cacheMisses).toEqual({ routing: 0, credits: 0, all: 2 });
  });

  test.prop([poolArb(), requestsArb(), routingArb])('should serve or fail every request, under every strategy', (pool, requests, routing) => {
    for (const strategy of BUILT_INS) {
      const report = replay(strategy, pool, requests, routing);
      expect(report.requests).toBe(requests.length);
      expect(report.served + report.failed).toBe(report.requests);
      expect(report.servedAfterHold).toBeLessThanOrEqual(report.held);
      expect(report.accounts.reduce((sum, a) => sum + a.served, 0)).toBe(report.served);
      expect(report.accounts.reduce((sum, a) => sum + a.rateLimited, 0)).toBe(report.rateLimited);
      expect(report.holdMs.max).toBeLessThanOrEqual(routing.maxWaitMs);
    }
  });

  test.prop([poolArb({ min: 1, max: 1 }), requestsArb(), routingArb])(
    'should give identical results under every strategy with one account',
    (pool, requests, routing) => {
      const [first, ...rest] = BUILT_INS.map((strategy) => withoutName(replay(strategy, pool, requests, routing)));
      for (const other of rest) expect(other).toEqual(first);
    },
  );

  test.prop([poolArb({ unlimited: true }), requestsArb(), routingArb])(
    'should never hold, fail or rate-limit with unlimited capacity',
    (pool, requests, routing) => {
      for (const strategy of BUILT_INS) {
        const report = replay(strategy, pool, requests, routing);
        expect(report).toMatchObject({ served: requests.length, failed: 0, held: 0, rateLimited: 0, exhaustedMinutes: 0 });
        expect(report.holdMs).toEqual({ total: 0, p50: 0, p95: 0, max: 0 });
      }
    },
  );

  test.prop([poolArb(), requestsArb(), routingArb], { numRuns: 30 })('should be deterministic', (pool, requests, routing) => {
    for (const strategy of BUILT_INS) {
      const replayer = () => {
        const r = createReplayer({ strategy, pool, routing, startMs: T0, timelineStepMs: 600_000 });
        for (const request of requests) r.push(request);
        return r.finish(T0 + 10 * 86_400_000);
      };
      expect(replayer()).toEqual(replayer());
    }
  });

  it('should hold a request until the soonest account returns, then serve it', () => {
    const pool: PoolAccount[] = [{ name: 'a', capacity: { window5hCredits: 1, window7dCredits: 100 }, start: { weeklyAnchorMs: null } }];
    const routing = { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 6 * 3_600_000 };
    const report = replay(
      strategies.maximus,
      pool,
      [
        { seq: 0, arrivalMs: T0, session: 's', credits5h: 1, credits7d: 1 },
        { seq: 1, arrivalMs: T0 + 60_000, session: 's', credits5h: 0.5, credits7d: 0.5 },
      ],
      routing,
    );
    // The second request earns a 429, waits for the 5-hour reset (+ the 500 ms margin), then is served.
    expect(report).toMatchObject({ served: 2, failed: 0, rateLimited: 1, held: 1, servedAfterHold: 1, switches: 0 });
    const expectedHoldMs = 5 * 3_600_000 - 60_000 + 500;
    expect(report.holdMs.max).toBe(expectedHoldMs);
    expect(report.exhaustedMinutes).toBeCloseTo(expectedHoldMs / 60_000, 1);
  });

  it('should fail a request at once when no account returns within the max wait', () => {
    const pool: PoolAccount[] = [{ name: 'a', capacity: { window5hCredits: 1, window7dCredits: 100 }, start: { weeklyAnchorMs: null } }];
    const routing = { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 };
    const report = replay(
      strategies.maximus,
      pool,
      [
        { seq: 0, arrivalMs: T0, session: null, credits5h: 1, credits7d: 1 },
        { seq: 1, arrivalMs: T0 + 1_000, session: null, credits5h: 1, credits7d: 1 },
        { seq: 2, arrivalMs: T0 + 2_000, session: null, credits5h: 1, credits7d: 1 },
      ],
      routing,
    );
    // One 429 teaches the store; the third request is refused without an attempt.
    expect(report).toMatchObject({ served: 1, failed: 2, held: 0, rateLimited: 1 });
  });

  it('should count a conversation that moves to another account as a switch', () => {
    const pool: PoolAccount[] = ['a', 'b'].map((name) => ({ name, capacity: { window5hCredits: 1, window7dCredits: 100 }, start: { weeklyAnchorMs: null } }));
    const routing = { stickyTtlMs: 600_000, expirySoonSecs: 1_800, maxWaitMs: 600_000 };
    const report = replay(
      strategies.maximus,
      pool,
      [
        { seq: 0, arrivalMs: T0, session: 's', credits5h: 1, credits7d: 1 },
        { seq: 1, arrivalMs: T0 + 1_000, session: 's', credits5h: 0.1, credits7d: 0.1 },
      ],
      routing,
    );
    // `a` is full after the first request, so the conversation moves to `b` before `a` answers a 429
    // (pickAccount leaves an account with a full window while another has room).
    expect(report).toMatchObject({ served: 2, rateLimited: 0, switches: 1 });
  });
});
