/**
 * The {@link StateStore} contract as a reusable suite, in the style of unstorage's `testDriver()`:
 * every store implementation (memory, Redis-backed, …) calls {@link describeStateStore} from its
 * own test file. It checks only what the interface promises, on an injected clock, so it holds for
 * a store whose internals look nothing like `memoryStore`.
 *
 * The suite reads and writes through `completeStore(store)`: an optional method the store has is
 * tested as the store's own, one it lacks as core's fallback, so a store with only the required
 * methods passes too.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitInfo } from '../rate-limits.js';
import { completeStore } from '../store/complete.js';
import { isExhaustedAt, resetSecsAt, utilizationAt } from '../store/readings.js';
import type { CompleteStateStore, StateStore } from '../store/types.js';
import { rateLimitsArb } from './pool-arbitraries.js';

/** A manual clock handed to the store factory: the suite moves time, nothing sleeps. */
export interface TestClock {
  /** Current time, in epoch milliseconds. */
  now(): number;
  /** Move time forward by `ms` milliseconds. */
  advance(ms: number): void;
}

/** Options for {@link describeStateStore}. */
export interface DescribeStateStoreOptions {
  /** Register the suite as skipped, e.g. when the backing service is not reachable. */
  readonly skip?: { readonly reason: string } | undefined;
}

/** Where every test's clock starts: 2026-01-01T00:00:00Z (a whole second, so resets line up). */
const START_MS = Date.UTC(2026, 0, 1);
const START_SECS = START_MS / 1000;

/**
 * Register a `describe` block that runs the whole {@link StateStore} contract against stores made
 * by `create`. `create` is called once per test with a fresh clock and must return an empty store
 * reading time from it. The store needs only the required methods; each optional one it has must
 * keep the contract, and its readings (`isExhausted`, `utilization5h`, …) must equal what core
 * derives from `rateLimits`.
 */
