/**
 * The memory backend's state file: debounced atomic saves (0600, no temp file left), restore at
 * start (a cooling account stays cooling, a conversation keeps its account), a corrupt file moved
 * aside with one warning, a save that fails reported once; and the `/status` state section.
 */
import * as nodeFsSync from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { memoryStore, type MemoryStore } from '@shunt/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { NEEDS_LOGIN, type Credential } from '../src/credentials.js';
import type { CredentialsFile } from '../src/credentials-file.js';
import { silentLogger } from '../src/logger.js';
import { accountCredentials } from '../src/oauth-accounts.js';
import { createProxy } from '../src/proxy.js';
import { persistentStore, type PersistentStore, type PersistFs, type PersistFsSync, type PersistTimers } from '../src/persistent-store.js';
import { openState } from '../src/state.js';
import type { Logger } from '../src/logger.js';
import { createMockUpstream } from '../src/mock-upstream.js';
import { control, messageParams, spawnShunt, startStack, textOf, type ShuntProcess, type Stack } from './helpers.js';

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

/** Timers driven by a clock of their own: `advanceTo` runs every timer due by then, in order. */
function clockTimers(startMs: number): PersistTimers & { now(): number; readonly pending: unknown[]; advanceTo(ms: number): Promise<void> } {
  let t = startMs;
  const pending: Array<{ at: number; fn: () => void }> = [];
  return {
    now: () => t,
    pending,
    setTimeout(fn, ms) {
      const entry = { at: t + ms, fn };
      pending.push(entry);
      return entry;
    },
    clearTimeout(handle) {
      const at = pending.indexOf(handle as (typeof pending)[number]);
      if (at !== -1) pending.splice(at, 1);
    },
    async advanceTo(ms) {
      for (;;) {
        const due = pending.filter((entry) => entry.at <= ms).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        t = due.at;
        pending.splice(pending.indexOf(due), 1);
        due.fn();
        await new Promise((resolve) => setTimeout(resolve, 20)); // the save's file I/O
      }
      t = ms;
    },
  };
}

/** A credentials file with nothing in it that takes no writes. */
const nullCredentialsFile: CredentialsFile = { path: '/nowhere', readAll: async () => new Map(), get: async () => null, put: async () => {} };

