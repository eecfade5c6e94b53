import type { Logger } from 'pino';
import type { ClaimedMessage, QueueRateLimit, QueueStore } from '../backends/ports.js';
import { isPlugboardError } from '../errors/errors.js';
import { settleWithin, withDeadline } from '../util/bound.js';
import type { Deadlines } from '../util/deadlines.js';
import { sleep } from '../util/sleep.js';
import { isThenable } from '../util/thenable.js';
import { AckBatch } from './ack-batch.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';

/** What a running handler may do with its delivery. */
export interface DeliveryControl {
  /**
   * Aborted when the handler ran over its timeout, or when the consumer is stopping (a handler
   * that then gives up by throwing has its message given back to the queue, not failed).
   */
  readonly signal: AbortSignal;
  /** Renew the lease by `ms` (default: the worker's leaseMs) from now. false: lease lost. */
  extendLease(ms?: number): Promise<boolean>;
}

/** A claimed message made ready to run (decoded by the worker's owner). */
export interface WorkerTask {
  /** Call the handler: returning (or resolving) is success, throwing (or rejecting) failure. */
  run(control: DeliveryControl): unknown;
  /** How a failure of this delivery is retried. */
  readonly policy: RetryPolicy;
  /** A failure of this delivery, for the owner to report (`plugin.error`). */
  onFailure(error: unknown): void;
  /** The error a handler that ran over the timeout fails with. */
  timeoutError(timeoutMs: number): Error;
}

/**
 * Holds deliveries back without failing them, e.g. while the queue's circuit breaker is open:
 * while `paused`, nothing is claimed and no held message starts (their leases are kept alive),
 * so an open circuit neither spends delivery attempts nor dead-letters anything.
 */
export interface DeliveryGate {
  readonly paused: boolean;
  /** Call `listener` whenever deliveries may start again; returns an unsubscribe. */
  onResume(listener: () => void): () => void;
}

/**
 * What a task's `run` rejects with when the handler was not called at all (its policy refused
 * the call: an open circuit, a full bulkhead). The message is not failed: it waits in this
 * worker, its delivery uncounted, and starts again once the gate resumes, another handler
 * finishes, or after a short pause.
 */
export class DeliveryRefused extends Error {
  constructor(readonly reason: unknown) {
    super('the delivery was refused before its handler ran');
  }
}

/** Work-tracking hooks (the plugin's in-flight handler count). */
export interface WorkCounter {
  begin(): void;
  end(): void;
}

export interface QueueWorkerOptions {
  store: QueueStore;
  /** The backend queue name. */
  queue: string;
  /** This claimer's name in the store (node and consumer). */
  consumerId: string;
  logger: Logger;
  /** Scheduler of the handler bounds. */
  deadlines: Deadlines;
  /** Handlers running at once. */
  concurrency: number;
  /** Messages held at once, running or waiting for a slot (at least `concurrency`). */
  prefetch: number;
  /**
   * Treat `prefetch` as a ceiling and hold beyond `concurrency` only what the handlers get
   * through in about {@link PREFETCH_BUDGET_MS} (measured): fast handlers get a deep buffer and
   * few claims, slow ones none, so messages never sit leased in one consumer while another idles.
   */
  adaptivePrefetch?: boolean;
  /** Lease of each claimed message; renewed every leaseMs/3 while it is held. */
  leaseMs: number;
  /** Bound on one handler call, ms; past it the delivery fails and its slot is freed. */
  handlerTimeout: number;
  rateLimit?: QueueRateLimit;
  /** Counts running handlers (so a stopping plugin waits for them). */
  tracker?: WorkCounter;
  /**
   * Decode a claimed message into a task; a string is why it cannot be run (it is
   * dead-lettered with that reason).
   */
  prepare(message: ClaimedMessage): WorkerTask | string;
  /** [0, 1) for retry jitter. Default Math.random. */
  random?: () => number;
  /** Holds deliveries back while set and paused (see {@link DeliveryGate}). */
  gate?: DeliveryGate;
}

/** Adaptive prefetch holds about this much work (ms of handler time) beyond the running slots. */
const PREFETCH_BUDGET_MS = 100;
/** Weight of the newest handler duration in the moving average. */
const DURATION_WEIGHT = 0.2;

