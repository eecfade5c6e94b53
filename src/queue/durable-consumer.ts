import type { Logger } from 'pino';
import type { ClaimedMessage, QueueStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { SerializationError, TimeoutError } from '../errors/errors.js';
import { withDeadline } from '../util/bound.js';
import type { Deadlines } from '../util/deadlines.js';
import { sleep } from '../util/sleep.js';
import { isThenable } from '../util/thenable.js';
import { LazyEventMeta } from '../bus/event-meta.js';
import type { DropReporter } from '../bus/drop-reporter.js';
import { decodeFrame } from '../bus/event-frame.js';
import type { SubscriptionRecord } from '../bus/subscription-record.js';
import type { EventMeta, Next } from '../bus/types.js';

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
}

const NOOP_NEXT: Next = () => Promise.resolve();
const CLAIM_WAIT_MS = 1000;
/** The lease outlives the handler bound by this much, so a bounded handler never loses it. */
const LEASE_MARGIN_MS = 5000;

/**
 * Feeds one durable subscription from its queue, one event at a time: claim under a lease, call
 * the handler (bounded), then acknowledge; on failure release for a retry with backoff, or
 * dead-letter after `maxAttempts`. Delivery is at-least-once: a member that dies mid-event
 * leaves its lease to lapse, and another member gets the event again.
 */
export class DurableConsumer {
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly record: SubscriptionRecord,
    private readonly queue: string,
    private readonly consumerId: string,
    private readonly options: DurableConsumerOptions,
  ) {}

  start(ready: Promise<void>): void {
    this.running = ready.then(
      () => this.loop(),
      (error: unknown) =>
        this.options.logger.error(
          { err: error, queue: this.queue },
          'could not bind the durable subscription',
        ),
    );
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { store } = this.options;
    const signal = this.controller.signal;
    let failures = 0;
    while (!signal.aborted) {
      let batch: ClaimedMessage[];
      try {
        batch = await store.claim(this.queue, this.consumerId, {
          count: 1,
          leaseMs: this.options.handlerTimeout + LEASE_MARGIN_MS,
          waitMs: CLAIM_WAIT_MS,
          signal,
        });
        failures = 0;
      } catch (error) {
        this.options.logger.warn(
          { err: error, queue: this.queue },
          'claiming durable events failed; retrying',
        );
        await sleep(Math.min(5000, 100 * 2 ** failures++), signal);
        continue;
      }
      // Claimed just as we stopped: leave it leased, it is redelivered to another member.
      for (const message of batch) if (!signal.aborted) await this.handle(message);
    }
  }

  private async handle(message: ClaimedMessage): Promise<void> {
    const { store, codec } = this.options;
    const frame = decodeFrame(codec, message.payload, this.options.drops);
    let data: unknown;
    try {
      if (frame === undefined) throw new SerializationError('malformed event frame');
      data = codec.decode(frame.d);
    } catch (error) {
      await this.settle(
        store.deadLetter(
          this.queue,
          message.id,
          message.lease,
          `undecodable: ${(error as Error).message}`,
        ),
      );
      return;
    }
    const meta = LazyEventMeta.fromFrame(frame, this.options.nextId, message.attempt);
    let failure: unknown;
    this.record.tracker.begin();
    try {
      await this.bounded(this.record.handler(data, NOOP_NEXT, meta), meta);
    } catch (error) {
      failure = error;
    } finally {
      this.record.tracker.end();
    }
    if (failure === undefined) {
      await this.settle(store.ack(this.queue, message.id, message.lease));
      return;
    }
    this.options.report(this.record.owner, meta, failure);
    const reason =
      failure instanceof Error ? failure.message : (JSON.stringify(failure) ?? 'failed');
    await this.settle(
      message.attempt >= this.options.maxAttempts
        ? store.deadLetter(this.queue, message.id, message.lease, reason)
        : store.release(
            this.queue,
            message.id,
            message.lease,
            Math.min(30_000, 100 * 2 ** message.attempt),
          ),
    );
  }

  /** The handler's result, bounded by the handler timeout (a deadline in the runtime's scheduler). */
  private bounded(result: unknown, meta: EventMeta): Promise<unknown> {
    if (!isThenable(result)) return Promise.resolve(result);
    const timeout = this.options.handlerTimeout;
    return withDeadline(
      result,
      timeout,
      () =>
        new TimeoutError(
          `Durable handler of "${this.record.owner}" for "${meta.event}" ran over ${timeout} ms; the event will be retried.`,
          { details: { pluginId: this.record.owner, event: meta.event, timeout } },
        ),
      this.options.deadlines,
    );
  }

  /** Settling can fail (backend down) or find the lease lost; either way the event is redelivered later. */
  private async settle(outcome: Promise<boolean>): Promise<void> {
    try {
      if (!(await outcome)) {
        this.options.logger.warn(
          { queue: this.queue },
          'lease lost before settling a durable event; it will be redelivered',
        );
      }
    } catch (error) {
      this.options.logger.warn(
        { err: error, queue: this.queue },
        'could not settle a durable event; it will be redelivered',
      );
    }
  }
}
