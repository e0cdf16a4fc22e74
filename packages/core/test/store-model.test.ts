/**
 * Model-based test of `memoryStore`: random sequences of every mutation (and of clock moves and
 * snapshot → JSON → restore round trips) run against both the store and a plain model, and every
 * query is compared after each step.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { mergeRateLimitInfo, type RateLimitInfo } from '../src/rate-limits.js';
import { memoryStore, type MemoryStore, type MemoryStoreSnapshot } from '../src/store/memory.js';
import { arbRateLimitInfo, T0_MS } from './arbitraries.js';

// Small alphabets so that operations collide. `__proto__` catches plain-object bookkeeping.
// No integer-like fingerprints: a JSON object lists those first, which would reorder the sticky
// map's least-recently-routed order on restore.
const NAMES = ['a', 'b', '__proto__'] as const;
const FINGERPRINTS = ['f1', 'f2', 'f3', '__proto__'] as const;

/** The obviously-correct model: plain data, every rule written out longhand. */
interface Model {
  now: number;
  readonly cap: number;
  readonly accounts: Map<string, { cooldownUntilMs?: number; disabled?: string; rateLimits?: RateLimitInfo }>;
  /** Sticky entries, least recently set first. */
  sticky: Array<{ readonly fp: string; readonly account: string; readonly expiresAt: number }>;
  pinned: string | null;
  lastUsed: string | null;
  roundRobin: number;
  /** Per account: request key → when it last failed (`recordFault`). */
  readonly faults: Map<string, Map<string, number>>;
}

interface Real {
  t: number;
  readonly cap: number;
  store: MemoryStore;
}

type Cmd = fc.Command<Model, Real>;

function account(m: Model, name: string): { cooldownUntilMs?: number; disabled?: string; rateLimits?: RateLimitInfo } {
  let state = m.accounts.get(name);
  if (state === undefined) {
    state = {};
    m.accounts.set(name, state);
  }
  return state;
}

function liveReset(m: Model, reset: number | undefined): number | null {
  return reset !== undefined && reset * 1000 > m.now ? reset : null;
}

function modelSnapshot(m: Model): MemoryStoreSnapshot {
  const accounts: Record<string, MemoryStoreSnapshot['accounts'][string]> = {};
  for (const [name, s] of m.accounts) {
    const out = {
      ...(s.cooldownUntilMs !== undefined && s.cooldownUntilMs > m.now ? { cooldownUntilMs: s.cooldownUntilMs } : {}),
      ...(s.disabled !== undefined ? { disabledReason: s.disabled } : {}),
      ...(s.rateLimits !== undefined ? { rateLimits: s.rateLimits } : {}),
    };
    if (Object.keys(out).length > 0) Object.defineProperty(accounts, name, { value: out, enumerable: true });
  }
  const sticky: Record<string, { account: string; expiresAtMs: number }> = {};
  for (const e of m.sticky) {
    if (e.expiresAt > m.now) Object.defineProperty(sticky, e.fp, { value: { account: e.account, expiresAtMs: e.expiresAt }, enumerable: true });
  }
  return { version: 1, accounts, sticky, pinned: m.pinned, lastUsed: m.lastUsed, roundRobin: m.roundRobin };
}

