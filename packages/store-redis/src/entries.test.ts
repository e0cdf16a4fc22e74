// The merge rules as laws: whatever order instances' writes arrive in, every replica (and Redis)
// ends in the same state. Failures print fast-check's seed and path; replay with { seed, path }.
import { memoryStore, type RateLimitInfo } from '@shunt/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NO_COOLDOWN,
  asciiJson,
  cooldownDeadline,
  encodeCooldown,
  encodeEntry,
  foldRateLimits,
  isNewer,
  materializeRateLimits,
  MAX_COOLDOWN_MS,
  mergeCooldown,
  mergeRegisters,
  parseCooldown,
  rateLimitDelta,
  type CooldownState,
  type RateLimitField,
  type RateLimitRegisters,
} from './entries.js';

const T0 = Date.UTC(2026, 0, 1);

const entryArb = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null)))
  .map(([a, b, value]) => encodeEntry(T0 + a, b, asciiJson(value)));

const cooldownArb: fc.Arbitrary<CooldownState> = fc
  .record({
    clearStamp: fc.integer({ min: 0, max: 20 }),
    sets: fc.array(fc.record({ untilMs: fc.integer({ min: 0, max: 50 }), setStamp: fc.integer({ min: 1, max: 20 }) }), { maxLength: 4 }),
  })
  .map((state) => mergeCooldown(state, NO_COOLDOWN));

describe('LWW entries', () => {
  it('should order any two distinct entries one way only (a strict total order)', () => {
    fc.assert(
      fc.property(entryArb, entryArb, (x, y) => {
        if (x === y) expect(isNewer(x, y)).toBe(false);
        else expect(isNewer(x, y)).not.toBe(isNewer(y, x));
      }),
    );
  });

  it('should compare payloads bytewise, with non-ASCII escaped', () => {
    const payload = asciiJson('é€😀');
    expect(payload).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(payload)).toBe('é€😀');
  });

  it('should let the larger stamp win before the payload is looked at', () => {
    expect(isNewer(encodeEntry(2, 0, '"a"'), encodeEntry(1, 9, '"z"'))).toBe(true);
    expect(isNewer(encodeEntry(1, 2, '"a"'), encodeEntry(1, 1, '"z"'))).toBe(true);
    expect(isNewer(encodeEntry(1, 1, '"b"'), encodeEntry(1, 1, '"a"'))).toBe(true);
    expect(isNewer(encodeEntry(1, 1, '"b"'), undefined)).toBe(true);
  });
});

describe('cooldown registers', () => {
  const same = (x: CooldownState, y: CooldownState): boolean => encodeCooldown(x) === encodeCooldown(y);

  it('should merge commutatively, associatively and idempotently', () => {
    fc.assert(
      fc.property(cooldownArb, cooldownArb, cooldownArb, (x, y, z) => {
        expect(same(mergeCooldown(x, y), mergeCooldown(y, x))).toBe(true);
        expect(same(mergeCooldown(mergeCooldown(x, y), z), mergeCooldown(x, mergeCooldown(y, z)))).toBe(true);
        expect(same(mergeCooldown(x, x), x)).toBe(true);
      }),
    );
  });

  it('should give the later deadline among cooldowns set after the latest clear, whatever the order', () => {
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), untilMs: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.infiniteStream(fc.nat()), (ops, order) => {
        // Stamps are the op's position: a sequential history. The model is what one store would hold.
        const states = ops.map((op, i): CooldownState =>
          op.kind === 'set' ? { clearStamp: 0, sets: [{ untilMs: op.untilMs, setStamp: i + 1 }] } : { clearStamp: i + 1, sets: [] },
        );
        let model: number | null = null;
        for (const op of ops) model = op.kind === 'clear' ? null : Math.max(model ?? -Infinity, op.untilMs);
        const shuffled = [...states];
        const picks = order.take(shuffled.length);
        let i = 0;
        for (const pick of picks) {
          const j = i + (pick % (shuffled.length - i));
          [shuffled[i], shuffled[j]] = [shuffled[j] as CooldownState, shuffled[i] as CooldownState];
          i++;
        }
        const merged = shuffled.reduce(mergeCooldown, NO_COOLDOWN);
        expect(cooldownDeadline(merged)).toBe(model);
      }),
    );
  });

  it('should drop a cooldown set for longer than a week plus 10 minutes (a bogus reset an older version kept)', () => {
    const stamp = T0 * 1000;
    const bogus: CooldownState = { clearStamp: 0, sets: [{ untilMs: T0 + 10 * 365 * 86_400_000, setStamp: stamp }] };
    const sane: CooldownState = { clearStamp: 0, sets: [{ untilMs: T0 + 3_600_000, setStamp: stamp + 1 }] };
    const atCap: CooldownState = { clearStamp: 0, sets: [{ untilMs: T0 + MAX_COOLDOWN_MS, setStamp: stamp }] };
    expect(cooldownDeadline(mergeCooldown(bogus, NO_COOLDOWN))).toBeNull();
    expect(cooldownDeadline(mergeCooldown(bogus, sane))).toBe(T0 + 3_600_000);
    expect(cooldownDeadline(mergeCooldown(atCap, sane))).toBe(T0 + MAX_COOLDOWN_MS);
  });

  it('should round-trip through its text form', () => {
    fc.assert(
      fc.property(cooldownArb, (state) => {
        expect(parseCooldown(encodeCooldown(state))).toEqual(state);
      }),
    );
    expect(parseCooldown('x;1,2')).toBeNull();
    expect(parseCooldown('0;1')).toBeNull();
  });
});