/** A promise and its resolve (Promise.withResolvers is Node 22). */
function deferred(): { readonly promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve: () => resolve() };
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

  it('should save within maxDelayMs while mutations keep coming, and debounceMs after the last one', async () => {
    const dir = await tempDir();
    const clock = clockTimers(1_000_000);
    const saves: number[] = [];
    const fs: PersistFs = {
      ...nodeFs,
      rename: async (from, to) => {
        saves.push(clock.now() - 1_000_000);
        return nodeFs.rename(from, to);
      },
    };
    const store = persistentStore(memoryStore({ now: clock.now }), { path: join(dir, 's.json'), debounceMs: 1000, maxDelayMs: 3000, timers: clock, fs });
    // A mutation every 500 ms, from 0 to 3500.
    for (let i = 0; i < 8; i++) {
      store.setSticky(`c${i}`, 'a', 60_000);
      await clock.advanceTo(clock.now() + 500);
    }
    await clock.advanceTo(1_000_000 + 10_000);
    // The first unsaved mutation (0) is 3 s old at 3000; the last (3500) is 1 s old at 4500.
    expect(saves).toEqual([3000, 4500]);
    // One timer at a time, whatever the number of mutations.
    expect(clock.pending).toHaveLength(0);
  });

  it('should save a mutation that follows a failed save after the debounce, not after the retry wait', async () => {
    const dir = await tempDir();
    const clock = clockTimers(1_000_000);
    let fail = true;
    const saves: number[] = [];
    const fs: PersistFs = {
      ...nodeFs,
      rename: async (from, to) => {
        if (fail) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        saves.push(clock.now() - 1_000_000);
        return nodeFs.rename(from, to);
      },
    };
    const store = persistentStore(memoryStore({ now: clock.now }), { path: join(dir, 's.json'), debounceMs: 1000, maxDelayMs: 10_000, timers: clock, fs });
    store.setSticky('c1', 'a', 60_000);
    await clock.advanceTo(1_000_000 + 1000); // the debounced save fails: a retry in 10 s
    fail = false;
    await clock.advanceTo(1_000_000 + 2000);
    store.setSticky('c2', 'a', 60_000);
    await clock.advanceTo(1_000_000 + 20_000);
    expect(saves).toEqual([3000]);
  });

  it('should set one timer for a burst of mutations, not one per mutation', async () => {
    const timers = manualTimers();
    let set = 0;
    const counting: PersistTimers = { ...timers, setTimeout: (fn, ms) => (set++, timers.setTimeout(fn, ms)) };
    const store = persistentStore(memoryStore({ now: () => 1_000_000 }), { path: join(await tempDir(), 's.json'), timers: counting });
    for (let i = 0; i < 100; i++) {
      store.updateRateLimits('a', { utilization5h: i / 100, updatedMs: 1_000_000 });
      store.setLastUsed('a');
    }
    expect(set).toBe(1);
    expect(timers.pending).toHaveLength(1);
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
    expect(second.cooldownUntilMs('a')).toBe(t + 120_000);
    expect(second.disabledReason('c')).toBe('needs login');
    expect(second.getSticky('conv')).toBe('b');
  });

  it('should not restore a years-long lockout that an older version saved from a bogus reset', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const t = Date.UTC(2026, 0, 5, 9);
    const tenYearsMs = 10 * 365 * 86_400_000;
    // A 5h window rejected with a reset 10 years ahead, an hour before the restart.
    const saved = {
      version: 1,
      accounts: {
        work: {
          cooldownUntilMs: t - 3_600_000 + tenYearsMs,
          rateLimits: { status5h: 'rejected', reset5hSecs: (t - 3_600_000 + tenYearsMs) / 1000, utilization5h: 1, updatedMs: t - 3_600_000 },
        },
      },
      sticky: {},
      pinned: null,
      lastUsed: null,
      roundRobin: 0,
    };
    await writeFile(path, JSON.stringify(saved));
    let now = t;
    const store = persistentStore(memoryStore({ now: () => now }), { path });
    expect(await store.load()).toMatchObject({ kind: 'restored' });
    expect(store.cooldownUntilMs('work')).toBeNull();
    // Out until the window's capped reset (5 h + 10 min after its response), then back.
    expect(store.isExhausted('work')).toBe(true);
    now = t - 3_600_000 + 18_600_000;
    expect(store.isExhausted('work')).toBe(false);
    expect(store.isAvailable('work')).toBe(true);
    await store.close();
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

  describe('a change that changes routing for minutes', () => {
    const T = Date.UTC(2026, 0, 5, 9);
    const resetIn15m = Math.floor(T / 1000) + 900;
    type Case = readonly [string, (store: PersistentStore) => void];
    // Each case starts from: a cooling 10 minutes, b disabled (no credential), c pinned.
    const setUp = (inner: MemoryStore): void => {
      inner.setCooldown('a', 600_000);
      inner.disable('b', 'no credential: api_key_env FOO is not set');
      inner.setPinned('c');
    };
    const urgent: Case[] = [
      ['a cooldown of more than a minute', (s) => s.setCooldown('c', 900_000)],
      ['a cooldown pushed more than a minute later', (s) => s.setCooldown('a', 700_000)],
      ['a rejected window', (s) => s.updateRateLimits('c', { status5h: 'rejected', reset5hSecs: resetIn15m, utilization5h: 1, updatedMs: T })],
      ['needs_login', (s) => s.disable('c', 'needs_login')],
      ['a new disabled reason', (s) => s.disable('b', 'needs_login')],
      ['enable', (s) => s.enable('b')],
      ['a cleared long cooldown', (s) => s.clearCooldown('a')],
      ['a new pin', (s) => s.setPinned('a')],
      ['unpinning', (s) => s.setPinned(null)],
    ];
    const debounced: Case[] = [
      ['a cooldown of a minute', (s) => s.setCooldown('c', 60_000)],
      ['a cooldown a little later', (s) => s.setCooldown('a', 610_000)],
      ['a shorter cooldown (no change)', (s) => s.setCooldown('a', 1000)],
      ['utilization', (s) => s.updateRateLimits('c', { status5h: 'allowed', reset5hSecs: resetIn15m, utilization5h: 0.5, updatedMs: T })],
      ['the same disabled reason', (s) => s.disable('b', 'no credential: api_key_env FOO is not set')],
      ['enabling an enabled account', (s) => s.enable('c')],
      ['the same pin', (s) => s.setPinned('c')],
      ['a sticky conversation', (s) => s.setSticky('conv', 'c', 600_000)],
      ['the last account used', (s) => s.setLastUsed('c')],
      ['the round-robin position', (s) => void s.nextRoundRobin()],
    ];

    async function afterChange(change: (store: PersistentStore) => void): Promise<{ saved: unknown; store: PersistentStore; timers: ReturnType<typeof manualTimers> }> {
      const path = join(await tempDir(), 'state.json');
      const inner = memoryStore({ now: () => T });
      setUp(inner);
      const timers = manualTimers();
      const store = persistentStore(inner, { path, timers });
      change(store);
      await Promise.resolve(); // the write comes before the next I/O, not inside the call
      const saved = await readFile(path, 'utf8').then((text) => JSON.parse(text) as unknown, () => null);
      return { saved, store, timers };
    }

    it.each(urgent)('should write %s at once, without waiting for the debounce', async (_, change) => {
      const { saved, store, timers } = await afterChange(change);
      expect(saved).toEqual(store.snapshot());
      expect(store.status()).toMatchObject({ dirty: false, lastSavedMs: T, lastError: null });
      expect(timers.pending).toHaveLength(0);
    });

    it.each(debounced)('should leave %s to the debounced save', async (_, change) => {
      const { saved, store, timers } = await afterChange(change);
      expect(saved).toBeNull();
      expect(timers.pending.map((t) => t.ms)).toEqual([1000]);
      expect(store.status().dirty).toBe(true);
    });

    it('should write the mutations of one step once', async () => {
      const path = join(await tempDir(), 'state.json');
      const renames: string[] = [];
      const fsSync: PersistFsSync = { ...nodeFsSync, renameSync: (from, to) => (renames.push(String(to)), nodeFsSync.renameSync(from, to)) };
      const store = persistentStore(memoryStore({ now: () => T }), { path, fsSync, timers: manualTimers() });
      // What a 429 for a rejected window does: the rate limits, then the cooldown until the reset.
      store.updateRateLimits('a', { status5h: 'rejected', reset5hSecs: resetIn15m, utilization5h: 1, updatedMs: T });
      store.setCooldown('a', 901_000);
      await Promise.resolve();
      expect(renames).toEqual([path]);
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ accounts: { a: { cooldownUntilMs: T + 901_000, rateLimits: { status5h: 'rejected' } } } });
    });

    it('should report an immediate write that fails once, and retry it', async () => {
      const dir = await tempDir();
      const path = join(dir, 'state.json');
      let failRename = true;
      const fsSync: PersistFsSync = {
        ...nodeFsSync,
        renameSync: (from, to) => {
          if (failRename) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          nodeFsSync.renameSync(from, to);
        },
      };
      const logger = recordingLogger();
      const timers = manualTimers();
      const store = persistentStore(memoryStore({ now: () => T }), { path, fsSync, timers, logger });
      store.setCooldown('a', 900_000);
      await Promise.resolve();
      store.disable('b', 'needs_login');
      await Promise.resolve();
      expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
      expect(store.status()).toMatchObject({ dirty: true, lastError: expect.stringMatching(/ENOSPC/) });
      expect(await readdir(dir)).toEqual([]);
      expect(timers.pending.map((t) => t.ms)).toEqual([10_000]);
      failRename = false;
      timers.fire();
      await store.save(); // joins the retry the timer started
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ accounts: { a: { cooldownUntilMs: T + 900_000 }, b: { disabledReason: 'needs_login' } } });
      expect(store.status()).toMatchObject({ dirty: false, lastError: null });
    });

    it.each([
      ['writing its temp file', 'writeFile'],
      ['renaming it', 'rename'],
    ] as const)('should never leave an older state in the file when an immediate write comes while a debounced save is %s', async (_, step) => {
      const path = join(await tempDir(), 'state.json');
      const gate = deferred();
      const reached = deferred();
      const fs: PersistFs = {
        ...nodeFs,
        open: async (...args: Parameters<typeof nodeFs.open>) => {
          const handle = await nodeFs.open(...args);
          if (step !== 'writeFile') return handle;
          const writeFile = handle.writeFile.bind(handle);
          return Object.assign(handle, {
            writeFile: async (...rest: Parameters<typeof writeFile>) => {
              reached.resolve();
              await gate.promise;
              return writeFile(...rest);
            },
          });
        },
        rename: async (from, to) => {
          if (step === 'rename') {
            // The rename itself lands after the immediate write: the worst order.
            reached.resolve();
            await gate.promise;
          }
          return nodeFs.rename(from, to);
        },
      };
      const timers = manualTimers();
      const store = persistentStore(memoryStore({ now: () => T }), { path, fs, timers });
      store.setSticky('conv', 'a', 600_000);
      timers.fire();
      await reached.promise;
      store.setCooldown('a', 900_000);
      await Promise.resolve();
      gate.resolve();
      await store.save(); // joins the debounced save
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(store.snapshot());
      expect(store.cooldownUntilMs('a')).toBe(T + 900_000);
      expect(await readdir(dirname(path))).toEqual(['state.json']);
    });
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
    const cooledUntil = stack.proxy.store.cooldownUntilMs('a');
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

  it('should not let a needs_login flag from the file disable an account that now has an API key', async () => {
    const mock = createMockUpstream({ accounts: [{ name: 'a', key: 'key-a' }, { name: 'b', key: 'key-b' }, { name: 'c', key: 'token-c' }] });
    const upstreamUrl = await mock.listen();
    const dir = await tempDir();
    const statePath = join(dir, 'state.json');
    // The last run had all three as subscription accounts, and their refreshes were refused.
    const before = persistentStore(memoryStore(), { path: statePath });
    for (const name of ['a', 'b', 'c']) before.disable(name, NEEDS_LOGIN);
    await before.close();

    // Now a has an api_key_env, b an API key in the credentials file; c still refreshes (OAuth).
    const config = parseConfig(
      {
        server: { port: 0, control_port: 0, upstream_url: upstreamUrl, state_path: statePath },
        accounts: [{ name: 'a', api_key_env: 'A_KEY' }, { name: 'b' }, { name: 'c' }],
      },
      { file: '<test>', env: { A_KEY: 'key-a' } },
    );
    const fromFile = accountCredentials({ config: { oauth: config.oauth }, entries: new Map([['b', { type: 'apikey', key: 'key-b' }]]), file: nullCredentialsFile });
    const refreshing: Credential = { kind: 'oauth', canRefresh: true, headers: () => ({ authorization: 'Bearer token-c' }), refresh: async () => {} };
    const proxy = createProxy({
      config,
      logger: silentLogger,
      state: await openState(config),
      credential: (account, context) => (account.name === 'c' ? refreshing : fromFile(account, context)),
    });
    try {
      const statuses = proxy.status().accounts.map((account) => [account.name, account.credential, account.status]);
      expect(statuses).toEqual([
        ['a', 'api_key', 'available'],
        ['b', 'api_key', 'available'],
        ['c', 'oauth', 'needs_login'],
      ]);
      const { proxyUrl } = await proxy.listen();
      const client = new Anthropic({ apiKey: 'unused', baseURL: proxyUrl, maxRetries: 0 });
      expect(textOf(await client.messages.create(messageParams('key')))).toBe('served by a');
    } finally {
      await proxy.close();
      await mock.close();
    }
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

describe('a `shunt start` killed with SIGKILL', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  const start = async (configFile: string): Promise<ShuntProcess> => {
    const shunt = await spawnShunt(configFile);
    cleanup.push(async () => {
      if (shunt.child.exitCode === null && shunt.child.signalCode === null) shunt.child.kill('SIGKILL');
      await shunt.exited;
    });
    return shunt;
  };

  it('should still know, once restarted, the long cooldown it took just before', { timeout: 60_000 }, async () => {
    const mock = createMockUpstream({ accounts: [{ name: 'a', key: 'key-a' }, { name: 'b', key: 'key-b' }] });
    const upstreamUrl = await mock.listen();
    cleanup.push(() => mock.close());
    const dir = await tempDir();
    const configFile = join(dir, 'config.toml');
    await writeFile(
      configFile,
      `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${upstreamUrl}"\nstate_path = "state.json"\ncredentials_path = "credentials.json"\n` +
        `[[accounts]]\nname = "a"\napi_key = "key-a"\n[[accounts]]\nname = "b"\napi_key = "key-b"\n`,
    );

    // a's 5-hour window is rejected for 15 minutes; the request fails over to b.
    const first = await start(configFile);
    mock.script('a', { kind: 'window-429', window: '5h', resetInSecs: 900 });
    const response = await fetch(`${first.proxyUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(messageParams('killed')),
    });
    expect(response.headers.get('x-shunt-account')).toBe('b');
    expect(mock.requests.map((r) => [r.account, r.reply])).toEqual([
      ['a', 'window-429'],
      ['b', 'auto'],
    ]);
    // At once, as a crash or the OOM killer would: no shutdown, no last save.
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = await start(configFile);
    const status = (await (await fetch(`${second.controlUrl}/status`)).json()) as { accounts: Array<Record<string, unknown>> };
    const a = status.accounts.find((account) => account.name === 'a');
    expect(a).toMatchObject({ status: 'exhausted', available: false, status_5h: 'rejected', reset_5h: expect.any(Number) });
    const resetMs = (a?.reset_5h as number) * 1000;
    expect(resetMs).toBeGreaterThan(Date.now() + 800_000);
    expect(a?.cooldown_until_ms).toBeGreaterThanOrEqual(resetMs);
  });
});