export function describeStateStore(
  name: string,
  create: (clock: TestClock) => StateStore | Promise<StateStore>,
  options: DescribeStateStoreOptions = {},
): void {
  const skip = options.skip;
  // Skipped, the whole suite stays visible (each test reported as skipped), with the reason in its title.
  const title = `StateStore contract: ${name}${skip === undefined ? '' : ` (skipped: ${skip.reason})`}`;

  describe.skipIf(skip !== undefined)(title, () => {
    let clock: TestClock;
    /** The store as `create` made it. */
    let own: StateStore;
    /** The same store through `completeStore`: its own methods, core's fallbacks for the rest. */
    let store: CompleteStateStore;

    beforeEach(async () => {
      let t = START_MS;
      clock = {
        now: () => t,
        advance: (ms) => {
          t += ms;
        },
      };
      own = await create(clock);
      // Throws, naming the method, when a required one is missing or a group is incomplete.
      store = completeStore(own);
    });

    const info = (fields: Omit<RateLimitInfo, 'updatedMs'>): RateLimitInfo => ({ ...fields, updatedMs: clock.now() });

    describe('clock', () => {
      it('should read time from the injected clock', () => {
        expect(store.now()).toBe(START_MS);
        clock.advance(1234);
        expect(store.now()).toBe(START_MS + 1234);
      });
    });

    describe('an account it has never seen', () => {
      it('should be available, not exhausted, and know nothing', () => {
        expect(store.isAvailable('new')).toBe(true);
        expect(store.isExhausted('new')).toBe(false);
        expect(store.utilization5h('new')).toBe(0);
        expect(store.utilization7d('new')).toBe(0);
        expect(store.reset5hSecs('new')).toBeNull();
        expect(store.reset7dSecs('new')).toBeNull();
        expect(store.rateLimits('new')).toBeNull();
        expect(store.cooldownUntilMs('new')).toBeNull();
        expect(store.disabledReason('new')).toBeNull();
      });
    });

    describe('rate limits', () => {
      it('should return the record it was given', () => {
        const record = info({ utilization5h: 0.4, reset5hSecs: START_SECS + 3600, status5h: 'allowed', representativeClaim: 'five_hour' });
        store.updateRateLimits('a', record);
        expect(store.rateLimits('a')).toEqual(record);
      });

      it('should merge a later record field by field', () => {
        store.updateRateLimits('a', info({ utilization5h: 0.4, reset5hSecs: START_SECS + 3600, utilization7d: 0.1, reset7dSecs: START_SECS + 86_400 }));
        clock.advance(1000);
        store.updateRateLimits('a', info({ utilization5h: 0.5, status7d: 'allowed_warning' }));
        expect(store.rateLimits('a')).toEqual({
          utilization5h: 0.5,
          reset5hSecs: START_SECS + 3600,
          utilization7d: 0.1,
          reset7dSecs: START_SECS + 86_400,
          status7d: 'allowed_warning',
          updatedMs: START_MS + 1000,
        });
      });

      it('should report utilization and resets while the window runs', () => {
        store.updateRateLimits('a', info({ utilization5h: 0.7, reset5hSecs: START_SECS + 60, utilization7d: 1.01, reset7dSecs: START_SECS + 600 }));
        expect(store.utilization5h('a')).toBe(0.7);
        expect(store.utilization7d('a')).toBe(1.01);
        expect(store.reset5hSecs('a')).toBe(START_SECS + 60);
        expect(store.reset7dSecs('a')).toBe(START_SECS + 600);
      });

      it('should report utilization 0 and no reset once a window has reset', () => {
        store.updateRateLimits('a', info({ utilization5h: 0.7, reset5hSecs: START_SECS + 60, utilization7d: 0.3, reset7dSecs: START_SECS + 600 }));
        clock.advance(59_999);
        expect(store.utilization5h('a')).toBe(0.7);
        expect(store.reset5hSecs('a')).toBe(START_SECS + 60);
        clock.advance(1);
        expect(store.utilization5h('a')).toBe(0);
        expect(store.reset5hSecs('a')).toBeNull();
        expect(store.utilization7d('a')).toBe(0.3);
        clock.advance(540_000);
        expect(store.utilization7d('a')).toBe(0);
        expect(store.reset7dSecs('a')).toBeNull();
      });

      it('should report a utilization without a reset as is', () => {
        store.updateRateLimits('a', info({ utilization7d: 0.25 }));
        expect(store.utilization7d('a')).toBe(0.25);
        expect(store.reset7dSecs('a')).toBeNull();
      });

      it('should keep the stored record after its windows reset', () => {
        const record = info({ utilization5h: 0.7, reset5hSecs: START_SECS + 1 });
        store.updateRateLimits('a', record);
        clock.advance(10_000);
        expect(store.rateLimits('a')).toEqual(record);
      });

      it('should keep accounts apart', () => {
        store.updateRateLimits('a', info({ utilization5h: 0.9, reset5hSecs: START_SECS + 60 }));
        expect(store.utilization5h('b')).toBe(0);
        expect(store.rateLimits('b')).toBeNull();
      });
    });

    describe('optional readings', () => {
      it('should read exactly what core derives from rateLimits and now', (context) => {
        const readings = READINGS.filter((name) => own[name] !== undefined);
        if (readings.length === 0) context.skip('the store has none: core derives them');
        let runs = 0;
        fc.assert(
          fc.property(rateLimitsArb(clock.now()), fc.integer({ min: -2000, max: 8 * 86_400_000 }), (record, laterMs) => {
            // A fresh account per run, on a clock that only moves forward (stores may not go back).
            const name = `reading-${String(runs++)}`;
            const shift = clock.now() - record.updatedMs;
            store.updateRateLimits(name, shiftRecord(record, shift));
            clock.advance(Math.max(0, laterMs));
            const info = store.rateLimits(name);
            expect(info).not.toBeNull();
            const derived = derive(info as RateLimitInfo, clock.now());
            for (const reading of readings) expect({ reading, value: store[reading](name) }).toEqual({ reading, value: derived[reading] });
          }),
          { numRuns: 50 },
        );
      });
    });

    describe('exhaustion', () => {
      it.each(['rejected', 'exhausted'])('should be exhausted while a %s window has not reset', (status) => {
        store.updateRateLimits('a', info({ status5h: status, reset5hSecs: START_SECS + 60 }));
        store.updateRateLimits('b', info({ status7d: status, reset7dSecs: START_SECS + 60 }));
        expect(store.isExhausted('a')).toBe(true);
        expect(store.isExhausted('b')).toBe(true);
        clock.advance(60_000);
        expect(store.isExhausted('a')).toBe(false);
        expect(store.isExhausted('b')).toBe(false);
      });

      it.each(['allowed', 'allowed_warning'])('should not be exhausted with status %s, whatever the utilization', (status) => {
        store.updateRateLimits('a', info({ status5h: status, utilization5h: 1.2, reset5hSecs: START_SECS + 60 }));
        expect(store.isExhausted('a')).toBe(false);
      });

      it('should not be exhausted by a rejected window without a reset', () => {
        store.updateRateLimits('a', info({ status5h: 'rejected' }));
        expect(store.isExhausted('a')).toBe(false);
      });

      it('should keep exhaustion apart from availability', () => {
        store.updateRateLimits('a', info({ status7d: 'rejected', reset7dSecs: START_SECS + 3600 }));
        expect(store.isExhausted('a')).toBe(true);
        expect(store.isAvailable('a')).toBe(true);
      });
    });

    describe('cooldown', () => {
      it('should make an account unavailable until the deadline', () => {
        store.setCooldown('a', 30_000);
        expect(store.isAvailable('a')).toBe(false);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 30_000);
        clock.advance(29_999);
        expect(store.isAvailable('a')).toBe(false);
        clock.advance(1);
        expect(store.isAvailable('a')).toBe(true);
        expect(store.cooldownUntilMs('a')).toBeNull();
      });

      it('should keep the later deadline when a shorter cooldown follows', () => {
        store.setCooldown('a', 60_000);
        clock.advance(10_000);
        store.setCooldown('a', 5000);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 60_000);
      });

      it('should extend to a later deadline', () => {
        store.setCooldown('a', 5000);
        store.setCooldown('a', 60_000);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 60_000);
      });

      it('should start a new cooldown after the last one ended', () => {
        store.setCooldown('a', 1000);
        clock.advance(5000);
        store.setCooldown('a', 1000);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 6000);
      });

      it('should not cool at all for 0 ms', () => {
        store.setCooldown('a', 0);
        expect(store.isAvailable('a')).toBe(true);
        expect(store.cooldownUntilMs('a')).toBeNull();
      });

      it('should end on clearCooldown', () => {
        store.setCooldown('a', 60_000);
        store.clearCooldown('a');
        expect(store.isAvailable('a')).toBe(true);
        expect(store.cooldownUntilMs('a')).toBeNull();
        store.setCooldown('a', 1000);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 1000);
      });

      it('should accept clearCooldown on an unknown account', () => {
        store.clearCooldown('nobody');
        expect(store.isAvailable('nobody')).toBe(true);
      });

      it('should cool one account only', () => {
        store.setCooldown('a', 60_000);
        expect(store.isAvailable('b')).toBe(true);
        expect(store.cooldownUntilMs('b')).toBeNull();
      });
    });

    describe('recordFault (optional)', () => {
      const recordFault = (name: string, requestKey: string, windowMs = 60_000): number => store.recordFault(name, requestKey, windowMs);

      it('should count distinct failing requests, each once', () => {
        expect(recordFault('a', 'r1')).toBe(1);
        expect(recordFault('a', 'r1')).toBe(1);
        expect(recordFault('a', 'r2')).toBe(2);
        expect(recordFault('a', 'r1')).toBe(2);
        expect(recordFault('a', 'r3')).toBe(3);
      });

      it('should keep accounts apart', () => {
        recordFault('a', 'r1');
        recordFault('a', 'r2');
        expect(recordFault('b', 'r1')).toBe(1);
      });

      it('should count a failure exactly windowMs old, and forget it 1 ms later', () => {
        recordFault('a', 'r1');
        clock.advance(60_000);
        expect(recordFault('a', 'r2')).toBe(2);
        clock.advance(1);
        expect(recordFault('a', 'r3')).toBe(2);
      });

      it('should count a request that failed again from its latest failure', () => {
        recordFault('a', 'r1');
        clock.advance(50_000);
        recordFault('a', 'r1');
        clock.advance(50_000);
        expect(recordFault('a', 'r2')).toBe(2);
      });

      it('should count within the window of the call', () => {
        recordFault('a', 'r1');
        clock.advance(30_000);
        expect(recordFault('a', 'r2', 10_000)).toBe(1);
        expect(recordFault('a', 'r3', 0)).toBe(2);
      });

      it('should count at least 64 distinct requests', () => {
        let count = 0;
        for (let i = 0; i < 64; i++) count = recordFault('a', `r${String(i)}`);
        expect(count).toBe(64);
      });

      it('should change neither availability nor cooldowns', () => {
        recordFault('a', 'r1');
        recordFault('a', 'r2');
        expect(store.isAvailable('a')).toBe(true);
        expect(store.cooldownUntilMs('a')).toBeNull();
      });
    });

    describe('disable (optional)', () => {
      it('should make an account unavailable until enabled, with the reason kept', () => {
        store.disable('a', 'auth failed');
        expect(store.isAvailable('a')).toBe(false);
        expect(store.disabledReason('a')).toBe('auth failed');
        clock.advance(86_400_000);
        expect(store.isAvailable('a')).toBe(false);
        store.enable('a');
        expect(store.isAvailable('a')).toBe(true);
        expect(store.disabledReason('a')).toBeNull();
      });

      it('should give some reason when none is passed', () => {
        store.disable('a');
        expect(typeof store.disabledReason('a')).toBe('string');
      });

      it('should replace the reason when disabled again', () => {
        store.disable('a', 'first');
        store.disable('a', 'second');
        expect(store.disabledReason('a')).toBe('second');
      });

      it('should leave a running cooldown in place when enabled', () => {
        store.setCooldown('a', 60_000);
        store.disable('a', 'x');
        store.enable('a');
        expect(store.isAvailable('a')).toBe(false);
        expect(store.cooldownUntilMs('a')).toBe(START_MS + 60_000);
      });

      it('should keep a disabled account unavailable after its cooldown ends', () => {
        store.disable('a', 'x');
        store.setCooldown('a', 1000);
        clock.advance(1000);
        expect(store.isAvailable('a')).toBe(false);
      });

      it('should accept enable on an unknown account', () => {
        store.enable('nobody');
        expect(store.isAvailable('nobody')).toBe(true);
        expect(store.disabledReason('nobody')).toBeNull();
      });

      it('should disable one account only', () => {
        store.disable('a', 'x');
        expect(store.isAvailable('b')).toBe(true);
      });
    });

    describe('sticky', () => {
      it('should remember a conversation until its TTL runs out', () => {
        expect(store.getSticky('fp')).toBeNull();
        store.setSticky('fp', 'a', 500);
        expect(store.getSticky('fp')).toBe('a');
        clock.advance(499);
        expect(store.getSticky('fp')).toBe('a');
        clock.advance(1);
        expect(store.getSticky('fp')).toBeNull();
      });

      it('should replace an entry, account and TTL both', () => {
        store.setSticky('fp', 'a', 60_000);
        store.setSticky('fp', 'b', 1000);
        expect(store.getSticky('fp')).toBe('b');
        clock.advance(1000);
        expect(store.getSticky('fp')).toBeNull();
      });

      it('should renew an expired entry when set again', () => {
        store.setSticky('fp', 'a', 1000);
        clock.advance(2000);
        store.setSticky('fp', 'a', 1000);
        expect(store.getSticky('fp')).toBe('a');
      });

      it('should keep conversations apart', () => {
        store.setSticky('fp1', 'a', 60_000);
        store.setSticky('fp2', 'b', 60_000);
        expect(store.getSticky('fp1')).toBe('a');
        expect(store.getSticky('fp2')).toBe('b');
        expect(store.getSticky('fp3')).toBeNull();
      });

      it('should not let stickiness change availability', () => {
        store.setSticky('fp', 'a', 60_000);
        store.setCooldown('a', 60_000);
        expect(store.getSticky('fp')).toBe('a');
        expect(store.isAvailable('a')).toBe(false);
      });
    });

    describe('pinned, last used and round robin (optional)', () => {
      it('should pin and unpin', () => {
        expect(store.getPinned()).toBeNull();
        store.setPinned('a');
        expect(store.getPinned()).toBe('a');
        store.setPinned('b');
        expect(store.getPinned()).toBe('b');
        store.setPinned(null);
        expect(store.getPinned()).toBeNull();
      });

      it('should remember the last account used', () => {
        expect(store.getLastUsed()).toBeNull();
        store.setLastUsed('a');
        expect(store.getLastUsed()).toBe('a');
        store.setLastUsed('b');
        expect(store.getLastUsed()).toBe('b');
      });

      it('should count round robin up from 0', () => {
        expect([store.nextRoundRobin(), store.nextRoundRobin(), store.nextRoundRobin()]).toEqual([0, 1, 2]);
      });

      it('should keep the pin, last used and counter independent of time', () => {
        store.setPinned('a');
        store.setLastUsed('b');
        store.nextRoundRobin();
        clock.advance(30 * 86_400_000);
        expect(store.getPinned()).toBe('a');
        expect(store.getLastUsed()).toBe('b');
        expect(store.nextRoundRobin()).toBe(1);
      });
    });
  });
}

