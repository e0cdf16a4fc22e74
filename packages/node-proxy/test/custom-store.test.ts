/**
 * A proxy on a store with only the methods `StateStore` requires (a third-party store: Durable
 * Objects, SQLite, …): routing, failover and the control API work, with core's fallbacks keeping
 * the pin and the rest in the proxy's memory.
 */
import { memoryStore, type StateStore } from '@shunt/core';
import { afterEach, describe, expect, it } from 'vitest';
import { control, fakeClock, messageParams, startStack, textOf, type Stack } from './helpers.js';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

/** The eight required methods, and nothing else, over a memory store. */
function requiredOnly(now: () => number): StateStore {
  const inner = memoryStore({ now });
  return {
    now: () => inner.now(),
    rateLimits: (name) => inner.rateLimits(name),
    updateRateLimits: (name, info) => inner.updateRateLimits(name, info),
    cooldownUntilMs: (name) => inner.cooldownUntilMs(name),
    setCooldown: (name, ms) => inner.setCooldown(name, ms),
    clearCooldown: (name) => inner.clearCooldown(name),
    getSticky: (fingerprint) => inner.getSticky(fingerprint),
    setSticky: (fingerprint, name, ttlMs) => inner.setSticky(fingerprint, name, ttlMs),
  };
}

describe('a custom store with only the required methods', () => {
  it('should route, fail over on a rejected window, and keep the cooldown and rate limits in the store', async () => {
    const clock = fakeClock();
    const store = requiredOnly(clock.now);
    stack = await startStack({ clock, proxy: { store } });
    stack.mock.script('a', { kind: 'window-429', window: '5h', resetInSecs: 3600 });
    expect(textOf(await stack.client.messages.create(messageParams('c1')))).toBe('served by b');
    expect(store.cooldownUntilMs('a')).toBe(clock.now() + 3_600_500);
    expect(store.rateLimits('a')?.status5h).toBe('rejected');
    expect(store.rateLimits('b')).not.toBeNull();
    // The conversation stays on b through the store's own sticky map.
    expect(textOf(await stack.client.messages.create(messageParams('c1')))).toBe('served by b');
    expect(stack.records.map((r) => r.reason)).toEqual(['strategy', 'sticky']);
  });

  it('should pin through the control API and report it, without the store having a pin', async () => {
    stack = await startStack({ proxy: { store: requiredOnly(Date.now) } });
    expect(await control(stack, 'POST', '/use', { account: 'c' })).toEqual({ status: 200, json: { pinned: 'c' } });
    expect(textOf(await stack.client.messages.create(messageParams('p1')))).toBe('served by c');
    const status = await control(stack, 'GET', '/status');
    expect(status.json).toMatchObject({ pinned_account: 'c', last_used_account: 'c' });
    expect(stack.proxy.store.getPinned()).toBe('c');
  });
});
