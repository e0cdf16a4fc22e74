/**
 * @module
 * `completeStore()`: a {@link StateStore} with its optional methods filled in by their documented
 * fallbacks, so the router, the strategies and a proxy read every store the same way.
 */
import { memoryStore } from './memory.js';
import { isExhaustedAt, resetSecsAt, utilizationAt } from './readings.js';
import type { CompleteStateStore, StateStore } from './types.js';

/**
 * The store with every optional method present: the store itself when it already has them all
 * (`memoryStore()`, `redisStore()`), else a view that calls the store's own methods where it has
 * them and the fallbacks documented on {@link StateStore} where it does not. The same store always
 * gets the same view, so the fallbacks' process-local state (the pin, disabled flags, last used,
 * the round-robin counter, fault counts) is shared by every caller in the process.
 *
 * `pickAccount`, `explainPick`, `soonestAvailableMs` and `recordResponse` call it themselves;
 * call it once where your own code needs the whole surface (a status page, a control API).
 *
 * Throws a `TypeError` naming the method when a required method is missing, or when only part of
 * a group of optional methods is present (`disable` / `enable` / `disabledReason`, `getPinned` /
 * `setPinned`, `getLastUsed` / `setLastUsed`).
 *
 * @example
 * ```ts
 * const store = completeStore(myDurableObjectStore);
 * store.setPinned('work'); // kept in this process when the store has no setPinned
 * ```
 */
export function completeStore(store: StateStore): CompleteStateStore {
  // Every pick calls this, nearly always with the store it had last time: one comparison, no lookup.
  if (store === lastStore && lastView !== null) return lastView;
  if (typeof store !== 'object' || store === null) {
    throw new TypeError(`completeStore: expected a StateStore object, got ${store === null ? 'null' : typeof store}`);
  }
  const known = views.get(store);
  if (known !== undefined) {
    lastStore = store;
    lastView = known;
    return known;
  }
  const present = checkShape(store);
  const view = present.size === METHOD_COUNT ? (store as CompleteStateStore) : withFallbacks(store, present);
  views.set(store, view);
  lastStore = store;
  lastView = view;
  return view;
}

/** The methods every store must have. */
const REQUIRED = [
  'now',
  'rateLimits',
  'updateRateLimits',
  'cooldownUntilMs',
  'setCooldown',
  'clearCooldown',
  'getSticky',
  'setSticky',
] as const;

/** Optional methods that only make sense together: a store has all of a group or none. */
const GROUPS = [
  ['disable', 'enable', 'disabledReason'],
  ['getPinned', 'setPinned'],
  ['getLastUsed', 'setLastUsed'],
] as const;

const OPTIONAL = [
  'isAvailable',
  'isExhausted',
  'utilization5h',
  'utilization7d',
  'reset5hSecs',
  'reset7dSecs',
  'recordFault',
  'nextRoundRobin',
  ...GROUPS.flat(),
] as const;

type MethodName = keyof CompleteStateStore;

const METHOD_COUNT = REQUIRED.length + OPTIONAL.length;

/** Views already built, by store: one per store, so the fallbacks' state is one per store too. */
const views = new WeakMap<StateStore, CompleteStateStore>();
/** The store asked for last and its view. Held strongly: at most one store outlives its last use. */
let lastStore: StateStore | null = null;
let lastView: CompleteStateStore | null = null;

/** The store's methods, after checking that the required ones and whole groups are there. */
function checkShape(store: StateStore): Set<MethodName> {
  const present = new Set<MethodName>();
  const methods = store as unknown as Record<MethodName, unknown>;
  for (const name of [...REQUIRED, ...OPTIONAL]) {
    const method = methods[name];
    if (typeof method === 'function') present.add(name);
    else if (method !== undefined) throw new TypeError(`completeStore: the store's ${name} must be a function, got ${typeof method}`);
  }
  for (const name of REQUIRED) {
    if (!present.has(name)) {
      throw new TypeError(`completeStore: the store has no ${name}() method; every StateStore needs ${REQUIRED.join(', ')}`);
    }
  }
  for (const group of GROUPS) {
    const has = group.filter((name) => present.has(name));
    if (has.length > 0 && has.length < group.length) {
      const missing = group.filter((name) => !present.has(name));
      throw new TypeError(
        `completeStore: the store has ${has.join(', ')} but not ${missing.join(', ')}; ${group.join(' / ')} come together or not at all`,
      );
    }
  }
  return present;
}

