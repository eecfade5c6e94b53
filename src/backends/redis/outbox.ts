import { ByteBudget } from './byte-budget.js';
import type { CommandRunner } from './connection.js';
import type { ClusterMac } from './cluster-mac.js';
import { encodeBatch } from './frames.js';

/** The caller of a frame that settles on its own (a request has its own deadline). */
export interface FrameCaller {
  /** Epoch ms after which the caller no longer waits. */
  readonly deadline: number;
  /** False once the caller was settled (e.g. rejected at its deadline): its frame is not sent. */
  readonly waiting: () => boolean;
}

/**
 * Frames of one PUBLISH, and the callers of those that settle on their own (index-aligned, only
 * allocated once such a frame is added; `undefined`: the caller waits for the PUBLISH's outcome).
 */
interface Frames {
  frames: Buffer[];
  callers: Array<FrameCaller | undefined> | undefined;
}

/** Frames gathered for one channel while earlier PUBLISHes are unanswered. */
interface Pending extends Frames {
  bytes: number;
  readonly done: Promise<number>;
  resolve(receivers: number): void;
  reject(error: unknown): void;
}

/** Above this many bytes, a channel's batch is published at once instead of waiting for the tick. */
const MAX_BATCH_BYTES = 256 * 1024;

export interface OutboxOptions {
  /**
   * Bound of the bytes held: frames waiting here or in the runner, plus PUBLISHes written and
   * not yet answered by Redis. Past it, frames are refused with `BackpressureError`.
   */
  readonly maxPendingBytes: number;
  /** Deadline of frames whose caller has none of its own (publish, send, reply). */
  readonly operationTimeout: number;
  /** Seals every PUBLISH (one MAC per batch) when the cluster has a secret. */
  readonly cluster?: ClusterMac | undefined;
}

/**
 * Coalesces frames sent to the same channel into one PUBLISH of a batch frame, Nagle-style:
 *
 * - while no PUBLISH of this outbox awaits its reply and nothing is queued, a frame leaves at
 *   once, as its own PUBLISH: at one message in flight nothing waits for a tick;
 * - otherwise (under load, or later frames of the same tick) frames gather per channel until the
 *   end of the tick (`setImmediate`) and leave as one PUBLISH per channel, which divides the
 *   number of Redis commands by the batch size.
 *
 * Flow control: the bytes held (frames not written yet, and PUBLISHes written but not answered,
 * whatever the connection's state: a frozen Redis keeps a "ready" connection) are bounded by
 * `maxPendingBytes`; past it `enqueue` refuses with `BackpressureError` at once. A written
 * PUBLISH's bytes are released only when Redis answers or the connection drops, not when its
 * caller gave up, because until then they still sit in the client and the socket. A frame whose
 * caller was already rejected (a request past its own deadline) is left out of its batch when
 * the batch is written: nothing is written after its caller's rejection.
 */
