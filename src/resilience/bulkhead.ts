import { BulkheadRejectedError } from '../errors/errors.js';
import { invoke, ROOT_CALL, type Step } from './call-context.js';
import { numberOption, objectOption } from './check.js';
import type { BulkheadOptions, BulkheadPolicy, CallContext, Guarded } from './types.js';

interface Waiter {
  run(): void;
  /** Set once started or given up (aborted while waiting: then also taken out of the line). */
  done: boolean;
}

/**
 * At most `maxConcurrent` calls at once; up to `maxQueue` more wait in order for a slot, and
 * beyond that a call is rejected at once with `BulkheadRejectedError`. A waiting call whose
 * signal aborts (its plugin stops) leaves the line with that reason.
 */
export class Bulkhead implements Step, BulkheadPolicy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  private active = 0;
  private line: Waiter[] = [];
  private head = 0;
  private waiting = 0;

  constructor(options: BulkheadOptions) {
    objectOption(options ?? null, 'bulkhead options');
    // `?? null`: required, so a missing value is reported like a wrong one.
    const max = options.maxConcurrent ?? null;
    this.maxConcurrent = numberOption(max, 'maxConcurrent', 1, 1, 1e9, true);
    this.maxQueue = numberOption(options.maxQueue, 'maxQueue', 0, 0, 1e9, true);
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting;
  }

  execute<T>(fn: Guarded<T>): Promise<T> {
    return this.run(fn, ROOT_CALL);
  }

  run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      return invoke(fn, call).finally(this.leave);
    }
    if (this.waiting >= this.maxQueue) {
      return Promise.reject(
        new BulkheadRejectedError(
          `Bulkhead full: ${this.maxConcurrent} call(s) running and ${this.waiting} waiting.`,
          { details: { maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue } },
        ),
      );
    }
    return this.wait(fn, call);
  }

  private wait<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    const signal = call.signal;
    // Never counted as waiting: `onAbort` below undoes a count this call would not have made.
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiting--;
        const index = this.line.indexOf(waiter, this.head);
        if (index >= 0) this.line.splice(index, 1);
        reject(signal.reason as Error);
      };
      const waiter: Waiter = {
        done: false,
        run: () => {
          signal.removeEventListener('abort', onAbort);
          invoke(fn, call).finally(this.leave).then(resolve, reject);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.line.push(waiter);
      this.waiting++;
    });
  }

  /** A call ended: its slot goes to the first waiter still waiting. */
  private readonly leave = (): void => {
    this.active--;
    if (this.head < this.line.length) {
      const waiter = this.line[this.head]!;
      this.line[this.head++] = undefined as unknown as Waiter;
      waiter.done = true;
      this.waiting--;
      this.active++;
      waiter.run();
    }
    // Consumed entries are dropped when the line empties or is mostly consumed.
    if (this.head === this.line.length) {
      this.line = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line = this.line.slice(this.head);
      this.head = 0;
    }
  };
}
