import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapStore } from '../../examples/map-store.js';
import { classifyResponse, recordResponse } from '../failover.js';
import { explainPick, soonestAvailableMs } from '../pick.js';
import type { RateLimitInfo } from '../rate-limits.js';
import { strategies } from '../strategies/index.js';
import { describeStateStore } from '../testing/index.js';
import { poolScenarioArb, rateLimitsArb, type PoolScenario } from '../testing/pool-arbitraries.js';
import { completeStore } from './complete.js';
import { memoryStore, type MemoryStore } from './memory.js';
import type { StateStore } from './types.js';

const NOW = Date.UTC(2026, 0, 1);
/** The instant the generated responses' resets are drawn around; each is moved to the step's time. */
const STEPS_FROM_MS = Date.UTC(2026, 0, 1);

// The store docs/architecture.md shows: only the eight required methods.
describeStateStore('a store with only the required methods (examples/map-store.ts)', (clock) => mapStore(clock.now));

/** A store written as a class (methods on the prototype, state behind `this`), with some optional methods. */
class ClassStore implements StateStore {
  readonly #inner: MemoryStore;
  constructor(now: () => number) {
    this.#inner = memoryStore({ now });
  }
  now(): number {
    return this.#inner.now();
  }
  rateLimits(name: string): RateLimitInfo | null {
    return this.#inner.rateLimits(name);
  }
  updateRateLimits(name: string, info: RateLimitInfo): void {
    this.#inner.updateRateLimits(name, info);
  }
  cooldownUntilMs(name: string): number | null {
    return this.#inner.cooldownUntilMs(name);
  }
  setCooldown(name: string, ms: number): void {
    this.#inner.setCooldown(name, ms);
  }
  getSticky(fingerprint: string): string | null {
    return this.#inner.getSticky(fingerprint);
  }
  setSticky(fingerprint: string, name: string, ttlMs: number): void {
    this.#inner.setSticky(fingerprint, name, ttlMs);
  }
  isAvailable(name: string): boolean {
    return this.#inner.isAvailable(name);
  }
  isExhausted(name: string): boolean {
    return this.#inner.isExhausted(name);
  }
  utilization5h(name: string): number {
    return this.#inner.utilization5h(name);
  }
  clearCooldown(name: string): void {
    this.#inner.clearCooldown(name);
  }
  getPinned(): string | null {
    return this.#inner.getPinned();
  }
  setPinned(name: string | null): void {
    this.#inner.setPinned(name);
  }
}

describeStateStore('a store written as a class, with some optional methods', (clock) => new ClassStore(clock.now));