describe('rate-limit registers', () => {
  const S = T0 / 1000;
  // Records as a proxy sees them: partial header sets, windows that reset and roll over.
  const recordArb: fc.Arbitrary<RateLimitInfo> = fc
    .record(
      {
        utilization5h: fc.constantFrom(0.1, 0.5, 0.9, 1.01),
        reset5hSecs: fc.constantFrom(S + 2, S + 5, S + 9),
        status5h: fc.constantFrom('allowed', 'allowed_warning', 'rejected'),
        utilization7d: fc.constantFrom(0.2, 0.6),
        reset7dSecs: fc.constantFrom(S + 4, S + 100),
        status7d: fc.constantFrom('allowed', 'rejected'),
        representativeClaim: fc.constantFrom('five_hour', 'seven_day'),
        updatedMs: fc.integer({ min: 0, max: 12 }).map((s) => T0 + s * 1000),
      },
      { requiredKeys: ['updatedMs'] },
    )
    .map((record) => record as RateLimitInfo);

  /** One writer: a memory store fed in time order, producing register deltas as the Redis store does. */
  const writerDeltas = (records: readonly RateLimitInfo[], stampBase: number): Array<Map<RateLimitField, string>> => {
    const store = memoryStore({ now: () => T0 });
    const registers: RateLimitRegisters = new Map();
    const deltas: Array<Map<RateLimitField, string>> = [];
    [...records]
      .sort((p, q) => p.updatedMs - q.updatedMs)
      .forEach((record, i) => {
        const before = store.rateLimits('a');
        store.updateRateLimits('a', record);
        const delta = rateLimitDelta(before, store.rateLimits('a') as RateLimitInfo, record, stampBase + i, registers);
        mergeRegisters(registers, delta);
        deltas.push(delta);
      });
    return deltas;
  };

  it('should reproduce core mergeRateLimitInfo for a single writer in time order', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 6 }), (records) => {
        const registers: RateLimitRegisters = new Map();
        for (const delta of writerDeltas(records, 1)) mergeRegisters(registers, delta);
        // Distinct updatedMs: with ties the fold's order among equal records is arbitrary.
        fc.pre(new Set(records.map((r) => r.updatedMs)).size === records.length);
        expect(materializeRateLimits(registers)).toEqual(foldRateLimits(records));
      }),
    );
  });

  it('should converge to the same record whatever order two writers’ deltas arrive in', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 5 }),
        fc.array(recordArb, { minLength: 1, maxLength: 5 }),
        fc.infiniteStream(fc.nat()),
        (recordsA, recordsB, order) => {
          const deltas = [...writerDeltas(recordsA, 1), ...writerDeltas(recordsB, 100)];
          const inOrder: RateLimitRegisters = new Map();
          for (const delta of deltas) mergeRegisters(inOrder, delta);
          const shuffled: RateLimitRegisters = new Map();
          const pending = [...deltas];
          for (const pick of order.take(deltas.length)) {
            const [delta] = pending.splice(pick % pending.length, 1);
            if (delta !== undefined) mergeRegisters(shuffled, delta);
          }
          // Applying everything twice changes nothing either.
          for (const delta of deltas) mergeRegisters(shuffled, delta);
          expect(materializeRateLimits(shuffled)).toEqual(materializeRateLimits(inOrder));
        },
      ),
    );
  });

  it('should let the newest updatedMs win per field, keeping fields only older records carried', () => {
    const registers: RateLimitRegisters = new Map();
    const newer = writerDeltas([{ utilization5h: 0.8, reset5hSecs: S + 3600, updatedMs: T0 + 2000 }], 1);
    const older = writerDeltas([{ utilization5h: 0.5, reset5hSecs: S + 3600, utilization7d: 0.3, updatedMs: T0 + 1000 }], 100);
    for (const delta of [...newer, ...older]) mergeRegisters(registers, delta);
    expect(materializeRateLimits(registers)).toEqual({ utilization5h: 0.8, reset5hSecs: S + 3600, utilization7d: 0.3, updatedMs: T0 + 2000 });
  });

  it('should not revive an old window’s rejected status next to a newer window’s reset', () => {
    // A saw the 5h window rejected; B, which never heard of it, reports the next window's reset.
    const registers: RateLimitRegisters = new Map();
    const a = writerDeltas([{ status5h: 'rejected', reset5hSecs: S + 5, updatedMs: T0 + 1000 }], 1);
    const b = writerDeltas([{ reset5hSecs: S + 18_005, updatedMs: T0 + 6000 }], 100);
    for (const delta of [...b, ...a]) mergeRegisters(registers, delta);
    expect(materializeRateLimits(registers)).toEqual({ reset5hSecs: S + 18_005, updatedMs: T0 + 6000 });
  });
});