/** How long one claim waits for a message before the loop asks again. */
const CLAIM_WAIT_MS = 5_000;
/** First backoff after a failed claim (doubling up to 5 s; not growing after timeouts). */
const CLAIM_RETRY_MS = 100;
/** A refused delivery is tried again after this pause at the latest. */
const REFUSED_RETRY_MS = 100;
/** While the gate is paused, the loop looks again this often. */
const GATE_RECHECK_MS = 1_000;
/** Bound on waiting for settles still on the wire when a worker stops. */
const SETTLE_GRACE_MS = 5_000;
/** ... but at least this long, even when the stop's bound is used up. */
const SETTLE_MIN_GRACE_MS = 250;

/** A message this worker holds under a lease. */
interface Held {
  readonly message: ClaimedMessage;
  /**
   * Made when a handler first reads its signal: most never do, and a controller per message is
   * a measurable share of a fast consumer's CPU.
   */
  controller: AbortController | undefined;
  /** Why it was aborted, when that happened before anyone asked for the signal. */
  abortReason: unknown;
  aborted: boolean;
  /** Settled (acked, released or dead-lettered) or given up: nothing more is done with it. */
  done: boolean;
}

function signalOf(held: Held): AbortSignal {
  if (held.controller === undefined) {
    held.controller = new AbortController();
    if (held.aborted) held.controller.abort(held.abortReason);
  }
  return held.controller.signal;
}

function abort(held: Held, reason: unknown): void {
  if (held.aborted) return;
  held.aborted = true;
  held.abortReason = reason;
  held.controller?.abort(reason);
}

/**
 * The one consumer engine of queues (work queues and durable event subscriptions alike): claims
 * up to `prefetch` messages under a lease, runs up to `concurrency` handlers at once (claim order,
 * so FIFO at concurrency 1), keeps the leases of held messages alive, bounds each handler by
 * `handlerTimeout`, and settles each delivery: ack on success; on failure release with the
 * message's retry delay, or dead-letter with the error once its retries are spent. Settles are
 * pipelined (not awaited one by one): a slot is free once its handler finished, and an ack that
 * never lands only means a redelivery (at-least-once).
 */
export class QueueWorker {
  private readonly claimAbort = new AbortController();
  private readonly held = new Set<Held>();
  private readonly waiting: Held[] = [];
  private readonly settles = new Set<Promise<unknown>>();
  private running = 0;
  /** Inside `pump` (see there). */
  private pumping = false;
  private stopping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private wakeIdle: (() => void) | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Moving average of handler durations, ms; undefined until one finished. */
  private averageMs: number | undefined;
  /** A delivery was refused: start none until a resume, a finished handler or the pause. */
  private holdingBack = false;
  private holdBackTimer: NodeJS.Timeout | undefined;
  private stopGate: (() => void) | undefined;

  private readonly acks: AckBatch;

  constructor(private readonly options: QueueWorkerOptions) {
    this.acks = new AckBatch(options.store, options.queue, options.logger, (call) =>
      this.keep(call),
    );
  }

  /** Messages to hold now: `prefetch`, or its adaptive share (see `adaptivePrefetch`). */
  private holdLimit(): number {
    const { prefetch, concurrency, adaptivePrefetch } = this.options;
    if (adaptivePrefetch !== true) return prefetch;
    if (this.averageMs === undefined) return concurrency;
    const extra = Math.floor((PREFETCH_BUDGET_MS * concurrency) / Math.max(this.averageMs, 0.001));
    return Math.min(prefetch, concurrency + extra);
  }

  /**
   * How many messages to claim now; 0 while the buffer is full enough. A deep buffer is topped up
   * once half used, so a claim carries many messages, not one.
   */
  private claimRoom(): number {
    if (this.blocked()) return 0;
    const limit = this.holdLimit();
    const room = limit - this.held.size;
    const buffer = limit - this.options.concurrency;
    return room <= 0 || (buffer > 1 && this.waiting.length > buffer / 2) ? 0 : room;
  }

  /** Messages held now (running or waiting for a slot). */
  get inFlight(): number {
    return this.held.size;
  }