describe('completeStore', () => {
  it('should return a store that has every method as it is', () => {
    const store = memoryStore({ now: () => NOW });
    expect(completeStore(store)).toBe(store);
  });

  it('should return the same view every time for the same store, and separate views for separate stores', () => {
    const one = mapStore(() => NOW);
    const other = mapStore(() => NOW);
    const view = completeStore(one);
    expect(completeStore(one)).toBe(view);
    expect(completeStore(view)).toBe(view);
    view.setPinned('a');
    // The fallback's process-local state belongs to the store, whoever completes it.
    expect(completeStore(one).getPinned()).toBe('a');
    expect(completeStore(other).getPinned()).toBeNull();
  });

  it.each(['now', 'rateLimits', 'updateRateLimits', 'cooldownUntilMs', 'setCooldown', 'clearCooldown', 'getSticky', 'setSticky'] as const)(
    'should throw a TypeError naming a missing required method: %s',
    (method) => {
      const { [method]: _, ...partial } = mapStore(() => NOW);
      expect(() => completeStore(partial as StateStore)).toThrow(new RegExp(`no ${method}\\(\\) method`));
      expect(() => completeStore(partial as StateStore)).toThrow(TypeError);
    },
  );

  it.each([
    [{ disable: () => {} }, 'has disable but not enable, disabledReason'],
    [{ enable: () => {}, disabledReason: () => null }, 'has enable, disabledReason but not disable'],
    [{ getPinned: () => null }, 'has getPinned but not setPinned'],
    [{ setLastUsed: () => {} }, 'has setLastUsed but not getLastUsed'],
  ])('should throw a TypeError when only part of a group is present (%#)', (extra, message) => {
    const store = { ...mapStore(() => NOW), ...extra };
    expect(() => completeStore(store)).toThrow(message);
  });

  it('should throw a TypeError for a method that is not a function, and for a store that is not an object', () => {
    expect(() => completeStore({ ...mapStore(() => NOW), isExhausted: true } as unknown as StateStore)).toThrow(
      "the store's isExhausted must be a function, got boolean",
    );
    expect(() => completeStore(null as unknown as StateStore)).toThrow('expected a StateStore object, got null');
    expect(() => completeStore(undefined as unknown as StateStore)).toThrow('expected a StateStore object, got undefined');
    expect(() => completeStore('redis://localhost' as unknown as StateStore)).toThrow('expected a StateStore object, got string');
  });

  it('should list every required method, and the whole group, in its messages', () => {
    const { now: _, ...noNow } = mapStore(() => NOW);
    expect(() => completeStore(noNow as StateStore)).toThrow(
      'completeStore: the store has no now() method; every StateStore needs now, rateLimits, updateRateLimits, cooldownUntilMs, setCooldown, clearCooldown, getSticky, setSticky',
    );
    expect(() => completeStore({ ...mapStore(() => NOW), getPinned: () => null })).toThrow(
      'completeStore: the store has getPinned but not setPinned; getPinned / setPinned come together or not at all',
    );
  });

  it('should keep the pin, disabled flags, last used, the counter and fault counts in process memory', () => {
    let t = NOW;
    const store = completeStore(mapStore(() => t));
    store.setPinned('a');
    store.disable('b', 'no credential');
    store.setLastUsed('c');
    expect([store.nextRoundRobin(), store.nextRoundRobin()]).toEqual([0, 1]);
    expect(store.recordFault('d', 'r1', 60_000)).toBe(1);
    expect(store.recordFault('d', 'r2', 60_000)).toBe(2);
    t += 60_001;
    expect(store.recordFault('d', 'r3', 60_000)).toBe(1);
    expect(store.getPinned()).toBe('a');
    expect(store.disabledReason('b')).toBe('no credential');
    expect(store.isAvailable('b')).toBe(false);
    expect(store.getLastUsed()).toBe('c');
    store.enable('b');
    expect(store.isAvailable('b')).toBe(true);
  });

  it("should keep an account disabled in this process out even when the store answers isAvailable itself", () => {
    const own = new ClassStore(() => NOW);
    const store = completeStore(own);
    store.disable('a', 'needs_login');
    expect(own.isAvailable('a')).toBe(true);
    expect(store.isAvailable('a')).toBe(false);
    expect(store.isAvailable('b')).toBe(true);
  });

  it("should read through the store's own optional methods, with `this` bound", () => {
    const own = new ClassStore(() => NOW);
    const store = completeStore(own);
    store.setPinned('x');
    expect(own.getPinned()).toBe('x');
    store.setCooldown('a', 1000);
    store.clearCooldown('a');
    expect(own.cooldownUntilMs('a')).toBeNull();
  });

  it('should let recordResponse confirm a 5xx fault on a store without recordFault', () => {
    const store = mapStore(() => NOW);
    const action = classifyResponse({ status: 503, headers: {} }, { nowMs: NOW });
    expect(recordResponse(store, { name: 'a' }, action, { requestKey: 'r1' })).toBe(0);
    expect(recordResponse(store, { name: 'a' }, action, { requestKey: 'r2' })).toBe(10_000);
    expect(store.cooldownUntilMs('a')).toBe(NOW + 10_000);
  });
});

/** Arguments to call each optional method with. */
const OPTIONAL_CALLS = {
  isAvailable: ['a'],
  isExhausted: ['a'],
  utilization5h: ['a'],
  utilization7d: ['a'],
  reset5hSecs: ['a'],
  reset7dSecs: ['a'],
  recordFault: ['a', 'r1', 60_000],
  nextRoundRobin: [],
  disable: ['a', 'why'],
  enable: ['a'],
  disabledReason: ['a'],
  getPinned: [],
  setPinned: ['a'],
  getLastUsed: [],
  setLastUsed: ['a'],
} as const satisfies Partial<Record<keyof MemoryStore, readonly unknown[]>>;

/** A memoryStore without the methods named in `without`, recording the name of every method called. */
function recordingStore(without: readonly string[]): { store: StateStore; calls: string[] } {
  const inner = memoryStore({ now: () => NOW });
  const calls: string[] = [];
  const store: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(inner)) {
    if (typeof method !== 'function' || without.includes(name)) continue;
    store[name] = (...args: unknown[]): unknown => (calls.push(name), (method as (...a: unknown[]) => unknown)(...args));
  }
  return { store: store as unknown as StateStore, calls };
}

describe('completeStore: a store with some optional methods', () => {
  it.each([[['nextRoundRobin']], [['recordFault']], [['getLastUsed', 'setLastUsed']], [['disable', 'enable', 'disabledReason']]])(
    "should call the store's own method for every optional method it has (without %j)",
    (without) => {
      const { store, calls } = recordingStore(without);
      const view = completeStore(store);
      expect(view).not.toBe(store);
      for (const [name, args] of Object.entries(OPTIONAL_CALLS)) {
        if (without.includes(name)) continue;
        calls.length = 0;
        (view[name as keyof typeof OPTIONAL_CALLS] as (...a: unknown[]) => unknown)(...args);
        expect(calls, name).toContain(name);
      }
    },
  );

  it("should answer isAvailable from the store's own method, which may know more than the cooldowns", () => {
    const sick = { ...mapStore(() => NOW), isAvailable: (name: string) => name !== 'sick' };
    expect(completeStore(sick).isAvailable('sick')).toBe(false);
    expect(completeStore(sick).isAvailable('well')).toBe(true);
  });
});