/** The optional readings a store may answer itself, which must equal what core derives. */
const READINGS = ['isExhausted', 'utilization5h', 'utilization7d', 'reset5hSecs', 'reset7dSecs'] as const;

/** What `completeStore` derives for each reading from a record at `nowMs`. */
function derive(info: RateLimitInfo, nowMs: number): Record<(typeof READINGS)[number], boolean | number | null> {
  return {
    isExhausted: isExhaustedAt(info, nowMs),
    utilization5h: utilizationAt(info, '5h', nowMs),
    utilization7d: utilizationAt(info, '7d', nowMs),
    reset5hSecs: resetSecsAt(info, '5h', nowMs),
    reset7dSecs: resetSecsAt(info, '7d', nowMs),
  };
}

/** The record moved `shiftMs` later in time: its resets and its `updatedMs`. */
function shiftRecord(info: RateLimitInfo, shiftMs: number): RateLimitInfo {
  const shiftSecs = Math.floor(shiftMs / 1000);
  return {
    ...info,
    ...(info.reset5hSecs === undefined ? {} : { reset5hSecs: info.reset5hSecs + shiftSecs }),
    ...(info.reset7dSecs === undefined ? {} : { reset7dSecs: info.reset7dSecs + shiftSecs }),
    updatedMs: info.updatedMs + shiftMs,
  };
}
