/** How a batch processor groups items (see {@link BatchProcessors.create}). */
export interface BatchOptions {
  /** A batch goes as soon as this many items wait (a whole number, 1 to 1,000,000). */
  batchSize: number;
  /** ...or this many ms after the oldest waiting item was added, however few wait. */
  batchTimeout: number;
  /**
   * Items accepted and not yet handled (waiting, or in the batch being handled), at most.
   * Default 10 × `batchSize`; at least `batchSize`.
   */
  maxPending?: number;
  /**
   * What `add` does at `maxPending`: `'wait'` (default) resolves once there is room (at most
   * `maxPending` adds wait; past that they fail too), `'fail'` rejects at once with
   * `BackpressureError`.
   */
  whenFull?: 'wait' | 'fail';
  /** Times a failed batch is handed to its handler again before it is reported. Default 0. */
  retries?: number;
  /** Ms between those attempts. Default 1000. */
  retryDelay?: number;
}

/** Handles one batch; a throw or a rejected promise fails the batch (retried, then reported). */
export type BatchHandler<T> = (items: T[]) => unknown;

/**
 * Told of each batch that failed for good, with its items (so they can be kept elsewhere). A
 * throw or a rejected promise is logged.
 */
export type BatchErrorListener<T> = (error: unknown, items: T[]) => unknown;

/**
 * Collects items and hands them to its `'batch'` handlers in batches, one batch at a time, in
 * the order they were added. Items added before a handler exists wait for one.
 */
export interface BatchProcessor<T = unknown> {
  readonly name: string;
  /** Items accepted and not yet handled: waiting, or in the batch being handled. */
  readonly pending: number;
  /**
   * Add an item. Resolves once it is accepted (at once while there is room), so it need not be
   * awaited; rejects with `BackpressureError` when full (see `whenFull`) and with `ClosedError`
   * after `close()`.
   */
  add(item: T): Promise<void>;
  /**
   * `'batch'`: handle each batch (every handler gets every batch). `'error'`: be told of each
   * batch that failed after its retries; it is also reported as `plugin.error` (event
   * `batch.<name>`), and logged.
   */
  on(event: 'batch', handler: BatchHandler<T>): this;
  on(event: 'error', listener: BatchErrorListener<T>): this;
  /**
   * Send every item added so far without waiting for `batchSize` or `batchTimeout`; resolves
   * once they were handled or reported as failed (with no handler yet, once one is added).
   */
  flush(): Promise<void>;
  /**
   * Refuse further adds, flush, and resolve once every accepted item was handled or reported.
   * Items no handler could ever take (none was added) are reported as failed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * `context.batchProcessor`: batch processors owned by the plugin. They are closed (flushed,
 * within the host's stop bound) when the plugin stops.
 */
export interface BatchProcessors {
  /** A new processor; `name` (dotted, like event names) is unique among the plugin's open ones. */
  create<T = unknown>(name: string, options: BatchOptions): BatchProcessor<T>;
}
