import type { EventSeries } from '../metrics/series.js';
import type { Logger } from 'pino';
import type { ClaimedMessage, QueueStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { TimeoutError } from '../errors/errors.js';
import type { Deadlines } from '../util/deadlines.js';
import { runInTrace } from '../bus/current-trace.js';
import { SpanKind, startSpan, tracingOn } from '../trace/spans.js';
import { isThenable } from '../util/thenable.js';
import { LazyEventMeta } from '../bus/event-meta.js';
import type { DropReporter } from '../bus/drop-reporter.js';
import { decodeFrame } from '../bus/event-frame.js';
import type { SubscriptionRecord } from '../bus/subscription-record.js';
import type { EventMeta, Next } from '../bus/types.js';
import { QueueWorker, type WorkerTask } from './queue-worker.js';
import type { RetryPolicy } from './retry-policy.js';

export interface DurableConsumerOptions {
  store: QueueStore;
  codec: Codec;
  logger: Logger;
  /** Counts (and logs, rate-limited) malformed frames. */
  drops: DropReporter;
  nextId: () => string;
  /** Bound on one handler call; past it the event counts as failed and is retried. */
  handlerTimeout: number;
  /** Where that bound's deadlines live (the runtime's scheduler). */
  deadlines: Deadlines;
  /** Deliveries before a failing event goes to the dead-letter list. */
  maxAttempts: number;
  report: (owner: string, meta: EventMeta, error: unknown) => void;
  /** Counts and times deliveries per event name, as for plain subscriptions (none: no metrics). */
  metrics?: { event(name: string): EventSeries };
}

const NOOP_NEXT: Next = () => Promise.resolve();
/** The lease outlives the handler bound by this much (it is renewed while the handler runs too). */
const LEASE_MARGIN_MS = 5000;

/** Durable events retry after 0.2 s, 0.4 s, 0.8 s, ... up to 30 s, without jitter. */
function durablePolicy(maxAttempts: number): RetryPolicy {
  return {
    maxRetries: maxAttempts - 1,
    backoff: 'exponential',
    delay: 200,
    maxDelay: 30_000,
    jitter: false,
  };
}

/**
 * Feeds one durable subscription from its queue, one event at a time, through the one queue
 * engine ({@link QueueWorker}): this adapter only turns a stored event frame into a call of the
 * subscription's handler. Delivery is at-least-once: a member that dies mid-event leaves its
 * lease to lapse, and another member gets the event again; failures are retried with backoff and
 * dead-lettered after `maxAttempts`.
 */
export class DurableConsumer {
  private readonly worker: QueueWorker;
  private readonly policy: RetryPolicy;

  constructor(
    private readonly record: SubscriptionRecord,
    queue: string,
    consumerId: string,
    private readonly options: DurableConsumerOptions,
  ) {
    this.policy = durablePolicy(options.maxAttempts);
    this.worker = new QueueWorker({
      store: options.store,
      queue,
      consumerId,
      logger: options.logger,
      deadlines: options.deadlines,
      concurrency: 1,
      prefetch: 1,
      leaseMs: options.handlerTimeout + LEASE_MARGIN_MS,
      handlerTimeout: options.handlerTimeout,
      tracker: record.tracker,
      prepare: (message) => this.prepare(message),
    });
  }

  start(ready: Promise<void>): void {
    this.worker.start(ready);
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  private prepare(message: ClaimedMessage): WorkerTask | string {
    const { codec } = this.options;
    const frame = decodeFrame(codec, message.payload, this.options.drops);
    if (frame === undefined) return 'undecodable: malformed event frame';
    const data = codec.decode(frame.d);
    const meta = LazyEventMeta.fromFrame(frame, this.options.nextId, message.attempt);
    const { record } = this;
    return {
      policy: this.policy,
      run: () => {
        // Counted and timed (a sample) as deliveries to plain subscriptions are.
        const series = this.options.metrics?.event(meta.event);
        const started = series?.deliver() === true ? performance.now() : 0;
        const result = this.invoke(meta, data, message.attempt);
        if (started === 0) return result;
        const observe = (): void => series!.latency.observe((performance.now() - started) / 1000);
        if (isThenable(result)) result.then(observe, observe);
        else observe();
        return result;
      },
      onFailure: (error) => this.options.report(record.owner, meta, error),
      timeoutError: (timeout) =>
        new TimeoutError(
          `Durable handler of "${record.owner}" for "${meta.event}" ran over ${timeout} ms; the event will be retried.`,
          { details: { pluginId: record.owner, event: meta.event, timeout } },
        ),
    };
  }

  /** Call the subscription's handler on the event's trace (in a consumer span when tracing). */
  private invoke(meta: LazyEventMeta, data: unknown, attempt: number): unknown {
    const { record } = this;
    const span = tracingOn()
      ? startSpan(`${meta.event} process`, SpanKind.CONSUMER, meta, {
          'messaging.system': 'plugboard',
          'messaging.operation.type': 'process',
          'messaging.destination.name': meta.event,
          'messaging.message.id': meta.id,
          'messaging.consumer.group.name': record.group ?? '',
          'plugboard.plugin': record.owner,
          'plugboard.attempt': attempt,
        })
      : undefined;
    if (span === undefined) return runInTrace(meta, record.handler, data, NOOP_NEXT, meta);
    let result: unknown;
    try {
      result = runInTrace(span, record.handler, data, NOOP_NEXT, meta);
    } catch (error) {
      span.end(true, error);
      throw error;
    }
    if (isThenable(result)) span.endWhen(result);
    else span.end();
    return result;
  }
}