/** A view of `store` that fills in what it lacks (see each method's "Fallback" on {@link StateStore}). */
function withFallbacks(store: StateStore, present: ReadonlySet<MethodName>): CompleteStateStore {
  // Every call goes through the store object, so a store written as a class keeps its `this`.
  const s = store as CompleteStateStore;
  // The process-local state of the fallbacks, on the store's own clock.
  const local = memoryStore({ now: () => s.now() });
  const has = (name: MethodName): boolean => present.has(name);
  const ownDisabled = has('disabledReason');
  const disabledReason = ownDisabled ? (name: string) => s.disabledReason(name) : (name: string) => local.disabledReason(name);
  const reading = <T>(own: MethodName, read: (info: NonNullable<ReturnType<StateStore['rateLimits']>>, nowMs: number) => T, none: T) =>
    has(own)
      ? (name: string): T => (s[own] as (name: string) => T)(name)
      : (name: string): T => {
          const info = s.rateLimits(name);
          return info === null ? none : read(info, s.now());
        };

  return {
    now: () => s.now(),
    rateLimits: (name) => s.rateLimits(name),
    updateRateLimits: (name, info) => s.updateRateLimits(name, info),
    cooldownUntilMs: (name) => s.cooldownUntilMs(name),
    setCooldown: (name, ms) => s.setCooldown(name, ms),
    clearCooldown: (name) => s.clearCooldown(name),
    getSticky: (fingerprint) => s.getSticky(fingerprint),
    setSticky: (fingerprint, name, ttlMs) => s.setSticky(fingerprint, name, ttlMs),

    isAvailable: has('isAvailable')
      ? ownDisabled
        ? (name) => s.isAvailable(name)
        : // The store's own answer cannot know of accounts disabled in this process.
          (name) => local.disabledReason(name) === null && s.isAvailable(name)
      : (name) => disabledReason(name) === null && s.cooldownUntilMs(name) === null,
    isExhausted: reading('isExhausted', isExhaustedAt, false),
    utilization5h: reading('utilization5h', (info, nowMs) => utilizationAt(info, '5h', nowMs), 0),
    utilization7d: reading('utilization7d', (info, nowMs) => utilizationAt(info, '7d', nowMs), 0),
    reset5hSecs: reading('reset5hSecs', (info, nowMs) => resetSecsAt(info, '5h', nowMs), null),
    reset7dSecs: reading('reset7dSecs', (info, nowMs) => resetSecsAt(info, '7d', nowMs), null),

    recordFault: has('recordFault')
      ? (name, requestKey, windowMs) => s.recordFault(name, requestKey, windowMs)
      : (name, requestKey, windowMs) => local.recordFault(name, requestKey, windowMs),

    disable: ownDisabled ? (name, reason) => s.disable(name, reason) : (name, reason) => local.disable(name, reason),
    enable: ownDisabled ? (name) => s.enable(name) : (name) => local.enable(name),
    disabledReason,

    getPinned: has('getPinned') ? () => s.getPinned() : () => local.getPinned(),
    setPinned: has('setPinned') ? (name) => s.setPinned(name) : (name) => local.setPinned(name),
    getLastUsed: has('getLastUsed') ? () => s.getLastUsed() : () => local.getLastUsed(),
    setLastUsed: has('setLastUsed') ? (name) => s.setLastUsed(name) : (name) => local.setLastUsed(name),
    nextRoundRobin: has('nextRoundRobin') ? () => s.nextRoundRobin() : () => local.nextRoundRobin(),
  };
}
