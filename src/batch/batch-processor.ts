import type { Logger } from 'pino';
import { BackpressureError, ClosedError, ValidationError } from '../errors/errors.js';
import { isThenable } from '../util/thenable.js';
import { sleep } from '../util/sleep.js';
import type { BatchSettings } from './batch-options.js';
import type { BatchErrorListener, BatchHandler, BatchProcessor } from './types.js';

/** What a processor needs from its owner (the plugin's scope, through the facade). */
export interface BatchEnv {
  readonly logger: Logger;
  /** Call a handler or listener as the owner's code (attribution of what it starts). */
  invoke<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R;
  /** Report a batch that failed for good (as `plugin.error`). */
  report(error: unknown): void;
  /** Count the processor as work in flight while items are pending; returns its end. */
  track(): () => void;
  /** True once the owner stopped for good (its stop bound passed): retries give up. */
  abandoned(): boolean;
  /** Called once, when `close()` has finished. */
  onClosed(): void;
}

const ACCEPTED = Promise.resolve();

/**
 * One batch processor. Items wait in `waiting` (FIFO) until a batch goes: `batchSize` of them
 * wait, the oldest waited `batchTimeout`, or a flush asks for them. One batch is handled at a
 * time, by every `'batch'` handler, so items are handled in the order they were added and at most
 * `maxPending` are held (plus at most `maxPending` adds waiting for room).
 */
export class BatchProcessorImpl<T> implements BatchProcessor<T> {
  private waiting: T[] = [];
  /** When each waiting item was added, parallel to `waiting`. */
  private addedAt: number[] = [];
  /** Items in the batch being handled. */
  private inFlight = 0;
  private running = false;
  private readonly handlers: Array<BatchHandler<T>> = [];
  private readonly listeners: Array<BatchErrorListener<T>> = [];
  /** Adds waiting for room (`whenFull: 'wait'`). */
  private roomWaiters: Array<{ item: T; resolve: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Items accepted, and items handled or reported, since creation (they go in order). */
  private accepted = 0;
  private settled = 0;
  /** Items up to this count go without waiting for a full batch (flush, close). */
  private forceUntil = 0;
  private flushes: Array<{ upTo: number; resolve: () => void }> = [];
  private closing: Promise<void> | undefined;
  private endWork: (() => void) | undefined;

  constructor(
    readonly name: string,
    private readonly settings: BatchSettings,
    private readonly env: BatchEnv,
  ) {}

  get pending(): number {
    return this.waiting.length + this.inFlight;
  }

  add(item: T): Promise<void> {
    if (this.closing !== undefined) {
      return Promise.reject(
        new ClosedError(`Batch processor "${this.name}" is closed; it accepts no more items.`, {
          details: { processor: this.name },
        }),
      );
    }
    if (this.pending < this.settings.maxPending && this.roomWaiters.length === 0) {
      this.accept(item);
      return ACCEPTED;
    }
    const { whenFull, maxPending } = this.settings;
    if (whenFull === 'fail' || this.roomWaiters.length >= maxPending) {
      return Promise.reject(
        new BackpressureError(
          `Batch processor "${this.name}" holds ${maxPending} items (maxPending)${whenFull === 'wait' ? ` and ${maxPending} adds wait for room` : ''}; add later.`,
          { details: { processor: this.name, maxPending } },
        ),
      );
    }
    return new Promise((resolve) => this.roomWaiters.push({ item, resolve }));
  }

  on(event: 'batch', handler: BatchHandler<T>): this;
  on(event: 'error', listener: BatchErrorListener<T>): this;
  on(event: 'batch' | 'error', fn: BatchHandler<T> | BatchErrorListener<T>): this {
    if (typeof fn !== 'function') {
      throw new ValidationError(`Batch processor "${this.name}": on('${event}') needs a function.`);
    }
    if (event === 'batch') {
      this.handlers.push(fn as BatchHandler<T>);
      this.pump();
    } else if (event === 'error') {
      this.listeners.push(fn as BatchErrorListener<T>);
    } else {
      throw new ValidationError(
        `Batch processor "${this.name}" has the events 'batch' and 'error', not '${String(event)}'.`,
      );
    }
    return this;
  }

  flush(): Promise<void> {
    if (this.settled === this.accepted) return ACCEPTED;
    const upTo = this.accepted;
    this.forceUntil = Math.max(this.forceUntil, upTo);
    const done = new Promise<void>((resolve) => this.flushes.push({ upTo, resolve }));
    this.pump();
    return done;
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    // Adds made before the close are all taken (a flush makes the room they wait for).
    for (const waiter of this.roomWaiters.splice(0)) {
      this.accept(waiter.item);
      waiter.resolve();
    }
    if (this.handlers.length === 0 && this.waiting.length > 0) {
      const items = this.take(this.waiting.length);
      this.fail(
        new ClosedError(
          `Batch processor "${this.name}" was closed with ${items.length} item(s) and no 'batch' handler to take them.`,
          { details: { processor: this.name, items: items.length } },
        ),
        items,
      );
      this.settle(items.length);
    }
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.env.onClosed();
  }

  private accept(item: T): void {
    this.waiting.push(item);
    this.addedAt.push(Date.now());
    this.accepted++;
    this.endWork ??= this.env.track();
    this.pump();
  }

  /** Send the next batch if one is due, else arm the timer of the oldest waiting item. */
  private pump(): void {
    if (this.running || this.handlers.length === 0 || this.waiting.length === 0) return;
    const { batchSize, batchTimeout } = this.settings;
    const age = Date.now() - this.addedAt[0]!;
    if (this.waiting.length >= batchSize || this.settled < this.forceUntil || age >= batchTimeout) {
      this.run(this.take(Math.min(batchSize, this.waiting.length)));
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, batchTimeout - age);
    }
  }