describe('a store with only the required methods, against memoryStore', () => {
  it('should make the same decisions and read the same state through any sequence of picks, responses and time', () => {
    fc.assert(
      fc.property(poolScenarioArb(), fc.array(stepArb, { minLength: 1, maxLength: 12 }), (scenario, steps) => {
        let t = scenario.nowMs;
        const minimal = load(mapStore(() => t), scenario);
        const memory = load(memoryStore({ now: () => t }), scenario);
        const names = scenario.accounts.map((a) => a.name);
        for (const step of steps) {
          if (step.kind === 'advance') {
            t += step.ms;
          } else if (step.kind === 'pick') {
            const options = { strategy: strategies[step.strategy], fingerprint: step.fingerprint, tried: new Set(names.slice(0, step.tried)) };
            expect(explainPick(scenario.accounts, minimal, options)).toEqual(explainPick(scenario.accounts, memory, options));
          } else {
            const name = names[step.account % names.length] as string;
            const headers = headersOf(step.rateLimits, t - STEPS_FROM_MS);
            const action = classifyResponse({ status: step.status, headers }, { nowMs: t });
            const options = { requestKey: step.requestKey };
            expect(recordResponse(minimal, { name }, action, options)).toBe(recordResponse(memory, { name }, action, options));
          }
          expect(readAll(minimal, names)).toEqual(readAll(memory, names));
          expect(soonestAvailableMs(scenario.accounts, minimal)).toBe(soonestAvailableMs(scenario.accounts, memory));
        }
      }),
    );
  });
});

type Step =
  | { readonly kind: 'advance'; readonly ms: number }
  | { readonly kind: 'pick'; readonly strategy: keyof typeof strategies; readonly fingerprint: string | null; readonly tried: number }
  | {
      readonly kind: 'respond';
      readonly account: number;
      readonly status: number;
      readonly rateLimits: RateLimitInfo;
      readonly requestKey: string;
    };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 8 * 3_600_000 })) }),
  fc.record({
    kind: fc.constant('pick' as const),
    strategy: fc.constantFrom('maximus', 'cushion', 'reaper', 'carousel' as const),
    fingerprint: fc.option(fc.constantFrom('c1', 'c2')),
    tried: fc.nat({ max: 2 }),
  }),
  fc.record({
    kind: fc.constant('respond' as const),
    account: fc.nat(),
    status: fc.constantFrom(200, 200, 429, 429, 529, 500, 503, 401, 403),
    rateLimits: rateLimitsArb(STEPS_FROM_MS).chain((info) =>
      fc.option(fc.constantFrom('allowed', 'allowed_warning', 'rejected'), { nil: undefined }).map((overage) =>
        overage === undefined ? info : { ...info, overageStatus: overage },
      ),
    ),
    requestKey: fc.constantFrom('r1', 'r2', 'r3'),
  }),
);

/** Both stores loaded with the scenario's state, through the same calls. */
function load<S extends StateStore>(raw: S, scenario: PoolScenario): S {
  const store = completeStore(raw);
  for (const [name, state] of Object.entries(scenario.states)) {
    if (state.rateLimits !== undefined) store.updateRateLimits(name, state.rateLimits);
    if (state.cooldownMs !== undefined && state.cooldownMs > 0) store.setCooldown(name, state.cooldownMs);
    if (state.disabled !== undefined) store.disable(name, state.disabled);
  }
  store.setPinned(scenario.pinned);
  if (scenario.fingerprint !== null && scenario.sticky !== null) store.setSticky(scenario.fingerprint, scenario.sticky.account, scenario.sticky.ttlMs);
  for (let i = 0; i < scenario.roundRobin; i++) store.nextRoundRobin();
  return raw;
}

/** Every reading of every account, as `completeStore` presents it. */
function readAll(raw: StateStore, names: readonly string[]): unknown[] {
  const store = completeStore(raw);
  return names.map((name) => [
    store.isAvailable(name),
    store.isExhausted(name),
    store.utilization5h(name),
    store.utilization7d(name),
    store.reset5hSecs(name),
    store.reset7dSecs(name),
    store.rateLimits(name),
    store.cooldownUntilMs(name),
    store.disabledReason(name),
  ]);
}

/** The response headers Anthropic would send for `info`, its resets moved `shiftMs` later. */
function headersOf(info: RateLimitInfo, shiftMs: number): Record<string, string> {
  const shiftSecs = Math.floor(shiftMs / 1000);
  const headers: Record<string, string> = {};
  const put = (suffix: string, value: string | number | undefined): void => {
    if (value !== undefined) headers[`anthropic-ratelimit-unified-${suffix}`] = String(value);
  };
  put('5h-utilization', info.utilization5h);
  put('5h-reset', info.reset5hSecs === undefined ? undefined : info.reset5hSecs + shiftSecs);
  put('5h-status', info.status5h);
  put('7d-utilization', info.utilization7d);
  put('7d-reset', info.reset7dSecs === undefined ? undefined : info.reset7dSecs + shiftSecs);
  put('7d-status', info.status7d);
  put('overage-status', info.overageStatus);
  return headers;
}
