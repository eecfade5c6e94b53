import type { Logger } from 'pino';
import type { QueueStore } from '../backends/ports.js';
import { validateEnqueueOptions } from '../backends/queue-options.js';
import { ClosedError, isPlugboardError, TimeoutError, ValidationError } from '../errors/errors.js';
import { withDeadline } from '../util/bound.js';
import type { Deadlines } from '../util/deadlines.js';
import { compileSchedule, type NextDue } from './repeat-due.js';
import type { RepeatHandle, RepeatSchedule } from './repeat-types.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/**
 * An occurrence is enqueued at most this long before it is due: its idempotency key must be
 * remembered from then until after the due time, and backends keep keys 30 days at most.
 */
const MAX_LEAD_MS = 7 * DAY;
/** Backends remember an idempotency key this long at most. */
const MAX_DEDUP_MS = 30 * DAY;
/** `setTimeout` takes at most 2^31-1 ms; longer waits are chained. */
const MAX_TIMER_MS = 6 * 60 * MINUTE;
/** Backoff between failed enqueues (backend unreachable): doubling from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_LAST_MS = 30_000;
/** Bound on one enqueue, in case a store misses its own operation timeout. */
const ENQUEUE_TIMEOUT_MS = 60_000;

export interface RepeatSchedulerOptions {
  store: QueueStore;
  logger: Logger;
  /** Scheduler for the enqueue bound (the runtime's); default the process-wide one. */
  deadlines?: Deadlines;
}

export interface RepeatStartOptions {
  /** Names the schedule cluster-wide: hosts running the same name share its occurrences. */
  name: string;
  priority?: number;
  maxAttempts?: number;
}

/**
 * Runs repeat schedules: keeps each schedule's next occurrence enqueued in its queue.
 *
 * Every host running a schedule computes the same due times (see `repeat-due.ts`) and enqueues
 * the next one ahead with `notBefore = due` and the idempotency key `repeat:<name>:<due>`; at
 * each due time (by its own clock) it enqueues the following one. However many hosts run the
 * schedule, the backend stores each occurrence once (the key) and makes it claimable at its due
 * time by the backend's clock, so each due time fires once across the cluster.
 *
 * Hosts' clocks may disagree by up to the key's grace (at least a minute past the due time)
 * without a due time firing twice. Occurrences missed while no host ran the schedule are not
 * caught up. When enqueueing fails
 * (backend unreachable) it is logged and retried with backoff; an occurrence is still enqueued
 * late (delivered at once) until the next one is due, after which it is skipped, with a warning.
 *
 * Timers are unref'd: a schedule never keeps the process alive on its own (the host decides how
 * long the process lives); they are cleared by `cancel()` and `close()`.
 */
export class RepeatScheduler {
  private readonly runs = new Set<RepeatRun>();
  private closed = false;

  constructor(private readonly options: RepeatSchedulerOptions) {}

  start(
    backendQueue: string,
    payload: Uint8Array,
    schedule: RepeatSchedule,
    options: RepeatStartOptions,
  ): RepeatHandle {
    const name: unknown = (options as Partial<RepeatStartOptions> | undefined)?.name;
    if (typeof name !== 'string' || name === '' || name.length > 255) {
      throw new ValidationError(
        'A repeat schedule needs a name of 1 to 255 characters (it identifies the schedule across hosts).',
        { details: { name } },
      );
    }
    const nextDue = compileSchedule(schedule, `Repeat schedule "${name}"`);
    validateEnqueueOptions({ priority: options.priority, maxAttempts: options.maxAttempts });
    if (this.closed) {
      throw new ClosedError(`The repeat scheduler is closed; cannot start "${name}".`, {
        details: { name },
      });
    }
    const run = new RepeatRun(this.options, backendQueue, payload, nextDue, { ...options, name });
    this.runs.add(run);
    void run.finished.then(() => this.runs.delete(run));
    return Object.freeze({ name, cancel: () => run.cancel() });
  }

