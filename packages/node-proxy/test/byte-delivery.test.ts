/**
 * No upstream byte pattern can kill, hang or mislead the proxy (in process; the same property
 * against a real `shunt start` process is in byte-delivery-process.test.ts). Every behaviour the
 * mock knows, cut into reads every way: one read, one per event, one byte at a time, and random
 * cuts.
 */
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, it } from 'vitest';
import type { MockDelivery } from '../src/mock-upstream.js';
import { allBehaviours, behaviourArb, checkCase, deliveryArb } from './byte-delivery.js';
import { startStack, type Stack } from './helpers.js';

const ACCOUNTS = [
  { name: 'a', key: 'key-a' },
  { name: 'b', key: 'key-b' },
];
// Stalls end after 250 ms of silence; the client gives up (and the case fails) after 10 s.
const SERVER = { request_timeout_secs: 0.25 };
const CLIENT_TIMEOUT_MS = 10_000;

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

async function freshStack(): Promise<Stack> {
  await stack?.close();
  stack = await startStack({ accounts: ACCOUNTS, server: SERVER });
  return stack;
}

describe('every behaviour under every named delivery', () => {
  const deliveries: MockDelivery[] = ['one-write', 'per-event', 'byte-by-byte'];
  for (const delivery of deliveries) {
    it(`should end every response correctly when the upstream delivers ${delivery}`, { timeout: 120_000 }, async () => {
      for (const behaviour of allBehaviours()) {
        for (const stream of [true, false]) {
          const target = await freshStack();
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
      const target = await freshStack();
      await checkCase(target, behaviour, delivery, stream, { clientTimeoutMs: CLIENT_TIMEOUT_MS, label: 'property' });
    },
    120_000,
  );
});
