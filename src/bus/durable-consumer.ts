import type { Logger } from 'pino';
import type { ClaimedMessage, QueueStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { LazyEventMeta } from './event-meta.js';
import type { EventFrame } from './event-frame.js';
import type { SubscriptionRecord } from './subscription-record.js';
import type { EventMeta, Next } from './types.js';

export interface DurableConsumerOptions {
  store: QueueStore;
  codec: Codec;
  logger: Logger;
  nextId: () => string;
  /** Lease per message: a handler still running after this may see its event redelivered elsewhere. */
  leaseMs: number;
  /** Deliveries before a failing event goes to the dead-letter list. */
  maxAttempts: number;
  report: (owner: string, meta: EventMeta, error: unknown) => void;
}

const NOOP_NEXT: Next = () => Promise.resolve();
const CLAIM_WAIT_MS = 1000;

/**
 * Feeds one durable subscription from its queue: claim under a lease, call the handler, then
 * acknowledge, or release for a retry with backoff, or dead-letter after `maxAttempts`.
 * Delivery is at-least-once; a handler may see an event again after a crash.
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
    let failures = 0;
    while (!this.controller.signal.aborted) {
      let batch: ClaimedMessage[];
      try {
        batch = await store.claim(this.queue, this.consumerId, {
          count: 16,
          leaseMs: this.options.leaseMs,
          waitMs: CLAIM_WAIT_MS,
          signal: this.controller.signal,
        });
        failures = 0;
      } catch (error) {
        this.options.logger.warn(
          { err: error, queue: this.queue },
          'claiming durable events failed; retrying',
        );
        await pause(Math.min(5000, 100 * 2 ** failures++), this.controller.signal);
        continue;
      }
      for (const message of batch) {
        // Once stopped, leave the rest leased: they are redelivered to another consumer.
        if (this.controller.signal.aborted) return;
        await this.handle(message);
      }
    }
  }

  private async handle(message: ClaimedMessage): Promise<void> {
    const { store, codec } = this.options;
    let frame: EventFrame;
    try {
      frame = codec.decode(message.payload) as EventFrame;
    } catch (error) {
      await store
        .deadLetter(this.queue, message.id, `undecodable: ${(error as Error).message}`)
        .catch(() => undefined);
      return;
    }
    const meta = LazyEventMeta.fromFrame(frame, this.options.nextId);
    this.record.tracker.begin();
    try {
      await this.record.handler(frame.d, NOOP_NEXT, meta);
      await store.ack(this.queue, message.id);
    } catch (error) {
      this.options.report(this.record.owner, meta, error);
      const settle =
        message.attempt >= this.options.maxAttempts
          ? store.deadLetter(
              this.queue,
              message.id,
              error instanceof Error ? error.message : String(error),
            )
          : store.release(this.queue, message.id, Math.min(30_000, 100 * 2 ** message.attempt));
      await settle.catch((e: unknown) =>
        this.options.logger.warn({ err: e, queue: this.queue }, 'could not settle a failed event'),
      );
    } finally {
      this.record.tracker.end();
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