/** Compare every query of the store with the model. */
function checkAll(m: Model, r: Real): void {
  const s = r.store;
  expect(s.now()).toBe(m.now);
  for (const name of NAMES) {
    const a = m.accounts.get(name);
    const info = a?.rateLimits;
    const disabled = a?.disabled;
    const cooldown = a?.cooldownUntilMs;
    expect(s.isAvailable(name), `isAvailable(${name})`).toBe(disabled === undefined && (cooldown === undefined || m.now >= cooldown));
    expect(s.cooldownUntilMs(name), `cooldownUntilMs(${name})`).toBe(cooldown !== undefined && cooldown > m.now ? cooldown : null);
    expect(s.disabledReason(name), `disabledReason(${name})`).toBe(disabled ?? null);
    expect(s.rateLimits(name), `rateLimits(${name})`).toStrictEqual(info ?? null);
    // A reset counts at most one window (plus the 10-minute margin) after the record's response.
    const capped = (reset: number | undefined, windowSecs: number): number | undefined =>
      reset === undefined || info === undefined ? reset : Math.min(reset, Math.floor((info.updatedMs + 600_000) / 1000) + windowSecs);
    const r5 = capped(info?.reset5hSecs, 18_000);
    const r7 = capped(info?.reset7dSecs, 604_800);
    const rejected = (status: string | undefined, reset: number | undefined): boolean =>
      (status === 'rejected' || status === 'exhausted') && liveReset(m, reset) !== null;
    const rejected5h = info !== undefined && rejected(info.status5h, r5);
    const rejected7d = info !== undefined && rejected(info.status7d, r7);
    // A rejected window served on overage: not exhausted, but full.
    const onOverage = info?.overageStatus === 'allowed' || info?.overageStatus === 'allowed_warning';
    expect(s.isExhausted(name), `isExhausted(${name})`).toBe((rejected5h || rejected7d) && !onOverage);
    const utilization = (u: number | undefined, reset: number | undefined, full: boolean): number => {
      if (reset !== undefined && reset * 1000 <= m.now) return 0;
      return Math.max(u ?? 0, full && onOverage ? 1 : 0);
    };
    expect(s.utilization5h(name), `utilization5h(${name})`).toBe(utilization(info?.utilization5h, r5, rejected5h));
    expect(s.utilization7d(name), `utilization7d(${name})`).toBe(utilization(info?.utilization7d, r7, rejected7d));
    expect(s.reset5hSecs(name), `reset5hSecs(${name})`).toBe(liveReset(m, r5));
    expect(s.reset7dSecs(name), `reset7dSecs(${name})`).toBe(liveReset(m, r7));
  }
  expect(s.getPinned()).toBe(m.pinned);
  expect(s.getLastUsed()).toBe(m.lastUsed);
  // The snapshot shows the live sticky entries without touching them. getSticky is a command of
  // its own: it drops the expired entry it finds, and calling it for every fingerprint here would
  // clean the map before each step and hide eviction bugs.
  const snapshot = s.snapshot();
  const expected = modelSnapshot(m);
  expect(snapshot).toStrictEqual(expected);
  // toStrictEqual ignores key order, and the sticky entries' order (least recently routed first) is
  // part of the snapshot's contract.
  expect(Object.keys(snapshot.sticky), 'sticky order').toEqual(Object.keys(expected.sticky));
}

/** A command: a name for the counterexample, what it does to the model and to the store. */
function command(label: string, onModel: (m: Model) => void, onReal: (r: Real) => void): Cmd {
  return {
    check: () => true,
    run(m, r) {
      onModel(m);
      onReal(r);
      checkAll(m, r);
    },
    toString: () => label,
  };
}

const arbName = fc.constantFrom(...NAMES);
const arbFingerprint = fc.constantFrom(...FINGERPRINTS);

/** Rate-limit records with resets relative to 0, shifted to the clock when the command runs. */
const arbRelativeInfo = arbRateLimitInfo(0);

function shifted(info: RateLimitInfo, nowMs: number): RateLimitInfo {
  const nowSecs = Math.floor(nowMs / 1000);
  return {
    ...info,
    ...(info.reset5hSecs !== undefined ? { reset5hSecs: info.reset5hSecs + nowSecs } : {}),
    ...(info.reset7dSecs !== undefined ? { reset7dSecs: info.reset7dSecs + nowSecs } : {}),
    updatedMs: nowMs,
  };
}

