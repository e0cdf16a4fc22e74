/**
 * @module
 * `persistentStore()`: a `memoryStore` whose contents survive a restart. Every mutation marks the
 * store dirty; a debounced save writes `snapshot()` to a file atomically (a temp file in the same
 * directory, fsync, rename; mode 0600). A mutation that changes routing for minutes (a long
 * cooldown, a rejected window, disable/enable, the pin) is written at once instead, synchronously,
 * so a crash or `kill -9` right after it cannot lose it. `load()` restores the file at start, and
 * moves a corrupt or unreadable file aside (`<file>.corrupt-<timestamp>`) instead of refusing to start.
 */
import * as nodeFsSync from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MemoryStore, MemoryStoreSnapshot } from '@shunt/core';
import { silentLogger, type Logger } from './logger.js';

/** The file operations the store uses (node:fs/promises by default; tests inject failures). */
export type PersistFs = Pick<typeof nodeFs, 'readFile' | 'open' | 'rename' | 'mkdir' | 'rm'>;

/** The synchronous file operations of the writes that cannot wait (node:fs by default; tests inject failures). */
export type PersistFsSync = Pick<typeof nodeFsSync, 'mkdirSync' | 'openSync' | 'fchmodSync' | 'writeFileSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'rmSync'>;

/** Timers, injectable so tests drive the debounce by hand. */
export interface PersistTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options for {@link persistentStore}. */
export interface PersistentStoreOptions {
  /** The state file. Its directory is created (mode 0700) when missing. */
  readonly path: string;
  /**
   * How long after the last mutation the state is saved, in milliseconds.
   * @default 1000
   */
  readonly debounceMs?: number | undefined;
  /**
   * The longest a mutation waits to be saved while mutations keep coming (a busy proxy slides
   * every conversation's sticky TTL on every request), in milliseconds.
   * @default 10000
   */
  readonly maxDelayMs?: number | undefined;
  /**
   * A cooldown that now ends more than this much later than before (or a cleared one that had more
   * than this left) is written at once rather than debounced, in milliseconds.
   * @default 60000
   */
  readonly durableCooldownMs?: number | undefined;
  /** @default node:fs/promises */
  readonly fs?: PersistFs | undefined;
  /** @default node:fs */
  readonly fsSync?: PersistFsSync | undefined;
  /** @default the global setTimeout / clearTimeout (unref'd: a pending save never keeps the process alive) */
  readonly timers?: PersistTimers | undefined;
  /** Where warnings go (a save that fails, a corrupt file moved aside). */
  readonly logger?: Logger | undefined;
}

/** What `/status` shows about the file. */
export interface PersistenceStatus {
  /** The state file. */
  readonly path: string;
  /** When the state was last written (epoch ms on the store's clock), or null when not yet. */
  readonly lastSavedMs: number | null;
  /** True when mutations are waiting to be saved. */
  readonly dirty: boolean;
  /** Why the last save failed, or null when it succeeded (or none was tried). */
  readonly lastError: string | null;
}

/** What {@link PersistentStore.load} found. */
export type LoadResult =
  | { readonly kind: 'restored'; readonly accounts: number; readonly sticky: number }
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt'; readonly reason: string; readonly movedTo: string | null };

/** A memory store saved to a file. */
export interface PersistentStore extends MemoryStore {
  /** Read the file into the store (call once, before serving). Never throws. */
  load(): Promise<LoadResult>;
  /** Save now if anything changed since the last save (or `force`). Never throws; see `status().lastError`. */
  save(force?: boolean): Promise<void>;
  /** Cancel the pending timer and save what is dirty: call at shutdown. */
  close(): Promise<void>;
  status(): PersistenceStatus;
}

/**
 * Wrap a memory store so its contents are saved to `path` after every burst of mutations, and at
 * once (before the next I/O) after a mutation that changes routing for minutes.
 *
 * @example
 * ```ts
 * const store = persistentStore(memoryStore(), { path: '/home/me/.local/share/shunt/state.json' });
 * await store.load();
 * store.setCooldown('work', 60_000);  // saved about a second later
 * store.setCooldown('work', 900_000); // saved at once
 * await store.close();               // at shutdown
 * ```
 */
