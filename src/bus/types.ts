import type { EventPayload } from '../contracts/contracts.js';

/** Facts about one delivered event. */
export interface EventMeta {
  /** The concrete event name (`user.created`), even when subscribed by pattern. */
  readonly event: string;
  /** Unique id of this publication. */
  readonly id: string;
  /** Name of the publishing plugin (`host` for the host itself). */
  readonly source: string;
  /** Node that published it. */
  readonly nodeId: string;
  /**
   * Epoch milliseconds at publish. (The clock is read only when some receiver declares the
   * `meta` parameter; a handler that reaches `meta` otherwise, e.g. through `arguments`, should
   * read the timestamp during its call.)
   */
  readonly timestamp: number;
  /** Trace id that follows this piece of work (the publisher's, or this event's id). */
  readonly traceId: string;
  /** Durable subscriptions only: 1 on the first delivery, higher on redeliveries. */
  readonly attempt?: number;
}

/** Continue a plugin chain. Harmless (resolves at once) during a plain publish. */
export type Next = () => Promise<void>;

/**
 * An event handler: `handler(data, next, meta)`. It may be sync or async. Thrown errors never
 * fail the publish; they are reported as a `plugin.error` event and logged.
 */
export type EventHandler<T = unknown> = (data: T, next: Next, meta: EventMeta) => unknown;

export interface SubscribeOptions {
  /**
   * Subscribers sharing a group share the events: each event goes to one member of the group
   * (round-robin), across the whole cluster. Without a group every subscriber gets every event.
   */
  group?: string;
  /** Order in a chain and among local handlers: higher first, then subscription order. Default 0. */
  priority?: number;
  /**
   * Durable delivery (needs a `group`, which names the durable queue): every matching event is
   * stored, delivered to one member of the group at least once, acknowledged when the handler
   * succeeds, retried with backoff when it throws (5 attempts, then dead-lettered), redelivered
   * when a member dies mid-event, and kept while no member is running, so the group resumes where
   * it stopped. Plain and group subscriptions without it are at-most-once across nodes.
   */
  durable?: boolean;
}

/** A live subscription. `unsubscribe()` is idempotent. */
export interface Subscription {
  readonly id: string;
  readonly pattern: string;
  readonly group: string | undefined;
  /** True until unsubscribed (or the owning plugin stopped). */
  readonly active: boolean;
  /**
   * Resolves once the subscription is in effect across the cluster: at once for a plain one;
   * for a group one, once its membership is in the registry and every live node has applied it
   * (a cluster barrier), so any node's next publish counts it in the group's rotation; for a
   * durable one, once its queue's binding is stored and every live node's binding table has it,
   * so any node's next matching publish is stored (earlier ones are not). Rejects if that failed
   * or some live node did not confirm in time (10 s).
   */
  readonly ready: Promise<void>;
  unsubscribe(): void;
  /** Resolves with the reason once the subscription has ended. */
  readonly closed: Promise<'unsubscribed' | 'plugin-stopped' | 'once'>;
}

/**
 * Publish/subscribe between plugins, in-process and across the cluster.
 *
 * Event names are dot-separated (`user.created`). Patterns may use `*` (exactly one segment) and
 * `**` (zero or more segments). Delivery to other nodes is at-most-once (a node that is down
 * when the event passes does not get it).
 */
export interface EventBus {
  /**
   * Publish an event. Resolves once every local matching handler has settled and the event has
   * been handed to the backend for other nodes. Throws `ValidationError` for a malformed name.
   */
  publish<E extends string>(event: E, data?: EventPayload<E>): Promise<void>;
  /** Subscribe a handler to an event name or pattern. */
  subscribe<E extends string>(
    event: E,
    handler: EventHandler<EventPayload<E>>,
    options?: SubscribeOptions,
  ): Subscription;
  /** End a subscription. Idempotent. */
  unsubscribe(subscription: Subscription): void;
  /** Subscribe for the next matching event only. */
  once<E extends string>(
    event: E,
    handler: EventHandler<EventPayload<E>>,
    options?: SubscribeOptions,
  ): Subscription;
  /**
   * The next event matching `event` (a name or pattern) and `filter`, published after the call,
   * as `{ data, meta }`. Bounded: rejects with `TimeoutError` naming the pattern past `timeout`
   * (default: the host's `rpcTimeout`, 10 s), with `ContextClosedError` if the plugin stops
   * first, and with the filter's error if it throws. Its subscription lasts only while waiting.
   */
  waitFor<E extends string>(
    event: E,
    options?: WaitForOptions<EventPayload<E>>,
  ): Promise<WaitedEvent<EventPayload<E>>>;
}

/** Options of {@link EventBus.waitFor}. */
export interface WaitForOptions<T = unknown> {
  /** Bound, ms. Default: the host's `rpcTimeout` (10000). */
  timeout?: number;
  /** Only an event for which this returns true ends the wait. */
  filter?: (data: T, meta: EventMeta) => boolean;
}

/** An event as {@link EventBus.waitFor} resolves with it. */
export interface WaitedEvent<T = unknown> {
  readonly data: T;
  readonly meta: EventMeta;
}

/** Ordered middleware over one event name. */
export interface PluginChain {
  /**
   * Run the handlers subscribed to `event` in order (priority, then subscription order), each
   * continuing with `await next()`. Resolves with the data after the chain; rejects with
   * `ChainHandlerError` (naming the plugin) when a handler throws, or
   * `ChainNextCalledTwiceError`.
   */
  execute<E extends string, T = EventPayload<E>>(event: E, data: T): Promise<T>;
}

/** Payload of the `plugin.error` event. */
export interface PluginErrorEvent {
  /** The plugin whose code failed. */
  pluginId: string;
  /** What it was doing: the event handled, or `timer`, `queue.<name>`, `plugin.activate`, ... */
  event: string;
  /**
   * The trace of the failed work: the event's `meta.traceId`, the queue message's `traceId`, or a
   * fresh id for work no event or message started (a timer, a background task, `activate`). The
   * `plugin.error` event itself is published on this trace, so its `meta.traceId` is the same.
   */
  traceId: string;
  /** The node on which it failed. */
  nodeId: string;
  error: string;
  code?: string;
  stack?: string;
}
