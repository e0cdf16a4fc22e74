/**
 * @module
 * A request's cancellation. Creating an `AbortController` costs about 10 µs on Node 20, several
 * times what the rest of a routing decision costs, and most requests never need one: undici
 * accepts an event emitter as its `signal`, and a real `AbortSignal` is made only for the rare
 * paths that need one (a hold, a credential refresh).
 */
import { EventEmitter } from 'node:events';

/** An emitter of one `abort` event, with `aborted` and `reason` as on an `AbortSignal`. */
export interface Cancellation extends EventEmitter {
  /** True once {@link Cancellation.abort} was called. */
  readonly aborted: boolean;
  /** What {@link Cancellation.abort} was called with. */
  readonly reason: unknown;
  /** Cancel (once; later calls do nothing). */
  abort(reason: unknown): void;
  /** An `AbortSignal` that aborts with this cancellation. */
  toSignal(): AbortSignal;
}

/** A new, not yet aborted {@link Cancellation}. */
export function cancellation(): Cancellation {
  return new RequestCancellation();
}

// A class, so a request pays for one object rather than an emitter and three closures.
class RequestCancellation extends EventEmitter implements Cancellation {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }

  toSignal(): AbortSignal {
    const controller = new AbortController();
    if (this.aborted) controller.abort(this.reason);
    else this.once('abort', () => controller.abort(this.reason));
    return controller.signal;
  }
}
