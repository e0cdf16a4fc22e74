/**
 * @module
 * From rows in file order to client requests in `ts` order: a bounded reorder buffer that also
 * folds the attempts of one request (rows sharing a `request_id`) into one request.
 *
 * A recorder appends a row when its response finishes, while `ts` is when the request started,
 * so rows are out of order by up to one request's duration. The buffer holds each request until
 * the newest `ts` seen is more than `reorderWindowMs` past it; by then nothing earlier can still
 * arrive, unless the file is more out of order than the window allows, which is an error.
 */
import { formatDurationMs } from '../util/duration.js';
import { TraceError } from './errors.js';
import type { ReadRow } from './reader.js';

/** Token counts of one request, as the response reported them. */
export interface TokenCounts {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** Every cache write, whatever its lifetime. */
  readonly cacheCreation: number;
  /** Of `cacheCreation`, the writes cached for 1 hour (absent: none, or not recorded). */
  readonly cacheCreation1h?: number | undefined;
}

/** One client request, with every recorded attempt. */
export interface TraceRequest {
  /** Position in replay order, from 0. */
  readonly seq: number;
  /** When the client sent it: the `ts` of its first attempt, in epoch milliseconds. */
  readonly arrivalMs: number;
  /** Conversation key (the `session` column), or null. */
  readonly session: string | null;
  /** Model, or null when no attempt named one. */
  readonly model: string | null;
  /**
   * Tokens of the attempt that succeeded (2xx); null when it carried no token cell, or when no
   * attempt succeeded (a recorder writes 0 or nothing on a 429: that is not what the request costs).
   */
  readonly tokens: TokenCounts | null;
  /** The attempts as recorded, in file order. */
  readonly attempts: readonly ReadRow[];
  /**
   * How many other conversations started within {@link STARTED_TOGETHER_MS} of this request's
   * conversation, as far as the reorder buffer saw (0 without a conversation; absent: not known).
   * Parallel sub-agents start together; a person starts one conversation at a time.
   */
  readonly startedWith?: number | undefined;
}

/** Options for {@link createRequestAssembler}. */
export interface RequestAssemblerOptions {
  /** The trace's name, for error messages. */
  readonly file?: string | undefined;
  /**
   * How far out of `ts` order rows may be, in milliseconds.
   * @default 900000 (15 minutes)
   */
  readonly reorderWindowMs?: number | undefined;
  /** Receives each request, in `ts` order. */
  readonly onRequest: (request: TraceRequest) => void;
  /**
   * A row that starts a new request earlier than a request already released. Default: throw.
   * `latenessMs` is how much earlier.
   */
  readonly onLateRow?: ((row: ReadRow, latenessMs: number) => void) | undefined;
}

/** The reorder buffer. */
export interface RequestAssembler {
  /** Add one row (file order). */
  add(row: ReadRow): void;
  /** Release everything still buffered (end of file). */
  finish(): void;
  /** Rows that were attempts of a request already released (retries later than the window). */
  readonly lateAttempts: number;
  /** The most requests buffered at once (for the memory bound). */
  readonly peakBuffered: number;
}

/** Default reorder window: longer than any single request (Claude Code's client timeout is 10 minutes). */
export const DEFAULT_REORDER_WINDOW_MS = 15 * 60_000;

/**
 * Conversations whose first requests are this close started together: Claude Code starts a burst
 * of parallel sub-agents (the Task tool) within milliseconds, while a person types one prompt at
 * a time. Such conversations differ in size from those a person starts (a shorter first prompt,
 * less added per turn), which is what the cost model needs to know of a conversation it never saw
 * served.
 */
export const STARTED_TOGETHER_MS = 1_000;

/** How long (at least) a released request's id is remembered, to fold retries that come after the window. */
const RELEASED_ID_MEMORY_MS = 60 * 60_000;

