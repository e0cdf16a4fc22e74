/**
 * No upstream byte pattern can kill, hang or mislead the proxy (in process; the same property
 * against a real `shunt start` process is in byte-delivery-process.test.ts). Every behaviour the
 * mock knows, cut into reads every way: one read, one per event, one byte at a time, and random
 * cuts.
 */
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, it } from 'vitest';
import type { MockDelivery } from '../src/mock-upstream.js';
import { CLIENT_TIMEOUT_MS, allBehaviours, behaviourArb, checkCase, deliveryArb, requestTimeoutSecsOf, type Behaviour } from './byte-delivery.js';
import { startStack, type Stack } from './helpers.js';

const ACCOUNTS = [
  { name: 'a', key: 'key-a' },
  { name: 'b', key: 'key-b' },
];

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

async function freshStack(behaviour: Behaviour): Promise<Stack> {
  await stack?.close();
  stack = await startStack({ accounts: ACCOUNTS, server: { request_timeout_secs: requestTimeoutSecsOf(behaviour) } });
  return stack;
}

describe('every behaviour under every named delivery', () => {
  const deliveries: MockDelivery[] = ['one-write', 'per-event', 'byte-by-byte'];
  for (const delivery of deliveries) {
    it(`should end every response correctly when the upstream delivers ${delivery}`, { timeout: 600_000 }, async () => {
      for (const behaviour of allBehaviours()) {
        for (const stream of [true, false]) {
          const target = await freshStack(behaviour);
          await checkCase(target, behaviour, delivery, stream, { clientTimeoutMs: CLIENT_TIMEOUT_MS, label: 'enumerated' });
        }
      }
    });
  }
});

describe('random cuts', () => {
  test.prop([behaviourArb, deliveryArb, fc.boolean()], { numRuns: 150 })(
    'should end every response with the bytes a direct call gives, or a clean failover',
    async (behaviour, delivery, stream) => {
      const target = await freshStack(behaviour);
      await checkCase(target, behaviour, delivery, stream, { clientTimeoutMs: CLIENT_TIMEOUT_MS, label: 'property' });
    },
    600_000,
  );
});
