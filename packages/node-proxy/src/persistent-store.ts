/**
 * @module
 * `persistentStore()`: a `memoryStore` whose contents survive a restart. Every mutation marks the
 * store dirty; a debounced save writes `snapshot()` to a file atomically (a temp file in the same
 * directory, fsync, rename; mode 0600). `load()` restores it at start, and moves a corrupt or
 * unreadable file aside (`<file>.corrupt-<timestamp>`) instead of refusing to start.
 */
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { MemoryStore, MemoryStoreSnapshot } from '@shunt/core';
import { silentLogger, type Logger } from './logger.js';

/** The file operations the store uses (node:fs/promises by default; tests inject failures). */
export type PersistFs = Pick<typeof nodeFs, 'readFile' | 'open' | 'rename' | 'mkdir' | 'rm'>;

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
  /** @default node:fs/promises */
  readonly fs?: PersistFs | undefined;
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
 * Wrap a memory store so its contents are saved to `path` after every burst of mutations.
 *
 * @example
 * ```ts
 * const store = persistentStore(memoryStore(), { path: '/home/me/.local/share/shunt/state.json' });
 * await store.load();
 * store.setCooldown('work', 60_000); // saved about a second later
 * await store.close();               // at shutdown
 * ```
 */
export function persistentStore(inner: MemoryStore, options: PersistentStoreOptions): PersistentStore {
  const { path } = options;
  const debounceMs = options.debounceMs ?? 1000;
  const maxDelayMs = Math.max(debounceMs, options.maxDelayMs ?? 10_000);
  const fs = options.fs ?? nodeFs;
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

  const schedule = (): void => {
    if (closed) return;
    const t = inner.now();
    dirtySinceMs ??= t;
    if (timer !== null) timers.clearTimeout(timer);
    // Debounced, but never later than maxDelayMs after the first unsaved mutation.
    const wait = Math.max(0, Math.min(debounceMs, dirtySinceMs + maxDelayMs - t));
    timer = timers.setTimeout(() => {
      timer = null;
      void save();
    }, wait);
  };
  const mark = (): void => {
    dirty = true;
    schedule();
  };

  const writeOnce = async (): Promise<void> => {
    const snapshot: MemoryStoreSnapshot = inner.snapshot();
    dirty = false;
    dirtySinceMs = null;
    const text = `${JSON.stringify(snapshot)}\n`;
    const dir = dirname(path);
    const temp = join(dir, `.${basename(path)}.${process.pid}.${tempSeq++}.tmp`);
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
      await fs.rename(temp, path);
      lastSavedMs = inner.now();
      if (lastError !== null) logger.info('state saved again', { path });
      lastError = null;
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => {});
      const reason = describeError(error);
      // One warning per run of failures, not one per save.
      if (lastError === null) logger.warn('cannot save the routing state; it will be retried', { path, error: reason });
      lastError = reason;
      dirty = true;
      dirtySinceMs = inner.now();
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
        if (!closed && timer === null) {
          timer = timers.setTimeout(() => {
            timer = null;
            void save();
          }, maxDelayMs);
        }
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
    cooldownUntil: (name) => inner.cooldownUntil(name),
    disabledReason: (name) => inner.disabledReason(name),
    getSticky: (fingerprint) => inner.getSticky(fingerprint),
    getPinned: () => inner.getPinned(),
    getLastUsed: () => inner.getLastUsed(),
    snapshot: () => inner.snapshot(),

    // Writes: through, then marked for the next save.
    updateRateLimits(name, info) {
      inner.updateRateLimits(name, info);
      mark();
    },
    setCooldown(name, ms) {
      inner.setCooldown(name, ms);
      mark();
    },
    clearCooldown(name) {
      inner.clearCooldown(name);
      mark();
    },
    // Fault counts matter for a minute at most and are not part of a snapshot: nothing to save.
    recordFault: (name, requestKey, windowMs) => inner.recordFault(name, requestKey, windowMs),
    disable(name, reason) {
      inner.disable(name, reason);
      mark();
    },
    enable(name) {
      inner.enable(name);
      mark();
    },
    setSticky(fingerprint, name, ttlMs) {
      inner.setSticky(fingerprint, name, ttlMs);
      mark();
    },
    setPinned(name) {
      inner.setPinned(name);
      mark();
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
