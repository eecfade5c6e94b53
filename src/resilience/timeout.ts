import { TimeoutError } from '../errors/errors.js';
import { sharedDeadlines, type Deadlines } from '../util/deadlines.js';
import { invoke, NEVER_ABORTED, type Step } from './call-context.js';
import type { CallContext, Guarded } from './types.js';

/**
 * One attempt under a timeout. Its `signal` is made on first read: creating an AbortSignal
 * costs far more than a guarded call (over 10 µs on Node 20), and most callees never look.
 */
class TimedCall implements CallContext {
  /** Neighbours in its {@link OuterWatch}'s list (a list, not a Set: no hashing per call). */
  prev: TimedCall | undefined;
  next: TimedCall | undefined;
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  constructor(readonly attempt: number) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * The attempts running under one outer signal (a plugin's stop, a caller's cancellation), so
 * one listener reaches them all: adding and removing an event listener per call costs
 * several µs, and so does reading `signal.aborted` on some Node versions.
 */
class OuterWatch {
  private head: TimedCall | undefined;
  aborted = false;
  reason: unknown;

  constructor(signal: AbortSignal) {
    if (signal.aborted) {
      this.aborted = true;
      this.reason = signal.reason;
      return;
    }
    signal.addEventListener(
      'abort',
      () => {
        this.aborted = true;
        this.reason = signal.reason;
        for (let call = this.head; call !== undefined; call = call.next) call.abort(signal.reason);
        this.head = undefined;
      },
      { once: true },
    );
  }

  add(call: TimedCall): void {
    call.next = this.head;
    if (this.head !== undefined) this.head.prev = call;
    this.head = call;
  }

  delete(call: TimedCall): void {
    if (call.prev !== undefined) call.prev.next = call.next;
    else if (this.head === call) this.head = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
    call.prev = call.next = undefined;
  }
}

/** Weak: an outer signal that is gone takes its watch with it. */
const watches = new WeakMap<AbortSignal, OuterWatch>();

function watchOf(signal: AbortSignal): OuterWatch {
  let watch = watches.get(signal);
  if (watch === undefined) watches.set(signal, (watch = new OuterWatch(signal)));
  return watch;
}

/**
 * Bound each attempt by `ms`: past it the call rejects with `TimeoutError` and the callee's
 * `signal` aborts with that error (it should stop its work; the policy does not wait for it).
 * The callee's signal also aborts when the outer one does (the plugin stops). Deadlines share
 * one ticking timer, so a timeout fires up to 10 ms late, never early.
 */
export class TimeoutPolicy implements Step {
  constructor(
    readonly ms: number,
    private readonly deadlines: Deadlines = sharedDeadlines,
  ) {}

  /** The last outer signal seen and its watch (most calls of a policy share one). */
  private lastSignal: AbortSignal | undefined;
  private lastWatch: OuterWatch | undefined;

  run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timed = new TimedCall(call.attempt);
      const watch = this.watch(call.signal);
      if (watch?.aborted === true) timed.abort(watch.reason);
      else watch?.add(timed);
      const entry = this.deadlines.add(this.ms, () => {
        watch?.delete(timed);
        const error = new TimeoutError(
          `The call did not finish within its ${this.ms} ms timeout (attempt ${call.attempt}).`,
          { details: { timeoutMs: this.ms, attempt: call.attempt } },
        );
        timed.abort(error);
        reject(error);
      });
      invoke(fn, timed).then(
        (value) => {
          if (!entry.cancel()) return;
          watch?.delete(timed);
          resolve(value);
        },
        (error: unknown) => {
          if (!entry.cancel()) return;
          watch?.delete(timed);
          reject(error);
        },
      );
    });
  }

  private watch(signal: AbortSignal): OuterWatch | undefined {
    if (signal === NEVER_ABORTED) return undefined;
    if (signal !== this.lastSignal) {
      this.lastSignal = signal;
      this.lastWatch = watchOf(signal);
    }
    return this.lastWatch;
  }
}