export function persistentStore(inner: MemoryStore, options: PersistentStoreOptions): PersistentStore {
  const { path } = options;
  const debounceMs = options.debounceMs ?? 1000;
  const maxDelayMs = Math.max(debounceMs, options.maxDelayMs ?? 10_000);
  const durableCooldownMs = options.durableCooldownMs ?? 60_000;
  const fs = options.fs ?? nodeFs;
  const fsSync = options.fsSync ?? nodeFsSync;
  const timers = options.timers ?? defaultTimers;
  const logger = options.logger ?? silentLogger;

  let dirty = false;
  let dirtySinceMs: number | null = null;
  let timer: unknown = null;
  let lastSavedMs: number | null = null;
  let lastError: string | null = null;
  let saving: Promise<void> | null = null;
  let again = false;
  let closed = false;
  let tempSeq = 0;
  // Counts the synchronous writes, so an async save that raced one never leaves older state in place.
  let syncWrites = 0;
  let urgentQueued = false;
  const dir = dirname(path);

  // When the save is due: debounceMs after the last mutation, but never later than maxDelayMs after
  // the first unsaved one.
  let lastMutationMs = 0;
  // True when a mutation came after the pending timer was set, so the save may be due later.
  let movedLater = false;
  const dueMs = (): number => Math.min(lastMutationMs + debounceMs, (dirtySinceMs ?? lastMutationMs) + maxDelayMs);
  let timerDueMs = 0;
  const saveIn = (ms: number): void => {
    movedLater = false;
    timerDueMs = inner.now() + ms;
    timer = timers.setTimeout(() => {
      timer = null;
      const waitMs = movedLater && dirty && !closed ? dueMs() - inner.now() : 0;
      if (waitMs > 0) saveIn(waitMs);
      else void save();
    }, ms);
  };
  const schedule = (): void => {
    if (closed) return;
    const t = inner.now();
    dirtySinceMs ??= t;
    lastMutationMs = t;
    // One timer per burst, not one per mutation: a request makes two or three mutations, and
    // setting and clearing a timer for each cost more than the mutations themselves.
    if (timer === null) {
      saveIn(Math.max(0, dueMs() - t));
    } else if (timerDueMs > dueMs()) {
      // A timer set for longer (a failed save's retry) gives way to the debounce.
      timers.clearTimeout(timer);
      saveIn(Math.max(0, dueMs() - t));
    } else {
      movedLater = true;
    }
  };
  const mark = (): void => {
    dirty = true;
    schedule();
  };
  const retryLater = (): void => {
    if (!closed && timer === null) saveIn(maxDelayMs);
  };
  /** Mark, and write before the next I/O: one write for the mutations of one synchronous step (a 429 sets the rate limits and the cooldown). */
  const markUrgent = (): void => {
    dirty = true;
    if (closed || urgentQueued) return;
    urgentQueued = true;
    queueMicrotask(() => {
      urgentQueued = false;
      writeNow(false);
    });
  };
  /** `mark` or `markUrgent`, as the mutation changed routing for minutes or not. */
  const marked = (urgent: boolean): void => (urgent ? markUrgent() : mark());

  const takeSnapshot = (): string => {
    const snapshot: MemoryStoreSnapshot = inner.snapshot();
    dirty = false;
    dirtySinceMs = null;
    return `${JSON.stringify(snapshot)}\n`;
  };
  const tempPath = (): string => join(dir, `.${basename(path)}.${process.pid}.${tempSeq++}.tmp`);
  const saved = (): void => {
    lastSavedMs = inner.now();
    if (lastError !== null) logger.info('state saved again', { path });
    lastError = null;
  };
  const failed = (error: unknown): void => {
    const reason = describeError(error);
    // One warning per run of failures, not one per save.
    if (lastError === null) logger.warn('cannot save the routing state; it will be retried', { path, error: reason });
    lastError = reason;
    dirty = true;
    dirtySinceMs = inner.now();
  };

  /** Write synchronously, so the state is in the file when this returns (`force`: even clean, even closing). Never throws. */
  const writeNow = (force: boolean): void => {
    if (!force && (closed || !dirty)) return;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    const text = takeSnapshot();
    const temp = tempPath();
    try {
      fsSync.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const fd = fsSync.openSync(temp, 'wx', 0o600);
      try {
        fsSync.fchmodSync(fd, 0o600); // whatever the umask says
        fsSync.writeFileSync(fd, text, 'utf8');
        fsSync.fsyncSync(fd);
      } finally {
        fsSync.closeSync(fd);
      }
      fsSync.renameSync(temp, path);
      syncWrites++;
      saved();
    } catch (error) {
      try {
        fsSync.rmSync(temp, { force: true });
      } catch {
        // The write failed already; this is only tidying up.
      }
      failed(error);
      retryLater();
    }
  };

  const writeOnce = async (): Promise<void> => {
    const syncWritesBefore = syncWrites;
    const text = takeSnapshot();
    const temp = tempPath();
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await fs.open(temp, 'wx', 0o600);
      try {
        await handle.chmod(0o600); // whatever the umask says
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (syncWrites !== syncWritesBefore) {
        // A synchronous write since this snapshot already put newer state in the file.
        await fs.rm(temp, { force: true });
        return;
      }
      await fs.rename(temp, path);
      // One that ran while the rename was under way may have been renamed over: write it again.
      if (syncWrites !== syncWritesBefore) writeNow(true);
      else saved();
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => {});
      failed(error);
      throw error;
    }
  };

  const save = async (force = false): Promise<void> => {
    if (saving !== null) {
      again = true;
      return saving;
    }
    if (!dirty && !force) return;
    saving = (async () => {
      try {
        do {
          again = false;
          await writeOnce();
        } while (again && dirty);
      } catch {
        // Reported by writeOnce; retried after maxDelayMs (or sooner on a mutation), and at close.
        retryLater();
      } finally {
        saving = null;
      }
    })();
    return saving;
  };

  const load = async (): Promise<LoadResult> => {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      return moveAside(`cannot read it (${describeError(error)})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return moveAside(`not valid JSON (${(error as Error).message})`);
    }
    try {
      inner.restore(parsed);
    } catch (error) {
      return moveAside((error as Error).message);
    }
    const snapshot = inner.snapshot();
    return { kind: 'restored', accounts: Object.keys(snapshot.accounts).length, sticky: Object.keys(snapshot.sticky).length };
  };

  const moveAside = async (reason: string): Promise<LoadResult> => {
    const stamp = new Date(inner.now()).toISOString().replace(/[:.]/g, '-');
    const target = `${path}.corrupt-${stamp}`;
    let movedTo: string | null = target;
    try {
      await fs.rename(path, target);
    } catch {
      movedTo = null;
    }
    logger.warn('the saved routing state is unusable; starting fresh', {
      path,
      reason,
      moved_to: movedTo,
    });
    return { kind: 'corrupt', reason, movedTo };
  };

  /** When the account's cooldown ends, epoch ms (now when it has none). */
  const cooldownEnd = (name: string): number => inner.cooldownUntilMs(name) ?? inner.now();

  const store: PersistentStore = {
    // Reads: straight through.
    now: () => inner.now(),
    isAvailable: (name) => inner.isAvailable(name),
    isExhausted: (name) => inner.isExhausted(name),
    utilization5h: (name) => inner.utilization5h(name),
    utilization7d: (name) => inner.utilization7d(name),
    reset5hSecs: (name) => inner.reset5hSecs(name),
    reset7dSecs: (name) => inner.reset7dSecs(name),
    rateLimits: (name) => inner.rateLimits(name),
    cooldownUntilMs: (name) => inner.cooldownUntilMs(name),
    disabledReason: (name) => inner.disabledReason(name),
    getSticky: (fingerprint) => inner.getSticky(fingerprint),
    getPinned: () => inner.getPinned(),
    getLastUsed: () => inner.getLastUsed(),
    snapshot: () => inner.snapshot(),

    // Writes: through, then marked for the next save; written at once when routing changes for
    // minutes (a restart, even a kill -9, must not send traffic to an account known to be out).
    // High-frequency data (utilization, stickiness, last used) stays on the cheap debounce.
    updateRateLimits(name, info) {
      const wasExhausted = inner.isExhausted(name);
      inner.updateRateLimits(name, info);
      marked(!wasExhausted && inner.isExhausted(name));
    },
    setCooldown(name, ms) {
      const before = cooldownEnd(name);
      inner.setCooldown(name, ms);
      marked(cooldownEnd(name) - before > durableCooldownMs);
    },
    clearCooldown(name) {
      const before = cooldownEnd(name);
      inner.clearCooldown(name);
      marked(before - inner.now() > durableCooldownMs);
    },
    // Fault counts matter for a minute at most and are not part of a snapshot: nothing to save.
    recordFault: (name, requestKey, windowMs) => inner.recordFault(name, requestKey, windowMs),
    disable(name, reason) {
      const before = inner.disabledReason(name);
      inner.disable(name, reason);
      marked(inner.disabledReason(name) !== before);
    },
    enable(name) {
      const before = inner.disabledReason(name);
      inner.enable(name);
      marked(before !== null);
    },
    setSticky(fingerprint, name, ttlMs) {
      inner.setSticky(fingerprint, name, ttlMs);
      mark();
    },
    setPinned(name) {
      const before = inner.getPinned();
      inner.setPinned(name);
      marked(inner.getPinned() !== before);
    },
    setLastUsed(name) {
      // Every successful request sets it: only a change is worth a save.
      if (inner.getLastUsed() === name) return;
      inner.setLastUsed(name);
      mark();
    },
    nextRoundRobin() {
      const value = inner.nextRoundRobin();
      mark();
      return value;
    },
    restore(snapshot) {
      inner.restore(snapshot);
      mark();
    },

    load,
    save,
    async close() {
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      closed = true;
      if (saving !== null) await saving;
      if (dirty) await save();
    },
    status: () => ({ path, lastSavedMs, dirty, lastError }),
  };
  return store;
}

const defaultTimers: PersistTimers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}
