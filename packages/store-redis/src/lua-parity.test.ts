// The Lua scripts and the TypeScript merge rules must agree exactly: Redis merges with the former,
// replicas with the latter, and they only converge if both pick the same winner.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipReason, startRedis, type RedisServer } from '../test/redis-server.js';
import { NO_COOLDOWN, asciiJson, encodeCooldown, encodeEntry, isNewer, mergeCooldown, type CooldownState } from './entries.js';
import { LWW_HSET, MERGE_COOLDOWN } from './scripts.js';

const skipReason = redisSkipReason();

describe.skipIf(skipReason !== null)(`Lua scripts vs entries.ts${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const entryArb = fc
    .tuple(
      fc.integer({ min: 0, max: 3 }).map((n) => 1_767_225_600_000 + n),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(1_767_225_600_000_999)),
      fc.oneof(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.constantFrom('a', 'B', 'b', '_')),
    )
    .map(([a, b, value]) => encodeEntry(a, b, asciiJson(value)));

  it('should pick the same LWW winner as isNewer, in either order', async () => {
    await fc.assert(
      fc.asyncProperty(entryArb, entryArb, async (x, y) => {
        const key = `parity:${randomUUID()}`;
        await redis.eval(LWW_HSET, 1, key, 'f', x);
        await redis.eval(LWW_HSET, 1, key, 'f', y);
        expect(await redis.hget(key, 'f')).toBe(isNewer(y, x) ? y : x);
      }),
      { numRuns: 200 },
    );
  });

  it('should merge cooldown registers exactly like mergeCooldown', async () => {
    const cooldownArb: fc.Arbitrary<CooldownState> = fc
      .record({
        clearStamp: fc.integer({ min: 0, max: 30 }).map((n) => (n === 0 ? 0 : 1_767_225_600_000_000 + n)),
        sets: fc.array(
          fc.record({
            untilMs: fc.oneof(
              fc.integer({ min: 1_767_225_600_000, max: 1_767_225_700_000 }),
              fc.double({ min: 1, max: 2, noNaN: true }),
              // Around the cap (a week plus 10 minutes past the stamp), and a bogus 10-year deadline.
              fc.integer({ min: -2, max: 2 }).map((d) => 1_767_225_600_000 + 605_400_000 + d),
              fc.constant(1_767_225_600_000 + 315_360_000_000),
            ),
            setStamp: fc.integer({ min: 1, max: 30 }).map((n) => 1_767_225_600_000_000 + n),
          }),
          { maxLength: 20 },
        ),
      })
      .map((state) => mergeCooldown(state, NO_COOLDOWN));
    await fc.assert(
      fc.asyncProperty(fc.array(cooldownArb, { minLength: 1, maxLength: 4 }), async (states) => {
        const key = `parity:${randomUUID()}`;
        for (const state of states) await redis.eval(MERGE_COOLDOWN, 1, key, 'work', encodeCooldown(state));
        expect(await redis.hget(key, 'work')).toBe(encodeCooldown(states.reduce(mergeCooldown, NO_COOLDOWN)));
      }),
      { numRuns: 200 },
    );
  });
});
