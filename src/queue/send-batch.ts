import type { EnqueueItem, EnqueueOptions, QueueStore } from '../backends/ports.js';
import { validateEnqueueOptions } from '../backends/queue-options.js';

interface PendingSend extends EnqueueItem {
  readonly resolve: (id: string) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Sends coalesced per queue: the sends to one queue issued in the same tick (a loop of `send`s,
 * a `Promise.all`) go to the store as one `enqueueMany` on the next microtask, in the order they
 * were issued, each promise settling with its own id. A lone send is a plain `enqueue`. Options
 * are checked when the send is issued, so a bad one fails only its own send, never its batch.
 */
export class SendBatch {
  private pending = new Map<string, PendingSend[]>();
  private scheduled = false;

  constructor(private readonly store: QueueStore) {}

  /** @throws ValidationError for bad options (before anything is queued). */
  send(queue: string, payload: Uint8Array, options: EnqueueOptions): Promise<string> {
    validateEnqueueOptions(options);
    return new Promise((resolve, reject) => {
      let sends = this.pending.get(queue);
      if (sends === undefined) this.pending.set(queue, (sends = []));
      sends.push({ payload, options, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    for (const [queue, sends] of pending) {
      if (sends.length === 1) {
        const [only] = sends as [PendingSend];
        this.call(() => this.store.enqueue(queue, only.payload, only.options)).then(
          only.resolve,
          only.reject,
        );
        continue;
      }
      this.call(() => this.store.enqueueMany(queue, sends)).then(
        (ids) => sends.forEach((send, i) => send.resolve(ids[i]!)),
        (error: unknown) => sends.forEach((send) => send.reject(error)),
      );
    }
  }

  /** A store call whose synchronous throw (a closed backend) becomes a rejection. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return fn();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
