import type { CommandRunner } from './connection.js';
import { encodeBatch } from './frames.js';

/** Frames gathered for one channel while earlier PUBLISHes are unanswered. */
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
 * Coalesces frames sent to the same channel into one PUBLISH of a batch frame, Nagle-style:
 *
 * - while no PUBLISH of this outbox awaits its reply and nothing is queued, a frame leaves at
 *   once, as its own PUBLISH: at one message in flight nothing waits for a tick;
 * - otherwise (under load, or later frames of the same tick) frames gather per channel until the
 *   end of the tick (`setImmediate`) and leave as one PUBLISH per channel, which divides the
 *   number of Redis commands by the batch size.
 */
export class Outbox {
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;
  /** PUBLISHes written and not answered yet. */
  private unanswered = 0;
  private readonly flushNow = (): void => this.flush();
  private readonly answered = (): void => {
    this.unanswered--;
  };

  constructor(private readonly runner: CommandRunner) {}

  /**
   * Queue `frame` for `channel`. Resolves with the number of Redis subscribers that received
   * the PUBLISH carrying it (0: nobody listens on that channel right now).
   */
  enqueue(channel: string, frame: Buffer): Promise<number> {
    // Idle: nothing to coalesce with, and nothing sent is still on its way.
    if (this.unanswered === 0 && !this.scheduled) return this.send(channel, frame);
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
      setImmediate(this.flushNow);
    }
    return done;
  }

  /** Publish everything queued now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    for (const [channel, batch] of this.pending) this.publish(channel, batch);
    this.pending.clear();
  }

  private publish(channel: string, batch: Pending): void {
    const message =
      batch.frames.length === 1 ? batch.frames[0]! : encodeBatch(batch.frames, batch.bytes);
    this.send(channel, message).then(
      (receivers) => batch.resolve(receivers),
      (error: unknown) => batch.reject(error),
    );
  }

  private send(channel: string, message: Buffer): Promise<number> {
    this.unanswered++;
    const sent = this.runner.run(`publish to ${channel}`, (client) =>
      client.publish(channel, message),
    );
    sent.then(this.answered, this.answered);
    return sent;
  }
}
