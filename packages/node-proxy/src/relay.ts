/**
 * @module
 * One owner for an upstream body, from its first byte to its close. The body's `data`, `end` and
 * `error` listeners are attached once, when the answer arrives, and are never taken off: reading
 * the opening of a stream, relaying it to the client and abandoning it on failover are modes of
 * the same owner, not readers that hand the body to one another. So no byte, end or error can
 * fall between two readers (a body that arrived in one read ended before the relay attached and
 * hung the client; an abort error emitted after the opening's reader left crashed the process).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** Sees every relayed chunk, unchanged (error sniffing, usage for the log and the trace). */
export interface BodyObserver {
  push(chunk: Uint8Array): void;
  end(): void;
}

/** What {@link UpstreamBody.hold} gathered before it stopped. */
export interface HeldOpening {
  /** Why it stopped: the predicate said the opening is complete, the body ended or failed, or the deadline passed. */
  readonly stop: 'complete' | 'ended' | 'failed' | 'timeout';
  /** The error the body failed with (for `failed`). */
  readonly error: unknown;
}

/** An upstream body with exactly one owner. */
export interface UpstreamBody {
  /** Everything read but not yet relayed, in order. */
  readonly held: readonly Buffer[];
  /**
   * Read and hold back chunks until `complete(chunk)` returns true, the body ends or fails, or
   * `timeoutMs` passes; then stop reading (nothing is lost: the body is paused).
   */
  hold(complete: (chunk: Buffer) => boolean, timeoutMs: number): Promise<HeldOpening>;
  /**
   * Send what is held, then the rest of the body, to `res` with backpressure, showing every chunk
   * to `observer`. Resolves once `res` has finished; rejects with the body's error (the caller
   * cuts the client off), or with `clientGone` when `res` closed first (the body is then
   * destroyed).
   */
  relay(res: ServerResponse, observer: BodyObserver | null, clientGone: Error): Promise<void>;
  /** Abandon the body (failover, client gone): destroy it; its abort error goes nowhere. */
  discard(): void;
}

/** Take ownership of an upstream body. Call at once, before anything else listens to it. */
export function ownBody(body: Readable): UpstreamBody {
  const held: Buffer[] = [];
  let mode: 'hold' | 'relay' | 'gone' = 'hold';
  let ended = false;
  let failure: unknown = null;
  let failed = false;
  // What the current mode wants to hear about: the hold's waiter, or the relay's settle.
  let onHoldEvent: ((chunk: Buffer | null) => void) | null = null;
  let relayTarget: ServerResponse | null = null;
  let relayObserver: BodyObserver | null = null;
  let relayError: ((error: unknown) => void) | null = null;

  const onDrain = (): void => {
    if (mode === 'relay') body.resume();
  };
  // What is relayed in one turn of the event loop leaves in one system call: the client's socket is
  // corked at the first write and uncorked once the turn's I/O callbacks, ticks and promise jobs are
  // done (setImmediate). So a stream that came in one read (its opening, the rest, and the end's
  // terminator, which `res.end()` flushes at once) goes out as one write instead of three; nothing
  // waits for a later read.
  let corked: ServerResponse | null = null;
  const uncork = (): void => {
    const res = corked as ServerResponse;
    corked = null;
    // After end() (which uncorks fully) or once the socket went to the connection's next response,
    // this does nothing.
    res.uncork();
  };
  const cork = (res: ServerResponse): void => {
    if (corked !== null) return;
    corked = res;
    res.cork();
    setImmediate(uncork);
  };
  body.on('data', (chunk: Buffer) => {
    if (mode === 'relay') {
      const res = relayTarget as ServerResponse;
      relayObserver?.push(chunk);
      cork(res);
      // A client slower than the upstream holds the upstream body until its socket drains.
      if (!res.write(chunk)) {
        body.pause();
        res.once('drain', onDrain);
      }
      return;
    }
    if (mode === 'hold') {
      held.push(chunk);
      onHoldEvent?.(chunk);
    }
  });
  body.on('end', () => {
    ended = true;
    if (mode === 'relay') {
      relayObserver?.end();
      (relayTarget as ServerResponse).end();
    } else if (mode === 'hold') {
      onHoldEvent?.(null);
    }
  });
  // Never removed: an undici body emits its abort error whenever it is destroyed unfinished.
  body.on('error', (error: unknown) => {
    if (mode === 'gone' || failed) return;
    failed = true;
    failure = error;
    if (mode === 'relay') relayError?.(error);
    else onHoldEvent?.(null);
  });

  return {
    held,
    hold(complete, timeoutMs) {
      return new Promise((resolve) => {
        let timer: NodeJS.Timeout | null = null;
        const stop = (why: HeldOpening['stop']): void => {
          onHoldEvent = null;
          if (timer !== null) clearTimeout(timer);
          if (why === 'complete' || why === 'timeout') body.pause();
          resolve({ stop: why, error: why === 'failed' ? failure : null });
        };
        if (failed) return stop('failed');
        if (mode === 'gone') return stop('ended');
        // Chunks already held (read before the hold began) are judged first.
        for (const chunk of held) if (complete(chunk)) return stop('complete');
        if (ended) return stop('ended');
        onHoldEvent = (chunk) => {
          if (chunk !== null) {
            if (complete(chunk)) stop('complete');
          } else {
            stop(failed ? 'failed' : 'ended');
          }
        };
        timer = setTimeout(() => stop('timeout'), Math.max(0, timeoutMs));
        body.resume();
      });
    },
    relay(res, observer, clientGone) {
      return new Promise((resolve, reject) => {
        const settle = (error: unknown): void => {
          res.off('finish', onFinish);
          res.off('close', onClose);
          res.off('drain', onDrain);
          relayError = null;
          if (error === null) resolve();
          else reject(error);
        };
        const onFinish = (): void => settle(null);
        const onClose = (): void => {
          // Closed before it finished: the client went away.
          mode = 'gone';
          body.destroy();
          settle(clientGone);
        };
        res.on('finish', onFinish);
        res.on('close', onClose);
        if (failed) {
          settle(failure);
          return;
        }
        const opening = held.splice(0, held.length);
        for (const chunk of opening) observer?.push(chunk);
        if (ended) {
          observer?.end();
          res.end(opening.length === 1 ? opening[0] : Buffer.concat(opening));
          return;
        }
        mode = 'relay';
        relayTarget = res;
        relayObserver = observer;
        relayError = (error) => settle(error);
        // The opening goes out with whatever else this turn brings; the body resumes once the
        // client's socket can take more.
        if (opening.length > 0) cork(res);
        const opened = opening.length === 0 || res.write(opening.length === 1 ? (opening[0] as Buffer) : Buffer.concat(opening));
        if (opened) body.resume();
        else res.once('drain', onDrain);
      });
    },
    discard() {
      if (mode === 'gone') return;
      mode = 'gone';
      onHoldEvent = null;
      held.length = 0;
      if (!ended) body.destroy();
    },
  };
}
