// Core's StateStore contract against redisStore: once connected to a real redis-server, and once
// with Redis unreachable (the replica alone must still keep the whole contract).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { describeStateStore } from '@shunt/core/testing';
import { freePort, redisSkipReason, startRedis, type RedisServer } from '../test/redis-server.js';
import { redisStore, type RedisStore } from './redis-store.js';

const skipReason = redisSkipReason();
const skip = skipReason === null ? {} : { skip: { reason: skipReason } };
let server: RedisServer | undefined;
let deadPort = 0;
const open: RedisStore[] = [];

beforeAll(async () => {
  deadPort = await freePort();
  if (skipReason === null) server = await startRedis();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  await server?.stop();
});

describeStateStore(
  'redisStore',
  async (clock) => {
    // A fresh key prefix per test: every test starts from an empty shared state.
    const store = redisStore({ url: server?.url, keyPrefix: `conformance:${randomUUID()}:`, now: clock.now });
    open.push(store);
    await store.ready();
    return store;
  },
  skip,
);

describeStateStore('redisStore with Redis unreachable', (clock) => {
  const store = redisStore({ url: `redis://127.0.0.1:${String(deadPort)}`, now: clock.now, readyTimeoutMs: 60_000 });
  open.push(store);
  return store;
});
