import { ChainHandlerError, ChainNextCalledTwiceError, TimeoutError } from '../errors/errors.js';
import { sharedDeadlines, type DeadlineEntry, type Deadlines } from '../util/deadlines.js';
import { currentTraceId, enterTrace, exitTrace } from './current-trace.js';
import { LazyEventMeta } from './event-meta.js';
import type { EventBusCore } from './event-bus-core.js';
import type { SubscriptionRecord } from './subscription-record.js';

export interface PluginChainOptions {
  /** Bound on each handler's own work, ms (the event bus's `handlerTimeout`). Default 30000. */
  handlerTimeout?: number;
  /** The scheduler the bounds live in (the runtime's). */
  deadlines?: Deadlines;
}

const noop = (): void => undefined;

/**
 * Runs the local subscribers of one event as middleware: priority order, each continuing with
 * `await next()`. Groups do not apply to chains (every local subscriber takes part), and chains
 * never leave the node: they are a way to compose in-process processing, not a delivery mode.
 *
 * `execute` always settles: each handler's own work (from its start until it calls `next()`,
 * and again from when `next()` settles until it returns) is bounded by `handlerTimeout`, so a
 * handler that never settles rejects `execute` with a `TimeoutError` naming its plugin and the
 * event; time spent in later handlers is theirs. Every error that rejects `execute` carries the
 * plugin it came from (`pluginId`). A second `next()` call rejects `execute` with
 * `ChainNextCalledTwiceError`; no promise the chain creates is ever left rejected unhandled.
 */
export class PluginChainCore {
  private readonly handlerTimeout: number;
  private readonly deadlines: Deadlines;

  constructor(
    private readonly bus: EventBusCore,
    private readonly nodeId: string,
    private readonly nextId: () => string,
    options: PluginChainOptions = {},
  ) {
    this.handlerTimeout = options.handlerTimeout ?? 30_000;
    this.deadlines = options.deadlines ?? sharedDeadlines;
  }

  async execute<T>(source: string, event: string, data: T): Promise<T> {
    const subs = this.bus.subscribersOf(event).filter((s) => s.active);
    // A chain executed from inside a running handler continues that handler's trace.
    const meta = new LazyEventMeta(
      event,
      source,
      this.nodeId,
      Date.now(),
      this.nextId,
      undefined,
      currentTraceId(),
    );
    const run = (index: number): Promise<void> => {
      const sub: SubscriptionRecord | undefined = subs[index];
      if (sub === undefined) return Promise.resolve();
      return this.runOne(
        sub,
        event,
        (next) => {
          const previous = enterTrace(meta);
          try {
            return sub.handler(data, next, meta);
          } finally {
            exitTrace(previous);
          }
        },
        () => run(index + 1),
      );
    };
    await run(0);
    return data;
  }

  /** Run one handler under its bound; `rest` runs the handlers after it (its `next()`). */
  private runOne(
    sub: SubscriptionRecord,
    event: string,
    call: (next: () => Promise<void>) => unknown,
    rest: () => Promise<void>,
  ): Promise<void> {
    if (sub.once) sub.end('once');
    const timeout = this.handlerTimeout;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let clock: DeadlineEntry | undefined;
      let restPromise: Promise<void> | undefined;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clock?.cancel();
        reject(attribute(error, sub.owner, event));
      };
      const arm = (): void => {
        clock = this.deadlines.add(timeout, () =>
          fail(
            new TimeoutError(
              `Chain handler of plugin "${sub.owner}" for "${event}" did not settle within ${timeout} ms (handlerTimeout).`,
              { details: { pluginId: sub.owner, event, timeout } },
            ),
          ),
        );
      };
      const next = (): Promise<void> => {
        if (restPromise !== undefined) {
          const error = new ChainNextCalledTwiceError(
            `Plugin "${sub.owner}" called next() twice in the chain "${event}"; call it at most once.`,
            { details: { pluginId: sub.owner, event } },
          );
          fail(error);
          const rejected = Promise.reject(error);
          rejected.catch(noop); // execute() rejects with it; the handler need not await it
          return rejected;
        }
        // The later handlers have their own bounds: this handler's clock pauses meanwhile.
        clock?.cancel();
        restPromise = rest();
        restPromise.then(
          () => !settled && arm(),
          (error: unknown) => fail(error),
        );
        return restPromise;
      };
      arm();
      sub.tracker.begin();
      let result: unknown;
      try {
        result = call(next);
      } catch (error) {
        sub.tracker.end();
        fail(error);
        return;
      }
      Promise.resolve(result)
        .finally(() => sub.tracker.end())
        .then(
          // A handler that called next() without awaiting it: the chain still ends only when
          // the rest has, and the rest's errors still reject execute().
          () =>
            (restPromise ?? Promise.resolve()).then(() => {
              if (settled) return;
              settled = true;
              clock?.cancel();
              resolve();
            }),
        )
        .catch(fail);
    });
  }
}

/**
 * `execute` rejects with the handler's own error, naming the plugin: the error
 * keeps its class and message and gains `pluginId` (the innermost plugin, set once). A thrown
 * non-error, or a frozen error, is wrapped in a {@link ChainHandlerError} with it as `cause`.
 */
function attribute(error: unknown, pluginId: string, event: string): unknown {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
    if (!Object.hasOwn(error, 'pluginId')) {
      Object.defineProperty(error, 'pluginId', {
        value: pluginId,
        enumerable: true,
        configurable: true,
      });
    }
    return error;
  }
  // A thrown non-error, or a frozen error we must not touch: wrap it, keeping it as the cause.
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new ChainHandlerError(
    `Plugin "${pluginId}" failed in the chain "${event}": ${message}`,
    { details: { pluginId, event }, cause: error },
  );
  // Own property, so the plugins before it in the chain do not claim it.
  Object.defineProperty(wrapped, 'pluginId', {
    value: pluginId,
    enumerable: true,
    configurable: true,
  });
  return wrapped;
}
