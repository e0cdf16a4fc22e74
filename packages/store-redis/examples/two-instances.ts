/**
 * Two proxy instances sharing one Redis, in one process for the demo: a 429 seen by `east` makes
 * `west` route around the account, and a conversation started on `east` stays on its account when
 * its next turn lands on `west`.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @shunt/store-redis example
 */
import { classifyResponse, pickAccount, recordResponse } from '@shunt/core';
import { redisStore } from '@shunt/store-redis';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const keyPrefix = `demo:${String(Date.now())}:`; // a fresh namespace, so reruns start clean
const accounts = [{ name: 'work' }, { name: 'personal' }];

const east = redisStore({ url, keyPrefix, logger: console });
const west = redisStore({ url, keyPrefix, logger: console });
await Promise.all([east.ready(), west.ready()]);

// A conversation starts on east…
const first = pickAccount(accounts, east, { fingerprint: 'conversation-42' });
console.log(`east routes conversation-42 to ${String(first?.name)}`);

// …and `work` answers east with a 429.
const action = classifyResponse({ status: 429, headers: { 'retry-after': '60' } }, { nowMs: east.now() });
recordResponse(east, { name: 'work' }, action);
const started = performance.now();
while (west.cooldownUntilMs('work') === null) await new Promise((resolve) => setImmediate(resolve));
console.log(`west learned that work is cooling after ${(performance.now() - started).toFixed(2)} ms`);
console.log(`west routes a new request to ${String(pickAccount(accounts, west)?.name)}`);

// A second conversation pinned by stickiness on east lands on west.
const other = pickAccount(accounts, east, { fingerprint: 'conversation-43' });
await east.flush();
await new Promise((resolve) => setTimeout(resolve, 20));
console.log(`conversation-43: east chose ${String(other?.name)}, west continues on ${String(pickAccount(accounts, west, { fingerprint: 'conversation-43' })?.name)}`);
console.log('west status:', west.status());

await Promise.all([east.close(), west.close()]);
