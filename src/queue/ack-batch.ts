import type { Logger } from 'pino';
import type { QueueStore, SettleItem } from '../backends/ports.js';

/** Most acks sent in one call; more in the same tick start another call at once. */
const MAX_BATCH = 500;

/**
 * The acks of one worker, coalesced: acks made in the same turn of the event loop (handlers
 * that finished together, or a run of fast handlers) go out as one `ackMany` on the next
 * `setImmediate`, so a busy consumer pays one store call per batch, not per message. An ack that
 * never lands (refused lease, failed call) only means a redelivery (at-least-once), so it is
 * logged, not retried.
 */
export class AckBatch {
  private pending: SettleItem[] = [];
  private scheduled = false;

  constructor(
    private readonly store: QueueStore,
    private readonly queue: string,
    private readonly logger: Logger,
    /** Told of every call sent (so a stopping worker can wait for them). */
    private readonly sent: (call: Promise<void>) => void,
  ) {}

  add(id: string, lease: string): void {
    this.pending.push({ id, lease });
    if (this.pending.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Send what is pending now. */
  flush(): void {
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    const { logger, queue } = this;
    let call: Promise<boolean[]>;
    try {
      call = this.store.ackMany(queue, items);
    } catch (error) {
      call = Promise.reject(error);
    }
    this.sent(
      call.then(
        (done) => {
          for (let i = 0; i < items.length; i++)
            if (!done[i])
              logger.warn(
                { queue, id: items[i]!.id },
                'lease lost before settling a message; it will be redelivered',
              );
        },
        (error: unknown) =>
          logger.warn(
            { err: error, queue, count: items.length },
            'could not acknowledge messages; they will be redelivered',
          ),
      ),
    );
  }
}
