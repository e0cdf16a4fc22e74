/**
 * The memory backend's state file: debounced atomic saves (0600, no temp file left), restore at
 * start (a cooling account stays cooling, a conversation keeps its account), a corrupt file moved
 * aside with one warning, a save that fails reported once; and the `/status` state section.
 */
import { mkdtemp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '@shunt/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { persistentStore, type PersistFs, type PersistTimers } from '../src/persistent-store.js';
import { openState } from '../src/state.js';
import type { Logger } from '../src/logger.js';
import { control, messageParams, startStack, textOf, type Stack } from './helpers.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'shunt-state-'));
}

/** Timers the test fires by hand. */
function manualTimers(): PersistTimers & { readonly pending: Array<{ fn: () => void; ms: number }>; fire(): void } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    pending,
    setTimeout(fn, ms) {
      const entry = { fn, ms };
      pending.push(entry);
      return entry;
    },
    clearTimeout(handle) {
      const at = pending.indexOf(handle as { fn: () => void; ms: number });
      if (at !== -1) pending.splice(at, 1);
    },
    fire() {
      const due = pending.splice(0);
      for (const entry of due) entry.fn();
    },
  };
}

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { readonly lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('persistentStore', () => {
  it('should save once, debounced, atomically, with mode 0600 and no temp file left', async () => {
    const dir = await tempDir();
    const path = join(dir, 'nested', 'state.json');
    const timers = manualTimers();
    let t = Date.UTC(2026, 0, 5, 9);
    const store = persistentStore(memoryStore({ now: () => t }), { path, debounceMs: 1000, timers });

    store.setCooldown('a', 60_000);
    store.setSticky('conv-1', 'b', 600_000);
    store.setPinned('c');
    // Every mutation re-arms the one timer: nothing is written yet.
    expect(timers.pending).toHaveLength(1);
    expect(timers.pending[0]?.ms).toBe(1000);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });

    timers.fire();
    await store.save(); // joins the save the timer started
    const saved = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({
      version: 1,
      accounts: { a: { cooldownUntilMs: t + 60_000 } },
      sticky: { 'conv-1': { account: 'b' } },
      pinned: 'c',
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'nested'))).toEqual(['state.json']);
    expect(store.status()).toMatchObject({ path, lastSavedMs: t, dirty: false, lastError: null });

    // Nothing changed: no timer. A change long after: saved again.
    expect(timers.pending).toHaveLength(0);
    t += 5_000;
    store.clearCooldown('a');
    expect(timers.pending).toHaveLength(1);
    await store.close();
    expect(timers.pending).toHaveLength(0);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ accounts: {} });
  });

  it('should count failing requests in the memory store it wraps, with no save scheduled for them', async () => {
    const timers = manualTimers();
    const store = persistentStore(memoryStore({ now: () => Date.UTC(2026, 0, 5, 9) }), { path: join(await tempDir(), 's.json'), timers });
    expect(store.recordFault('a', 'r1', 60_000)).toBe(1);
    expect(store.recordFault('a', 'r2', 60_000)).toBe(2);
    expect(timers.pending).toEqual([]);
  });

  it('should save within maxDelayMs while mutations keep coming', async () => {
    const dir = await tempDir();
    const timers = manualTimers();
    let t = 1_000_000;
    const store = persistentStore(memoryStore({ now: () => t }), { path: join(dir, 's.json'), debounceMs: 1000, maxDelayMs: 3000, timers });
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      store.setSticky(`c${i}`, 'a', 60_000);
      waits.push(timers.pending[0]?.ms ?? -1);
      t += 500;
    }
    // 1000 ms after each mutation, until the first unsaved one is 3 s old: then at once.
    expect(waits).toEqual([1000, 1000, 1000, 1000, 1000, 500, 0, 0]);
  });

  it('should restore a saved state, and report it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const t = Date.now();
    const first = persistentStore(memoryStore({ now: () => t }), { path });
    first.setCooldown('a', 120_000);
    first.disable('c', 'needs login');
    first.setSticky('conv', 'b', 600_000);
    await first.close();

    const second = persistentStore(memoryStore({ now: () => t + 1000 }), { path });
    expect(await second.load()).toEqual({ kind: 'restored', accounts: 2, sticky: 1 });
    expect(second.isAvailable('a')).toBe(false);
    expect(second.cooldownUntil('a')).toBe(t + 120_000);
    expect(second.disabledReason('c')).toBe('needs login');
    expect(second.getSticky('conv')).toBe('b');
  });

  it('should move a corrupt file aside with one warning and start fresh', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    await writeFile(path, '{"version": 1, "accounts": {"a": {"cooldownUntilMs": "soon"}}');
    const logger = recordingLogger();
    const t = Date.UTC(2026, 0, 5, 9, 30);
    const store = persistentStore(memoryStore({ now: () => t }), { path, logger });
    const result = await store.load();
    expect(result).toMatchObject({ kind: 'corrupt', movedTo: `${path}.corrupt-2026-01-05T09-30-00-000Z` });
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/unusable/), fields: { path } });
    expect((await readdir(dir)).sort()).toEqual(['state.json.corrupt-2026-01-05T09-30-00-000Z']);
    expect(store.isAvailable('a')).toBe(true);

    // A valid JSON that is not a snapshot is moved aside too, naming the field at fault.
    await writeFile(path, JSON.stringify({ version: 1, accounts: { a: { cooldownUntilMs: 'soon' } }, sticky: {}, pinned: null, lastUsed: null, roundRobin: 0 }));
    const again = await persistentStore(memoryStore({ now: () => t + 1 }), { path, logger }).load();
    expect(again).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/cooldownUntilMs/) });
  });

  it('should move an unreadable state file aside', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    await mkdir(path); // EISDIR when read
    const logger = recordingLogger();
    const result = await persistentStore(memoryStore(), { path, logger }).load();
    expect(result).toMatchObject({ kind: 'corrupt', reason: expect.stringMatching(/EISDIR/) });
    expect((await readdir(dir)).some((name) => name.startsWith('state.json.corrupt-'))).toBe(true);
  });

  it('should report a failing save once, remove its temp file, and succeed later', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    let failRename = true;
    const fs: PersistFs = {
      ...nodeFs,
      rename: async (from, to) => {
        if (failRename) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return nodeFs.rename(from, to);
      },
    };
    const logger = recordingLogger();
    const timers = manualTimers();
    const store = persistentStore(memoryStore(), { path, fs, logger, timers });
    store.setPinned('a');
    timers.fire();
    await store.save(); // joins the save the timer started
    store.setPinned('b');
    timers.fire();
    await store.save(); // joins the save the timer started
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(store.status()).toMatchObject({ dirty: true, lastError: expect.stringMatching(/EACCES/) });
    expect(await readdir(dir)).toEqual([]);
    failRename = false;
    await store.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pinned: 'b' });
    expect(store.status().lastError).toBeNull();
  });
});

