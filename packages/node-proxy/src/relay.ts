/**
 * @module
 * One owner for an upstream body, from its first byte to its close. The upstream client feeds it
 * every chunk, the end and any error, from the moment the response starts, whoever reads it:
 * reading the opening of a stream, relaying it to the client and abandoning it on failover are
 * modes of the same owner, not readers that hand the body to one another. So no byte, end or
 * error can fall between two readers (a body that arrived in one read ended before the relay
 * attached and hung the client; an abort error emitted after the opening's reader left crashed
 * the process).
 */
import type { ServerResponse } from 'node:http';

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
   * `timeoutMs` passes. Chunks that arrive after that are held too, until {@link relay} or
   * {@link discard}: the caller is to call one of them without waiting for anything else.
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

/** The upstream response an {@link OwnedBody} reads from: its flow control. */
export interface BodySource {
  /** Stop delivering chunks (one already on its way may still arrive). */
  pause(): void;
  /** Deliver chunks again. */
  resume(): void;
  /** Abort the response; its error, if any, arrives at {@link BodyFeed.error} and is ignored once discarded. */
  abort(): void;
}

/** How the upstream client hands an {@link OwnedBody} what arrives, in order: chunks, then an end or an error. */
export interface BodyFeed {
  data(chunk: Buffer): void;
  end(): void;
  error(error: unknown): void;
}

/** An upstream body and the feed its client fills. */
export type OwnedBody = UpstreamBody & BodyFeed;

/**
 * Take ownership of an upstream body as its response starts, before any chunk can arrive: what
 * arrives before a reader asks for it is held.
 */
export function ownBody(source: BodySource): OwnedBody {
  return new Body(source);
}

// A class rather than closures: one object per response on the request path.
class Body implements OwnedBody {
  readonly held: Buffer[] = [];
  private mode: 'hold' | 'relay' | 'gone' = 'hold';
  private ended = false;
  private failed = false;
  private failure: unknown = null;
  // What the current mode wants to hear about: the hold's waiter, or the relay's settle.
  private onHoldEvent: ((chunk: Buffer | null) => void) | null = null;
  private relayTarget: ServerResponse | null = null;
  private relayObserver: BodyObserver | null = null;
  private relayError: ((error: unknown) => void) | null = null;
  // Made on the first backpressure only.
  private onDrain: (() => void) | null = null;
  // The response corked this turn; read by uncork(), a module function so setImmediate needs no closure.
  corked: ServerResponse | null = null;

  constructor(private readonly source: BodySource) {}

  data(chunk: Buffer): void {
    if (this.mode === 'relay') {
      const res = this.relayTarget as ServerResponse;
      this.relayObserver?.push(chunk);
      this.cork(res);
      // A client slower than the upstream holds the upstream body until its socket drains.
      if (!res.write(chunk)) this.waitForDrain(res);
      return;
    }
    if (this.mode === 'hold') {
      this.held.push(chunk);
      this.onHoldEvent?.(chunk);
    }
  }

  end(): void {
    this.ended = true;
    if (this.mode === 'relay') {
      this.relayObserver?.end();
      (this.relayTarget as ServerResponse).end();
    } else if (this.mode === 'hold') {
      this.onHoldEvent?.(null);
    }
  }

  error(error: unknown): void {
    if (this.mode === 'gone' || this.failed || this.ended) return;
    this.failed = true;
    this.failure = error;
    if (this.mode === 'relay') this.relayError?.(error);
    else this.onHoldEvent?.(null);
  }

  hold(complete: (chunk: Buffer) => boolean, timeoutMs: number): Promise<HeldOpening> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const stop = (why: HeldOpening['stop']): void => {
        this.onHoldEvent = null;
        if (timer !== null) clearTimeout(timer);
        // The body keeps flowing: what arrives until the relay starts (the caller goes straight on to
        // it, or discards the body) is held behind the opening. Pausing and resuming undici's parser
        // here cost a stream about as much throughput as all of its error sniffing
        // (docs/benchmarks.md, sixth round).
        resolve({ stop: why, error: why === 'failed' ? this.failure : null });
      };
      if (this.failed) return stop('failed');
      if (this.mode === 'gone') return stop('ended');
      // Chunks already held (read before the hold began) are judged first.
      for (const chunk of this.held) if (complete(chunk)) return stop('complete');
      if (this.ended) return stop('ended');
      this.onHoldEvent = (chunk) => {
        if (chunk !== null) {
          if (complete(chunk)) stop('complete');
        } else {
          stop(this.failed ? 'failed' : 'ended');
        }
      };
      timer = setTimeout(() => stop('timeout'), Math.max(0, timeoutMs));
      this.source.resume();
    });
  }

  relay(res: ServerResponse, observer: BodyObserver | null, clientGone: Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error: unknown): void => {
        res.off('finish', onFinish);
        res.off('close', onClose);
        if (this.onDrain !== null) res.off('drain', this.onDrain);
        this.relayError = null;
        if (error === null) resolve();
        else reject(error);
      };
      const onFinish = (): void => settle(null);
      const onClose = (): void => {
        // Closed before it finished: the client went away.
        this.discard();
        settle(clientGone);
      };
      res.on('finish', onFinish);
      res.on('close', onClose);
      if (this.failed) {
        settle(this.failure);
        return;
      }
      const opening = this.held.splice(0, this.held.length);
      for (const chunk of opening) observer?.push(chunk);
      if (this.ended) {
        observer?.end();
        res.end(opening.length === 1 ? opening[0] : Buffer.concat(opening));
        return;
      }
      this.mode = 'relay';
      this.relayTarget = res;
      this.relayObserver = observer;
      this.relayError = settle;
      // The opening goes out with whatever else this turn brings; the body resumes once the
      // client's socket can take more.
      if (opening.length > 0) this.cork(res);
      const opened = opening.length === 0 || res.write(opening.length === 1 ? (opening[0] as Buffer) : Buffer.concat(opening));
      if (opened) this.source.resume();
      else this.waitForDrain(res);
    });
  }

  discard(): void {
    if (this.mode === 'gone') return;
    this.mode = 'gone';
    this.onHoldEvent = null;
    this.held.length = 0;
    if (!this.ended && !this.failed) this.source.abort();
  }

  private waitForDrain(res: ServerResponse): void {
    this.source.pause();
    this.onDrain ??= () => {
      if (this.mode === 'relay') this.source.resume();
    };
    res.once('drain', this.onDrain);
  }

  // What is relayed in one turn of the event loop leaves in one system call: the client's socket is
  // corked at the first write and uncorked once the turn's I/O callbacks, ticks and promise jobs are
  // done (setImmediate). So a stream that came in one read (its opening, the rest, and the end's
  // terminator, which `res.end()` flushes at once) goes out as one write instead of three; nothing
  // waits for a later read.
  private cork(res: ServerResponse): void {
    if (this.corked !== null) return;
    this.corked = res;
    res.cork();
    // One immediate per turn for every response corked in it, not one per response.
    if (corkedThisTurn.push(this) === 1) setImmediate(uncorkAll);
  }
}

// The bodies whose response was corked this turn of the event loop.
let corkedThisTurn: Body[] = [];

function uncorkAll(): void {
  // Swapped first: an uncork that lets a body resume may cork it again, for the next turn.
  const bodies = corkedThisTurn;
  corkedThisTurn = [];
  for (const body of bodies) uncork(body);
}

function uncork(body: Body): void {
  const res = body.corked as ServerResponse;
  body.corked = null;
  // After end() (which uncorks fully) or once the socket went to the connection's next response,
  // this does nothing.
  res.uncork();
}