const commands = {
  updateRateLimits: fc.tuple(arbName, arbRelativeInfo).map(([name, rel]) =>
    command(
      `updateRateLimits(${name}, ${JSON.stringify(rel)} shifted to now)`,
      (m) => {
        const state = account(m, name);
        state.rateLimits = mergeRateLimitInfo(state.rateLimits, shifted(rel, m.now));
      },
      (r) => r.store.updateRateLimits(name, shifted(rel, r.t)),
    ),
  ),
  setCooldown: fc.tuple(arbName, fc.integer({ min: -1000, max: 120_000 })).map(([name, ms]) =>
    command(
      `setCooldown(${name}, ${ms})`,
      (m) => {
        const state = account(m, name);
        state.cooldownUntilMs = Math.max(state.cooldownUntilMs ?? -Infinity, m.now + Math.max(0, ms));
      },
      (r) => r.store.setCooldown(name, ms),
    ),
  ),
  clearCooldown: arbName.map((name) =>
    command(
      `clearCooldown(${name})`,
      (m) => {
        const state = m.accounts.get(name);
        if (state !== undefined) delete state.cooldownUntilMs;
      },
      (r) => r.store.clearCooldown(name),
    ),
  ),
  disable: fc.tuple(arbName, fc.option(fc.constantFrom('auth failed', 'manual'), { nil: undefined })).map(([name, reason]) =>
    command(
      `disable(${name}, ${String(reason)})`,
      (m) => {
        account(m, name).disabled = reason ?? 'disabled';
      },
      (r) => (reason === undefined ? r.store.disable(name) : r.store.disable(name, reason)),
    ),
  ),
  enable: arbName.map((name) =>
    command(
      `enable(${name})`,
      (m) => {
        const state = m.accounts.get(name);
        if (state !== undefined) delete state.disabled;
      },
      (r) => r.store.enable(name),
    ),
  ),
  setSticky: fc.tuple(arbFingerprint, arbName, fc.oneof(fc.integer({ min: -10, max: 2000 }), fc.integer({ min: 0, max: 600_000 }))).map(
    ([fp, name, ttl]) =>
      command(
        `setSticky(${fp}, ${name}, ${ttl})`,
        (m) => {
          m.sticky = m.sticky.filter((e) => e.fp !== fp);
          if (m.sticky.length >= m.cap) m.sticky = m.sticky.filter((e) => e.expiresAt > m.now);
          while (m.sticky.length >= m.cap) m.sticky.shift();
          m.sticky.push({ fp, account: name, expiresAt: m.now + ttl });
        },
        (r) => r.store.setSticky(fp, name, ttl),
      ),
  ),
  getSticky: arbFingerprint.map(
    (fp): Cmd => ({
      check: () => true,
      run(m, r) {
        const hit = m.sticky.find((e) => e.fp === fp);
        expect(r.store.getSticky(fp)).toBe(hit !== undefined && hit.expiresAt > m.now ? hit.account : null);
        checkAll(m, r);
      },
      toString: () => `getSticky(${fp})`,
    }),
  ),
  setPinned: fc.option(arbName, { nil: null }).map((name) =>
    command(
      `setPinned(${String(name)})`,
      (m) => {
        m.pinned = name;
      },
      (r) => r.store.setPinned(name),
    ),
  ),
  setLastUsed: arbName.map((name) =>
    command(
      `setLastUsed(${name})`,
      (m) => {
        m.lastUsed = name;
      },
      (r) => r.store.setLastUsed(name),
    ),
  ),
  nextRoundRobin: fc.constant(null).map(() => {
    let expected = -1;
    return command(
      'nextRoundRobin()',
      (m) => {
        expected = m.roundRobin++;
      },
      (r) => expect(r.store.nextRoundRobin()).toBe(expected),
    );
  }),
  advanceClock: fc.oneof(fc.integer({ min: 0, max: 1500 }), fc.constant(1000), fc.integer({ min: 0, max: 6 * 3_600_000 })).map((ms) =>
    command(
      `advanceClock(${ms})`,
      (m) => {
        m.now += ms;
      },
      (r) => {
        r.t += ms;
      },
    ),
  ),
  // Land exactly on (or 1 ms either side of) the next deadline, where `<` versus `<=` matters.
  advanceToDeadline: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom(-1, 0, 0, 1)).map(([k, skew]) => {
    let ms = 0;
    return command(
      `advanceToDeadline(#${k}, ${skew >= 0 ? '+' : ''}${skew} ms)`,
      (m) => {
        const upcoming = deadlines(m).filter((t) => t + skew > m.now);
        const target = upcoming[Math.min(k, upcoming.length - 1)];
        ms = target === undefined ? 0 : target + skew - m.now;
        m.now += ms;
      },
      (r) => {
        r.t += ms;
      },
    );
  }),
  recordFault: fc
    .tuple(arbName, fc.constantFrom('r1', 'r2', 'r3', '__proto__'), fc.constantFrom(0, 1000, 60_000, 3_600_000))
    .map(([name, key, windowMs]) => {
      let expected = -1;
      return command(
        `recordFault(${name}, ${key}, ${windowMs})`,
        (m) => {
          const failed = m.faults.get(name) ?? new Map<string, number>();
          m.faults.set(name, failed);
          failed.set(key, Math.max(failed.get(key) ?? -Infinity, m.now));
          for (const [k, at] of [...failed]) if (m.now - at > windowMs) failed.delete(k);
          expected = failed.size;
        },
        (r) => expect(r.store.recordFault(name, key, windowMs)).toBe(expected),
      );
    }),
  snapshotRestore: fc.constant(null).map(() =>
    command(
      'snapshot → JSON → restore into a fresh store',
      (m) => {
        // Fault counts are not part of a snapshot.
        m.faults.clear();
      },
      (r) => {
        const fresh = memoryStore({ now: () => r.t, maxStickyEntries: r.cap });
        fresh.restore(JSON.parse(JSON.stringify(r.store.snapshot())));
        r.store = fresh;
      },
    ),
  ),
} satisfies Record<string, fc.Arbitrary<Cmd>>;