/** Create a reorder buffer that hands out requests in `ts` order. */
export function createRequestAssembler(options: RequestAssemblerOptions): RequestAssembler {
  const windowMs = options.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  const { onRequest } = options;
  const onLateRow =
    options.onLateRow ??
    ((row: ReadRow, latenessMs: number) => {
      throw lateRowError(options.file ?? 'trace', row, latenessMs, windowMs);
    });

  // Sorted by arrival, oldest at `head`. Rows come nearly in order, so inserting by scanning back
  // from the end touches a few entries; a heap would pay log n on every push and pop.
  const pending: Array<Pending | undefined> = [];
  let head = 0;
  // Open requests by id, and, as RELEASED, the ids of requests released lately (to fold retries
  // that come after the window).
  const memoryMs = Math.max(RELEASED_ID_MEMORY_MS, 2 * windowMs);
  const byId = createGenerationMemory<Pending | typeof RELEASED>(memoryMs);
  // Conversations by session, to tell which started together. One idle for longer than the memory
  // counts as starting again when it resumes: harmless unless another starts in the same second.
  const sessions = createGenerationMemory<SessionStart>(memoryMs);
  // Released conversation starts of the last STARTED_TOGETHER_MS, oldest at `startsHead`.
  const recentStarts: Array<SessionStart | undefined> = [];
  let startsHead = 0;
  const startedWith = (request: Pending, session: SessionStart): number => {
    const fromMs = request.arrivalMs - STARTED_TOGETHER_MS;
    while (startsHead < recentStarts.length && (recentStarts[startsHead] as SessionStart).firstMs < fromMs) recentStarts[startsHead++] = undefined;
    if (startsHead > 1024 && startsHead * 2 > recentStarts.length) {
      recentStarts.splice(0, startsHead);
      startsHead = 0;
    }
    let count = 0;
    for (let i = startsHead; i < recentStarts.length; i++) {
      (recentStarts[i] as SessionStart).countedBy = session;
      count++;
    }
    // Later starts are still buffered: the buffer holds a reorder window past this request.
    const toMs = request.arrivalMs + STARTED_TOGETHER_MS;
    for (let i = head; i < pending.length; i++) {
      const next = pending[i] as Pending;
      if (next.arrivalMs > toMs) break;
      const other = next.startsSession;
      // Once per conversation, though two of its requests may share its first millisecond (one
      // released already, one still buffered).
      if (other !== null && other !== session && other.firstMs === next.arrivalMs && other.countedBy !== session) {
        other.countedBy = session;
        count++;
      }
    }
    recentStarts.push(session);
    return count;
  };
  let order = 0;
  let seq = 0;
  let newestMs = Number.NEGATIVE_INFINITY;
  let releasedUpToMs = Number.NEGATIVE_INFINITY;
  let lateAttempts = 0;
  let peakBuffered = 0;

  const release = (untilMs: number): void => {
    while (head < pending.length) {
      const first = pending[head] as Pending;
      if (first.arrivalMs > untilMs) break;
      pending[head++] = undefined;
      if (first.id !== null) byId.set(first.id, RELEASED);
      const session = first.startsSession;
      if (session !== null && session.startedWith < 0) session.startedWith = startedWith(first, session);
      first.startedWith = session === null ? 0 : session.startedWith;
      releasedUpToMs = first.arrivalMs;
      onRequest(complete(first, seq++));
    }
    if (head > 4096 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
  };

  return {
    add(row) {
      const id = row.requestId ?? null;
      if (id !== null) {
        const known = byId.get(id);
        if (known === RELEASED) {
          lateAttempts++;
          return;
        }
        if (known !== undefined) {
          known.attempts.push(row);
          return;
        }
      }
      if (row.tsMs < releasedUpToMs) {
        onLateRow(row, releasedUpToMs - row.tsMs);
        return;
      }
      let session: SessionStart | null = null;
      if (row.session !== undefined) {
        // Refreshed on every request, so an active conversation is never forgotten.
        session = sessions.refresh(row.session) ?? null;
        if (session === null) {
          session = { firstMs: row.tsMs, startedWith: -1, countedBy: null };
          sessions.set(row.session, session);
        } else if (row.tsMs < session.firstMs && session.startedWith < 0) {
          // Its earlier request was written later (rows are appended when responses finish).
          session.firstMs = row.tsMs;
        }
      }
      const entry: Pending = {
        seq: -1,
        arrivalMs: row.tsMs,
        session: null,
        model: null,
        tokens: null,
        attempts: [row],
        order: order++,
        id,
        startsSession: session,
        startedWith: undefined,
      };
      let at = pending.length;
      while (at > head && (pending[at - 1] as Pending).arrivalMs > entry.arrivalMs) at--;
      if (at === pending.length) pending.push(entry);
      else pending.splice(at, 0, entry);
      if (id !== null) byId.set(id, entry);
      if (pending.length - head > peakBuffered) peakBuffered = pending.length - head;
      if (row.tsMs > newestMs) {
        newestMs = row.tsMs;
        release(newestMs - windowMs);
        byId.advance(newestMs);
        sessions.advance(newestMs);
      }
    },
    finish() {
      release(Number.POSITIVE_INFINITY);
    },
    get lateAttempts() {
      return lateAttempts;
    },
    get peakBuffered() {
      return peakBuffered;
    },
  };
}

/** The error for a row more out of order than the window allows (its line is resolved by the reader). */
export function lateRowError(file: string, row: ReadRow, latenessMs: number, windowMs: number): TraceError {
  return new TraceError(
    file,
    { recordIndex: row.recordIndex },
    `row is ${formatDurationMs(latenessMs)} earlier than rows already replayed; rows may be out of ts order by at most the reorder window (${formatDurationMs(windowMs)}): raise --reorder-window or sort the file`,
  );
}

/** What {@link createRequestAssembler}'s id map holds for a request already released. */
const RELEASED = 0;

/**
 * Request ids (or sessions) and what is known of them, forgotten a generation at a time: keys go
 * into the current map, and each `periodMs` of trace time the older map is dropped whole and the
 * current one becomes the older. A key is so remembered for between one and two periods after it
 * was last written. No key is ever deleted one by one: a Map that has millions of keys inserted
 * and deleted spends most of its time rehashing around the holes (about 3x slower here).
 *
 * The period is at least twice the reorder window, so an open request (released within one window
 * of its arrival) is never forgotten.
 */
function createGenerationMemory<T>(periodMs: number): {
  get(key: string): T | undefined;
  /** Like `get`, and remembers the key afresh (a key in use is never forgotten). */
  refresh(key: string): T | undefined;
  set(key: string, value: T): void;
  /** The trace's newest time: rotate the generations when a period has passed. */
  advance(nowMs: number): void;
} {
  let current = new Map<string, T>();
  let older = new Map<string, T>();
  let rotateAtMs = Number.NaN;
  return {
    get: (key) => current.get(key) ?? older.get(key),
    refresh(key) {
      const found = current.get(key);
      if (found !== undefined) return found;
      const old = older.get(key);
      if (old !== undefined) current.set(key, old);
      return old;
    },
    set(key, value) {
      current.set(key, value);
    },
    advance(nowMs) {
      if (Number.isNaN(rotateAtMs)) rotateAtMs = nowMs + periodMs;
      if (nowMs < rotateAtMs) return;
      // A gap of more than two periods forgets both generations.
      older = nowMs - rotateAtMs >= periodMs ? new Map() : current;
      current = new Map();
      rotateAtMs = nowMs + periodMs;
    },
  };
}

/** A request while it is buffered; completed in place when released (one object per request). */
interface Pending {
  seq: number;
  readonly arrivalMs: number;
  session: string | null;
  model: string | null;
  tokens: TokenCounts | null;
  readonly attempts: ReadRow[];
  /** Arrival order among equal timestamps (kept by inserting after equal entries). */
  readonly order: number;
  readonly id: string | null;
  /** Its conversation as its first row named it, or null. */
  readonly startsSession: SessionStart | null;
  startedWith: number | undefined;
}

/** A conversation, to tell which started together. */
interface SessionStart {
  /** Its earliest request's arrival seen so far. */
  firstMs: number;
  /** Other conversations it started with; -1 until its first request is released. */
  startedWith: number;
  /** The conversation whose count last included it (so that it is counted once). */
  countedBy: SessionStart | null;
}

function complete(entry: Pending, seq: number): TraceRequest {
  entry.seq = seq;
  for (const row of entry.attempts) {
    if (entry.session === null && row.session !== undefined) entry.session = row.session;
    if (entry.model === null && row.model !== undefined) entry.model = row.model;
    const success = row.status === undefined || (row.status >= 200 && row.status <= 299);
    // Only the attempt that was served was charged; its usage is what the request cost.
    if (success && entry.tokens === null) entry.tokens = tokenCounts(row);
  }
  return entry;
}

function tokenCounts(row: ReadRow): TokenCounts | null {
  const { inputTokens, outputTokens, cacheReadTokens, cacheCreationTokens } = row;
  if (
    inputTokens === undefined &&
    outputTokens === undefined &&
    cacheReadTokens === undefined &&
    cacheCreationTokens === undefined &&
    row.cacheCreation1hTokens === undefined
  ) {
    return null;
  }
  return {
    input: inputTokens ?? 0,
    output: outputTokens ?? 0,
    cacheRead: cacheReadTokens ?? 0,
    cacheCreation: cacheCreationTokens ?? (row.cacheCreation5mTokens ?? 0) + (row.cacheCreation1hTokens ?? 0),
    cacheCreation1h: row.cacheCreation1hTokens,
  };
}
