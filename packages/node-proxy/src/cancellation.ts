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
  const emitter = new EventEmitter() as EventEmitter & { aborted: boolean; reason: unknown; abort(reason: unknown): void; toSignal(): AbortSignal };
  emitter.aborted = false;
  emitter.reason = undefined;
  emitter.abort = (reason) => {
    if (emitter.aborted) return;
    emitter.aborted = true;
    emitter.reason = reason;
    emitter.emit('abort');
  };
  emitter.toSignal = () => {
    const controller = new AbortController();
    if (emitter.aborted) controller.abort(emitter.reason);
    else emitter.once('abort', () => controller.abort(emitter.reason));
    return controller.signal;
  };
  return emitter;
}