  /** Start claiming once `ready` resolves (e.g. the queue's binding is stored). */
  start(ready: Promise<void> = Promise.resolve()): void {
    this.stopGate = this.options.gate?.onResume(() => this.resume());
    this.loopDone = ready.then(
      () => this.loop(),
      (error: unknown) =>
        this.options.logger.error(
          { err: error, queue: this.options.queue },
          'could not start consuming the queue',
        ),
    );
  }

  /**
   * Stop claiming, wait up to `timeoutMs` for running handlers, then release what is still held
   * (redelivered to another consumer) and wait briefly for settles on the wire. Idempotent.
   */
  stop(timeoutMs: number = this.options.handlerTimeout): Promise<void> {
    return (this.stopped ??= this.shutdown(timeoutMs));
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const { deadlines } = this.options;
    // One bound for the whole stop, whatever each step takes.
    const end = Date.now() + timeoutMs;
    const left = (): number => Math.max(0, end - Date.now());
    this.stopping = true;
    this.stopGate?.();
    this.resume();
    this.claimAbort.abort();
    this.wakeLoop?.();
    // Handlers that watch their signal may give up early; their messages go back to the queue.
    const stopping = new DOMException('The consumer is stopping.', 'AbortError');
    for (const held of this.held) abort(held, stopping);
    await settleWithin(this.loopDone, left(), deadlines);
    // Not started yet: straight back to the queue.
    for (const held of this.waiting.splice(0)) this.giveBack(held);
    await settleWithin(this.idle(), left(), deadlines);
    for (const held of [...this.held]) {
      this.giveBack(held);
      this.finishRun();
    }
    this.stopRenewing();
    this.acks.flush();
    // The give-backs and acks on the wire get a short grace even when the bound is used up.
    const grace = Math.min(SETTLE_GRACE_MS, Math.max(SETTLE_MIN_GRACE_MS, left()));
    await settleWithin(Promise.allSettled([...this.settles]), grace, deadlines);
  }