describe('a proxy restarted with its saved state', () => {
  let stack: Stack | null = null;
  afterEach(async () => {
    await stack?.close();
    stack = null;
  });

  it('should keep a cooling account cooling and a conversation on its account', async () => {
    const dir = await tempDir();
    const statePath = join(dir, 'state.json');
    // The state backend reads only [server] state_path and [state]; the stack brings the rest.
    const config = parseConfig({ server: { state_path: statePath }, accounts: [{ name: 'a', api_key: 'key-a' }] }, { file: '<test>', env: {} });

    // First run: a answers 429 (retry-after 120 s), the conversation lands on b.
    stack = await startStack({ proxy: { state: await openState(config) } });
    stack.mock.script('a', { kind: 'burst-429', retryAfterSecs: 120 });
    expect(textOf(await stack.client.messages.create(messageParams('kept')))).toBe('served by b');
    const cooledUntil = stack.proxy.store.cooldownUntil('a');
    expect(cooledUntil).toBeGreaterThan(Date.now() + 100_000);
    await stack.close(); // flushes the state
    stack = null;

    // Second run, a new process as far as the store knows: a fresh store loaded from the file.
    stack = await startStack({ proxy: { state: await openState(config) } });
    const { json } = await control(stack, 'GET', '/status');
    const status = json as { state: Record<string, unknown>; accounts: Array<{ name: string; status: string; cooldown_until_ms: number }> };
    expect(status.accounts.find((a) => a.name === 'a')).toMatchObject({ status: 'cooling', cooldown_until_ms: cooledUntil });
    expect(status.state).toEqual({ backend: 'memory', path: statePath, last_saved_ms: null, last_error: null });

    // The conversation keeps its account; a new one does not go to the cooling account.
    const kept = await stack.client.messages.create(messageParams('kept')).withResponse();
    expect(kept.response.headers.get('x-shunt-account')).toBe('b');
    expect(stack.records.at(-1)?.reason).toBe('sticky');
    expect(textOf(await stack.client.messages.create(messageParams('new')))).not.toBe('served by a');
    expect(stack.mock.requests.filter((r) => r.account === 'a')).toHaveLength(0);

    await stack.close();
    stack = null;
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('should show the state file in /status once saved', async () => {
    const dir = await tempDir();
    const statePath = join(dir, 'state.json');
    const config = parseConfig({ server: { state_path: statePath }, accounts: [{ name: 'a', api_key: 'k' }] }, { file: '<test>', env: {} });
    const state = await openState(config, { debounceMs: 10 });
    stack = await startStack({ proxy: { state } });
    await stack.client.messages.create(messageParams('s'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { json } = await control(stack, 'GET', '/status');
    expect((json as { state: unknown }).state).toEqual({ backend: 'memory', path: statePath, last_saved_ms: expect.any(Number), last_error: null });
  });

  it('should say custom for a store passed in, and memory (unsaved) for the default', async () => {
    stack = await startStack();
    expect(stack.proxy.status().state).toEqual({ backend: 'custom' });
  });
});
