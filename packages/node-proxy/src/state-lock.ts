/**
 * @module
 * One live proxy per state file. Two proxies saving the same `state.json` (the default path is the
 * same for every proxy a user runs) would overwrite each other's cooldowns and conversations, so
 * `shunt start` holds `<state_path>.lock` (its pid) while it runs and refuses a file another live
 * process holds. A lock left by a process that died is taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

/** A held lock. */
export interface StateLock {
  /** The lock file. */
  readonly path: string;
  /** Remove the lock file (when it is still this process's). Idempotent, synchronous (runs on exit). */
  release(): void;
}

/** Thrown when another live process holds the state file. */
export class StateLockError extends Error {
  /** The pid that holds it. */
  readonly pid: number;
  constructor(statePath: string, pid: number) {
    super(
      `${statePath} is in use by another shunt (pid ${pid}): two proxies saving one state file overwrite each other; ` +
        'give this one its own server.state_path, or stop the other (`shunt stop`)',
    );
    this.name = 'StateLockError';
    this.pid = pid;
  }
}

/** Take `<statePath>.lock` for this process, or throw a {@link StateLockError} naming the live holder. */
export function acquireStateLock(statePath: string, pid: number = process.pid): StateLock {
  const path = `${statePath}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = readPid(path);
      if (holder !== null && holder !== pid && isAlive(holder)) throw new StateLockError(statePath, holder);
      // Left by a process that is gone (or unreadable): taken over.
      rmSync(path, { force: true });
    }
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      if (readPid(path) === pid) rmSync(path, { force: true });
    },
  };
}

function readPid(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid is alive (another user's included). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