  private idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => (this.wakeIdle = resolve));
  }

  private async loop(): Promise<void> {
    const { store, queue, consumerId, leaseMs, rateLimit, logger } = this.options;
    const signal = this.claimAbort.signal;
    let failures = 0;
    while (!this.stopping) {
      const room = this.claimRoom();
      if (room === 0) {
        const woken = new Promise<void>((resolve) => (this.wakeLoop = resolve));
        // Paused by the gate: look again now and then, in case a resume went unheard (this
        // also keeps the process alive while an open circuit holds everything back).
        if (this.options.gate?.paused === true) {
          await Promise.race([woken, sleep(GATE_RECHECK_MS, signal)]);
          if (!this.blocked()) this.pump();
        } else await woken;
        this.wakeLoop = undefined;
        continue;
      }
      let batch: ClaimedMessage[];
      try {
        batch = await store.claim(queue, consumerId, {
          count: room,
          leaseMs,
          waitMs: CLAIM_WAIT_MS,
          signal,
          ...(rateLimit === undefined ? {} : { rateLimit }),
        });
        failures = 0;
      } catch (error) {
        // Once per run of failures: a frozen Redis fails every claim until it thaws.
        logger[failures === 0 ? 'warn' : 'debug'](
          { err: error, queue, failures: failures + 1 },
          'claiming from the queue failed; retrying',
        );
        // A claim that timed out (the store connected, Redis silent: frozen, or busy) has
        // waited its operation timeout already, and a claim the store runs after its caller
        // gave up takes nothing: ask again soon, without growing the backoff, so the consumer
        // resumes right after Redis answers again. Other failures back off exponentially.
        const timedOut = isPlugboardError(error) && error.code === 'PB_TIMEOUT';
        await sleep(
          timedOut ? CLAIM_RETRY_MS : Math.min(5000, CLAIM_RETRY_MS * 2 ** failures),
          signal,
        );
        failures++;
        continue;
      }
      for (const message of batch) {
        const held: Held = {
          message,
          controller: undefined,
          abortReason: undefined,
          aborted: false,
          done: false,
        };
        this.held.add(held);
        // Claimed just as we stopped: give it back at once.
        if (this.stopping) this.giveBack(held);
        else this.waiting.push(held);
      }
      if (this.held.size > 0) this.startRenewing();
      this.pump();
    }
  }

  /**
   * Start waiting messages while slots are free, in claim order. Not re-entered: a synchronous
   * handler settles inside `run`, and this loop (not a nested call) starts the next, so a deep
   * buffer of fast handlers never deepens the stack.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (
        this.running < this.options.concurrency &&
        this.waiting.length > 0 &&
        !this.blocked()
      ) {
        this.run(this.waiting.shift()!);
      }
    } finally {
      this.pumping = false;
    }
  }

  private run(held: Held): void {
    const { message } = held;
    this.running++;
    this.options.tracker?.begin();
    let task: WorkerTask | string;
    try {
      task = this.options.prepare(message);
    } catch (error) {
      task = `undecodable: ${errorMessage(error)}`;
    }
    if (typeof task === 'string') {
      const reason = task;
      // Never handed to anyone: say so, or it would only show as a dead-letter count.
      this.options.logger.warn(
        { queue: this.options.queue, id: message.id, reason },
        'a message could not be decoded; it was moved to the dead letters',
      );
      this.settle(held, (s) => s.deadLetter(this.options.queue, message.id, message.lease, reason));
      return;
    }
    const prepared = task;
    const control: DeliveryControl = {
      get signal() {
        return signalOf(held);
      },
      extendLease: (ms) => this.extend(held, ms ?? this.options.leaseMs),
    };
    const started = performance.now();
    let result: unknown;
    try {
      result = prepared.run(control);
    } catch (error) {
      this.finished(held, prepared, started, false, error);
      return;
    }
    // A synchronous handler is done: settled now, without a promise chain or a deadline entry
    // (its timeout could never fire before it returned anyway).
    if (!isThenable(result)) {
      this.finished(held, prepared, started, true);
      return;
    }
    const timeout = this.options.handlerTimeout;
    let timedOut: Error | undefined;
    withDeadline(
      result,
      timeout,
      () => (timedOut = prepared.timeoutError(timeout)),
      this.options.deadlines,
    ).then(
      () => this.finished(held, prepared, started, true),
      (error: unknown) => this.finished(held, prepared, started, false, error, timedOut),
    );
  }

  /** A handler call ended: ack on success, else fail (or give back at stop). */
  private finished(
    held: Held,
    task: WorkerTask,
    started: number,
    ok: boolean,
    error?: unknown,
    timedOut?: Error,
  ): void {
    if (!ok && error instanceof DeliveryRefused && timedOut === undefined) {
      this.refused(held);
      return;
    }
    this.recordDuration(performance.now() - started);
    if (held.done) return; // given up at stop: released already
    if (ok) {
      this.acks.add(held.message.id, held.message.lease);
      this.settled(held);
      return;
    }
    if (timedOut !== undefined) {
      abort(held, timedOut);
    } else if (this.stopping && held.aborted) {
      // Gave up because the consumer is stopping: not a failure, back to the queue.
      this.giveBack(held);
      this.finishRun();
      return;
    }
    this.fail(held, task, error);
  }

  private recordDuration(ms: number): void {
    this.averageMs =
      this.averageMs === undefined ? ms : this.averageMs + DURATION_WEIGHT * (ms - this.averageMs);
  }

  /** A failed delivery: reported, then retried after its delay or dead-lettered. */
  private fail(held: Held, task: WorkerTask, error: unknown): void {
    const { message } = held;
    const { queue } = this.options;
    try {
      task.onFailure(error);
    } catch (reportError) {
      this.options.logger.error({ err: reportError, queue }, 'reporting a failed message failed');
    }
    const delay = retryDelay(task.policy, message.attempt, this.options.random);
    this.settle(held, (s) =>
      delay === undefined
        ? s.deadLetter(queue, message.id, message.lease, errorMessage(error))
        : s.release(queue, message.id, message.lease, delay),
    );
  }

  /** Settle a held message (not awaited: pipelined), free its slot and wake the loop. */
  private settle(held: Held, op: (store: QueueStore) => Promise<boolean>): void {
    this.track(op(this.options.store), held.message.id);
    this.settled(held);
  }

  /** A held message's settle is on its way: free its slot and wake the loop. */
  private settled(held: Held): void {
    held.done = true;
    this.held.delete(held);
    this.finishRun();
  }

  /** A held message goes back to the queue (stop): redelivered at once to another consumer. */
  private giveBack(held: Held): void {
    if (held.done) return;
    held.done = true;
    this.held.delete(held);
    const { queue, store } = this.options;
    this.track(store.release(queue, held.message.id, held.message.lease, 0), held.message.id);
  }

  /** Deliveries may not start now: the gate is paused, or one was just refused. */
  private blocked(): boolean {
    return this.holdingBack || this.options.gate?.paused === true;
  }

  /**
   * The handler was never called: the message goes back to the head of the line, still held
   * (lease renewed, delivery not counted), and nothing starts until {@link resume}.
   */
  private refused(held: Held): void {
    if (held.done) return;
    if (this.stopping) {
      this.giveBack(held);
      this.finishRun();
      return;
    }
    this.waiting.unshift(held);
    this.holdingBack = true;
    this.holdBackTimer ??= setTimeout(() => this.resume(), REFUSED_RETRY_MS);
    this.finishRun(true);
  }

  /** Deliveries may start again (the gate resumed, a handler finished, or the pause is over). */
  private resume(): void {
    this.clearHoldBack();
    if (this.stopping) return;
    if (this.wakeLoop !== undefined && this.claimRoom() > 0) this.wakeLoop();
    this.pump();
  }

  private clearHoldBack(): void {
    this.holdingBack = false;
    if (this.holdBackTimer !== undefined) clearTimeout(this.holdBackTimer);
    this.holdBackTimer = undefined;
  }

  /**
   * Count a finished handler out and start the next. A handler that ran (not a refused one) may
   * have freed what refused the others (a half-open probe, a bulkhead slot): they go again.
   */
  private finishRun(refused = false): void {
    if (!refused) this.clearHoldBack();
    this.running--;
    this.options.tracker?.end();
    if (this.held.size === 0) this.stopRenewing();
    if (this.running === 0) this.wakeIdle?.();
    // Only when it would claim: waking it for nothing costs a promise per message.
    if (this.wakeLoop !== undefined && this.claimRoom() > 0) this.wakeLoop();
    if (!this.stopping) this.pump();
  }

  private track(outcome: Promise<boolean>, id: string): void {
    const { logger, queue } = this.options;
    const settled = outcome.then(
      (ok) => {
        if (!ok)
          logger.warn(
            { queue, id },
            'lease lost before settling a message; it will be redelivered',
          );
      },
      (error: unknown) =>
        logger.warn(
          { err: error, queue, id },
          'could not settle a message; it will be redelivered',
        ),
    );
    this.keep(settled);
  }

  /** Remember a settle on the wire until it lands (a stopping worker waits for them). */
  private keep(settled: Promise<void>): void {
    this.settles.add(settled);
    void settled.finally(() => this.settles.delete(settled));
  }

  private async extend(held: Held, ms: number): Promise<boolean> {
    if (held.done) return false;
    const { store, queue } = this.options;
    return store.extend(queue, held.message.id, held.message.lease, ms);
  }

  /** Renew every held lease each leaseMs/3, so a long handler keeps its message. */
  private startRenewing(): void {
    if (this.renewTimer !== undefined) return;
    const every = Math.max(10, Math.floor(this.options.leaseMs / 3));
    this.renewTimer = setInterval(() => this.renewAll(), every);
  }

  private stopRenewing(): void {
    if (this.renewTimer === undefined) return;
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private renewAll(): void {
    const { logger, queue, leaseMs } = this.options;
    for (const held of this.held) {
      this.extend(held, leaseMs).then(
        (ok) => {
          if (!ok && !held.done)
            logger.warn({ queue, id: held.message.id }, 'lease lost while the handler ran');
        },
        (error: unknown) => logger.debug({ err: error, queue }, 'could not renew a lease'),
      );
    }
  }
}

/** A failure's message, for a dead letter's reason. */
function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