  private take(count: number): T[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.addedAt.splice(0, count);
    return this.waiting.splice(0, count);
  }

  private run(items: T[]): void {
    this.running = true;
    this.inFlight = items.length;
    // On the next microtask: a handler never runs inside the add() or on() that triggered it.
    void Promise.resolve()
      .then(() => Promise.all(this.handlers.map((handler) => this.deliver(handler, items))))
      .finally(() => {
        this.running = false;
        this.inFlight = 0;
        this.settle(items.length);
        this.pump();
      });
  }

  /** One handler's attempts at one batch; a batch that fails for good is reported. Never rejects. */
  private async deliver(handler: BatchHandler<T>, items: T[]): Promise<void> {
    const { retries, retryDelay } = this.settings;
    for (let attempt = 1; ; attempt++) {
      try {
        // Each attempt gets its own array: a handler may keep or change what it was given.
        await this.env.invoke(handler, items.slice());
        return;
      } catch (error) {
        if (attempt > retries) return this.fail(error, items);
        this.env.logger.warn(
          { err: error, processor: this.name, attempt, items: items.length },
          'batch handler failed; retrying',
        );
        await sleep(retryDelay);
        if (this.env.abandoned()) {
          const stopped = new ClosedError(
            `The plugin stopped before batch processor "${this.name}" could retry a failed batch.`,
            { details: { processor: this.name, items: items.length }, cause: error },
          );
          return this.fail(stopped, items);
        }
      }
    }
  }

  /** Items handled or reported: let waiting adds in, resolve flushes, end the work count. */
  private settle(count: number): void {
    this.settled += count;
    while (this.roomWaiters.length > 0 && this.pending < this.settings.maxPending) {
      const waiter = this.roomWaiters.shift()!;
      this.accept(waiter.item);
      waiter.resolve();
    }
    if (this.flushes.length > 0) {
      const done = this.flushes.filter((f) => f.upTo <= this.settled);
      this.flushes = this.flushes.filter((f) => f.upTo > this.settled);
      for (const flush of done) flush.resolve();
    }
    if (this.pending === 0 && this.endWork !== undefined) {
      this.endWork();
      this.endWork = undefined;
    }
  }

  /** A batch failed for good: report it and tell the 'error' listeners, with its items. */
  private fail(error: unknown, items: T[]): void {
    this.env.report(error);
    for (const listener of this.listeners) {
      const logFailure = (listenerError: unknown): void =>
        this.env.logger.error(
          { err: listenerError, processor: this.name },
          "a batch processor's 'error' listener failed",
        );
      try {
        const result: unknown = this.env.invoke(listener, error, items.slice());
        if (isThenable(result)) result.then(undefined, logFailure);
      } catch (listenerError) {
        logFailure(listenerError);
      }
    }
  }
}
