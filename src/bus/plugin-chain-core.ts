import { ChainHandlerError, ChainNextCalledTwiceError } from '../errors/errors.js';
import { LazyEventMeta } from './event-meta.js';
import type { EventBusCore } from './event-bus-core.js';
import type { SubscriptionRecord } from './subscription-record.js';

/**
 * Runs the local subscribers of one event as middleware: priority order, each continuing with
 * `await next()`. Groups do not apply to chains (every local subscriber takes part), and chains
 * never leave the node: they are a way to compose in-process processing, not a delivery mode.
 */
export class PluginChainCore {
  constructor(
    private readonly bus: EventBusCore,
    private readonly nodeId: string,
    private readonly nextId: () => string,
  ) {}

  async execute<T>(source: string, event: string, data: T): Promise<T> {
    const subs = this.bus.subscribersOf(event).filter((s) => s.active);
    const meta = new LazyEventMeta(event, source, this.nodeId, Date.now(), this.nextId);
    const run = async (index: number): Promise<void> => {
      const sub: SubscriptionRecord | undefined = subs[index];
      if (sub === undefined) return;
      if (sub.once) sub.end('once');
      let called = false;
      let rest: Promise<void> | undefined;
      const next = (): Promise<void> => {
        if (called) {
          return Promise.reject(
            new ChainNextCalledTwiceError(
              `Plugin "${sub.owner}" called next() twice in the chain "${event}"; call it at most once.`,
              { details: { pluginId: sub.owner, event } },
            ),
          );
        }
        called = true;
        return (rest = run(index + 1));
      };
      sub.tracker.begin();
      try {
        await sub.handler(data, next, meta);
        // A handler that called next() without awaiting it: the chain still ends only when the
        // rest has, and the rest's errors still reject execute().
        if (rest !== undefined) await rest;
      } catch (error) {
        throw attribute(error, sub.owner, event);
      } finally {
        sub.tracker.end();
      }
    };
    await run(0);
    return data;
  }
}

/**
 * The SPEC wants `execute` to reject with the handler's own error, naming the plugin: the error
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
  return new ChainHandlerError(`Plugin "${pluginId}" failed in the chain "${event}": ${message}`, {
    details: { pluginId, event },
    cause: error,
  });
}