/** Every command, equally likely. */
const allCommands: Array<fc.Arbitrary<Cmd>> = Object.values(commands);

/** Mostly sticky traffic and time moves, so a tiny sticky map fills, expires and evicts often. */
const stickyCommands: Array<fc.Arbitrary<Cmd>> = [
  commands.setSticky,
  commands.setSticky,
  commands.setSticky,
  commands.getSticky,
  commands.advanceClock,
  commands.advanceToDeadline,
  commands.advanceToDeadline,
  commands.snapshotRestore,
  commands.snapshotRestore,
];

/** Every instant at which some answer of the store changes, ascending. */
function deadlines(m: Model): number[] {
  const times = m.sticky.map((e) => e.expiresAt);
  for (const state of m.accounts.values()) {
    if (state.cooldownUntilMs !== undefined) times.push(state.cooldownUntilMs);
    for (const reset of [state.rateLimits?.reset5hSecs, state.rateLimits?.reset7dSecs]) {
      if (reset !== undefined) times.push(reset * 1000);
    }
  }
  return [...new Set(times)].sort((x, y) => x - y);
}

function run(cap: number, commands: Iterable<Cmd>): void {
  // Start off a whole second so that millisecond and second boundaries differ.
  const start = T0_MS + 250;
  fc.modelRun(() => {
    const real: Real = { t: start, cap, store: undefined as unknown as MemoryStore };
    real.store = memoryStore({ now: () => real.t, maxStickyEntries: cap });
    const model: Model = { now: start, cap, accounts: new Map(), sticky: [], pinned: null, lastUsed: null, roundRobin: 0, faults: new Map() };
    return { model, real };
  }, commands);
}

describe('memoryStore against a model', () => {
  test.prop([fc.commands(allCommands, { maxCommands: 60, size: 'max' })])('should answer every query as the model does', (cmds) => {
    run(10_000, cmds);
  });

  test.prop([fc.commands(allCommands, { maxCommands: 60, size: 'max' })])(
    'should answer every query as the model does with a two-entry sticky map',
    (cmds) => {
      run(2, cmds);
    },
  );

  test.prop([fc.commands(stickyCommands, { maxCommands: 40, size: 'max' })])(
    'should evict sticky entries exactly as modelled: expired first, then least recently routed',
    (cmds) => {
      run(2, cmds);
    },
  );
});