  /** Schedules running now. */
  get size(): number {
    return this.runs.size;
  }

  /** Cancel every schedule (their timers are cleared at once); later `start` calls throw. */
  close(): void {
    this.closed = true;
    for (const run of this.runs) void run.cancel();
  }
}

/** One schedule on this host: a loop of "enqueue the next occurrence, sleep until it is due". */
class RepeatRun {
  readonly finished: Promise<void>;
  private readonly stop = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly env: RepeatSchedulerOptions,
    private readonly queue: string,
    private readonly payload: Uint8Array,
    private readonly nextDue: NextDue,
    private readonly options: RepeatStartOptions,
  ) {
    this.logger = env.logger.child({ repeat: options.name, queue });
    this.finished = this.loop().catch((error: unknown) =>
      this.logger.error({ err: error }, 'repeat schedule stopped by an unexpected error'),
    );
  }

  cancel(): Promise<void> {
    this.stop.abort();
    return this.finished;
  }

  private async loop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const now = Date.now();
      const due = this.nextDue(now);
      if (due === undefined) {
        this.logger.info('repeat schedule has no further occurrence');
        return;
      }
      if (due - now > MAX_LEAD_MS) {
        await sleepUntil(due - MAX_LEAD_MS, signal);
        continue;
      }
      if (!(await this.enqueue(due, signal))) return;
      // At the due time (or at once, if enqueueing took that long) the next one is enqueued.
      await sleepUntil(due, signal);
    }
  }

  /**
   * Enqueue the occurrence `due`, retrying with backoff until done, cancelled or superseded.
   * False: the backend refused it for good (e.g. the payload is too large), and the schedule ends.
   */
  private async enqueue(due: number, signal: AbortSignal): Promise<boolean> {
    const following = this.nextDue(due);
    // The key is remembered from now until well after the due time, so a host whose clock is
    // late (or that starts just after the delivery) cannot enqueue the occurrence a second time.
    const grace = Math.min(DAY, Math.max(MINUTE, 2 * ((following ?? due + MINUTE) - due)));
    let backoff = RETRY_FIRST_MS;
    for (let attempt = 1; !signal.aborted; attempt++) {
      const now = Date.now();
      if (following !== undefined && now >= following) {
        this.logger.warn({ due }, 'skipped an occurrence: it could not be enqueued in time');
        return true;
      }
      try {
        await withDeadline(
          () =>
            this.env.store.enqueue(this.queue, this.payload, {
              notBefore: due,
              dedupKey: `repeat:${this.options.name}:${due}`,
              dedupMs: Math.min(MAX_DEDUP_MS, Math.max(0, due - now) + grace),
              priority: this.options.priority,
              maxAttempts: this.options.maxAttempts,
            }),
          ENQUEUE_TIMEOUT_MS,
          () => new TimeoutError(`Enqueueing an occurrence took over ${ENQUEUE_TIMEOUT_MS} ms.`),
          this.env.deadlines,
        );
        if (attempt > 1)
          this.logger.info({ due, attempt }, 'enqueued the occurrence after retrying');
        return true;
      } catch (error) {
        if (isPlugboardError(error) && !error.retryable) {
          this.logger.error({ err: error, due }, 'repeat schedule stopped: the backend refused it');
          return false;
        }
        this.logger.warn(
          { err: error, due, attempt, retryInMs: backoff },
          'could not enqueue the next occurrence; retrying',
        );
        await sleepUntil(Date.now() + backoff, signal);
        backoff = Math.min(RETRY_LAST_MS, backoff * 2);
      }
    }
    return true;
  }
}

/** Resolve at `epochMs` by the local clock, or at once when `signal` aborts. Never rejects. */
function sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // Re-armed until the clock really reached `epochMs` (long waits are chained; a timer may
    // fire a little before the wall clock agrees).
    const arm = (): void => {
      const left = epochMs - Date.now();
      if (left <= 0 || signal.aborted) return done();
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    signal.addEventListener('abort', done, { once: true });
    arm();
  });
}