export class Outbox {
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;
  /** PUBLISHes written and not answered yet. */
  private unanswered = 0;
  private held = 0;
  /** Releases of PUBLISHes written and not answered yet. */
  private readonly written = new Set<() => void>();
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: OutboxOptions,
    /** The backend's one bound on bytes held for Redis (shared with queue payloads). */
    private readonly budget = new ByteBudget(options.maxPendingBytes),
  ) {
    // ioredis never settles the commands of a dropped connection when it does not resend them
    // (`autoResendUnfulfilledCommands: false`): their bytes are gone with the socket.
    runner.client.on('close', () => {
      const lost = [...this.written];
      this.written.clear();
      for (const release of lost) release();
    });
  }

  /** Bytes held now (see {@link OutboxOptions.maxPendingBytes}). */
  get pendingBytes(): number {
    return this.held;
  }

  /**
   * Queue `frame` for `channel`. Resolves with the number of Redis subscribers that received
   * the PUBLISH carrying it (0: nobody listens on that channel right now). `caller`: the frame
   * belongs to a caller with its own deadline, and is dropped if that caller no longer waits
   * when its batch is written.
   * @throws BackpressureError (rejects at once) when `maxPendingBytes` are held already.
   */
  enqueue(channel: string, frame: Buffer, caller?: FrameCaller): Promise<number> {
    // One frame is always accepted when nothing is held, so a frame can never be stuck.
    if (!this.budget.fits(frame.length)) {
      return Promise.reject(this.budget.refusal(frame.length, `send ${frame.length} more bytes`));
    }
    this.hold(frame.length);
    // Idle: nothing to coalesce with, and nothing sent is still on its way.
    if (this.unanswered === 0 && !this.scheduled) {
      const single = { frames: [frame], callers: caller === undefined ? undefined : [caller] };
      return this.send(channel, single, frame.length);
    }
    let batch = this.pending.get(channel);
    if (batch !== undefined && batch.bytes + frame.length > MAX_BATCH_BYTES) {
      // Keep every PUBLISH under the batch size (or one frame), whatever arrives.
      this.pending.delete(channel);
      this.publish(channel, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      let resolve!: (receivers: number) => void;
      let reject!: (error: unknown) => void;
      const done = new Promise<number>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { frames: [], callers: undefined, bytes: 0, done, resolve, reject };
      this.pending.set(channel, batch);
    }
    if (caller !== undefined) {
      batch.callers ??= new Array<FrameCaller | undefined>(batch.frames.length);
      batch.callers[batch.frames.length] = caller;
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
    this.send(channel, batch, batch.bytes).then(
      (receivers) => batch.resolve(receivers),
      (error: unknown) => batch.reject(error),
    );
  }

  /**
   * Run one PUBLISH of `batch` (the message is built when it is written, from the frames whose
   * caller still waits) and release their bytes once nothing of it can still be in the client.
   */
  private send(channel: string, batch: Frames, bytes: number): Promise<number> {
    this.unanswered++;
    let live = batch.frames;
    let liveBytes = bytes;
    let reply: Promise<number> | undefined;
    let released = false;
    const release = (): void => {
      this.written.delete(release);
      if (released) return;
      released = true;
      this.hold(-liveBytes);
    };
    const sent = this.runner.run(
      `publish to ${channel}`,
      (client) => {
        const { callers } = batch;
        if (callers !== undefined) {
          // Leave out the frames whose caller no longer waits (again if the write is retried).
          const kept: Frames = { frames: [], callers: [] };
          let keptBytes = 0;
          for (let i = 0; i < live.length; i++) {
            const caller = callers[i];
            if (caller !== undefined && !caller.waiting()) continue;
            kept.frames.push(live[i]!);
            kept.callers!.push(caller);
            keptBytes += live[i]!.length;
          }
          this.hold(keptBytes - liveBytes);
          batch = kept;
          live = kept.frames;
          liveBytes = keptBytes;
        }
        if (live.length === 0) {
          reply = undefined;
          return Promise.resolve(0);
        }
        const message = live.length === 1 ? live[0]! : encodeBatch(live, liveBytes);
        // Sealed when written: the sequence number follows the order of the socket's writes.
        const { cluster } = this.options;
        reply = client.publish(
          channel,
          cluster === undefined ? message : cluster.seal(channel, message),
        );
        this.written.add(release);
        return reply;
      },
      this.deadlineOf(batch),
    );
    // A written PUBLISH holds its bytes until Redis answers it or the connection drops, even
    // when its caller was told about its deadline before.
    const settle = (): void => {
      this.unanswered--;
      if (reply === undefined) release();
      else reply.then(release, release);
    };
    sent.then(settle, settle);
    return sent;
  }

  /**
   * The deadline of a PUBLISH: `operationTimeout` when any frame's caller waits for the
   * outcome, else the latest deadline of its callers (never later than `operationTimeout`).
   */
  private deadlineOf({ frames, callers }: Frames): number {
    const longest = Date.now() + this.options.operationTimeout;
    if (callers === undefined) return longest;
    let latest = 0;
    for (let i = 0; i < frames.length; i++) {
      const caller = callers[i];
      if (caller === undefined) return longest;
      if (caller.deadline > latest) latest = caller.deadline;
    }
    return Math.min(latest, longest);
  }

  /** Count `delta` bytes more (or fewer) as held, here and in the backend's budget. */
  private hold(delta: number): void {
    this.held += delta;
    this.budget.add(delta);
  }
}
