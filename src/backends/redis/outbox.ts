import type { CommandRunner } from './connection.js';
import { encodeBatch } from './frames.js';

/** Frames gathered for one channel during the current tick. */
interface Pending {
  readonly frames: Buffer[];
  bytes: number;
  readonly done: Promise<number>;
  resolve(receivers: number): void;
  reject(error: unknown): void;
}

/** Above this many bytes, a channel's batch is published at once instead of waiting for the tick. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Coalesces frames sent to the same channel within one tick into one PUBLISH of a batch frame.
 * Under load this divides the number of Redis commands by the batch size, while a lone frame
 * still leaves after a single `setImmediate`, so latency at one message in flight is unchanged.
 */
export class Outbox {
  private pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(private readonly runner: CommandRunner) {}

  /**
   * Queue `frame` for `channel`. Resolves with the number of Redis subscribers that received
   * the PUBLISH carrying it (0: nobody listens on that channel right now).
   */
  enqueue(channel: string, frame: Buffer): Promise<number> {
    let batch = this.pending.get(channel);
    if (batch === undefined) {
      let resolve!: (receivers: number) => void;
      let reject!: (error: unknown) => void;
      const done = new Promise<number>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { frames: [], bytes: 0, done, resolve, reject };
      this.pending.set(channel, batch);
    }
    batch.frames.push(frame);
    batch.bytes += frame.length;
    const { done } = batch;
    if (batch.bytes >= MAX_BATCH_BYTES) {
      this.pending.delete(channel);
      this.publish(channel, batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return done;
  }

  /** Publish everything queued now. */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    if (pending.size === 0) return;
    this.pending = new Map();
    for (const [channel, batch] of pending) this.publish(channel, batch);
  }

  private publish(channel: string, batch: Pending): void {
    const message =
      batch.frames.length === 1 ? batch.frames[0]! : encodeBatch(batch.frames, batch.bytes);
    this.runner
      .run(`publish to ${channel}`, (client) => client.publish(channel, message))
      .then(
        (receivers) => batch.resolve(receivers),
        (error: unknown) => batch.reject(error),
      );
  }
}
