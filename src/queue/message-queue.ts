import type { Logger } from 'pino';
import type { ClaimedMessage, EnqueueOptions, QueueStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { ContextClosedError, TimeoutError, ValidationError } from '../errors/errors.js';
import type { PluginScope, Releasable } from '../context/plugin-scope.js';
import type { Deadlines } from '../util/deadlines.js';
import { attributionActive, runAsPlugin } from '../util/plugin-attribution.js';
import { isThenable } from '../util/thenable.js';
import {
  currentTrace,
  explicitTrace,
  runInTrace,
  type TraceCarrier,
} from '../bus/current-trace.js';
import { SpanKind, startSpan, tracingOn } from '../trace/spans.js';
import { formatTrace } from '../trace/traceparent.js';
import { decodeEnvelope, encodeEnvelope, tryDecodeEnvelope } from './message-envelope.js';
import {
  assertQueueName,
  duration,
  toEnqueueOptions,
  toReceiveOptions,
} from './message-options.js';
import {
  MessageStatus,
  type Consumer,
  type MessageHandler,
  type MessageQueue,
  type QueueDeadLetter,
  type QueueMessage,
  type QueueStats,
  type ReceiveOptions,
  type RepeatHandle,
  type RepeatSchedule,
  type SendOptions,
} from './message-types.js';
import { workQueueName } from './queue-names.js';
import { breakerGate } from './breaker-gate.js';
import {
  DeliveryRefused,
  QueueWorker,
  type DeliveryControl,
  type WorkerTask,
} from './queue-worker.js';
import type { ConfiguredPolicy } from '../resilience/configured-policies.js';
import { SendBatch } from './send-batch.js';
import { integerIn, toRetryPolicy, type RetryPolicy } from './retry-policy.js';

/** What keeps repeating messages enqueued (see `repeat-schedule.ts`). */
export interface RepeatStarter {
  start(
    backendQueue: string,
    payload: Uint8Array,
    schedule: RepeatSchedule,
    options: { name: string; priority?: number; maxAttempts?: number },
  ): RepeatHandle;
  close(): void;
}

/** The host-wide parts every plugin's message queue shares. */
export interface MessageQueueEnv {
  store: QueueStore;
  codec: Codec;
  logger: Logger;
  deadlines: Deadlines;
  nodeId: string;
  /** A repeat scheduler for one plugin (closed when it stops); absent: `repeat` is refused. */
  createRepeats?: () => RepeatStarter;
  /** The host's configured policies by queue name (`resilience.queues`). */
  policies?: ReadonlyMap<string, ConfiguredPolicy>;
}

const DEFAULT_DEAD_LETTER_LIMIT = 100;
const MAX_DEAD_LETTER_LIMIT = 10_000;
/** A stopping plugin's consumers give up on stuck handlers this long before its release bound. */
const RELEASE_MARGIN_MS = 500;

let consumerSeq = 0;
/** `messaging.system` of work-queue spans. */
const QUEUE_SYSTEM = 'plugboard';

/**
 * `context.messageQueue` of one plugin: validates and encodes, then speaks to the queue store
 * (work queue `x` is backend queue `mq:x`). Consumers run on the one queue engine
 * ({@link QueueWorker}) and are stopped, bounded, when the plugin stops; handler failures are
 * reported through `report` (as `plugin.error`).
 */
export function createMessageQueue(
  env: MessageQueueEnv,
  scope: PluginScope,
  report: (queue: string, error: unknown, traceId: string) => void,
): MessageQueue {
  const { store, codec } = env;
  const sends = new SendBatch(store);
  let repeats: RepeatStarter | undefined;

  /** Run `fn` unless the plugin stopped; a throw becomes a rejection. */
  const guarded = <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      if (scope.closed) throw closed(scope, operation);
      return fn();
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const send = (
    queue: string,
    data: unknown,
    options: SendOptions | undefined,
    policy: RetryPolicy | undefined,
    extra?: EnqueueOptions,
  ): Promise<string> =>
    guarded(`sending to "${String(queue)}"`, () => {
      assertQueueName(queue);
      scope.guard?.assert('queue', 'send', queue);
      const { enqueue, headers, traceId } = toEnqueueOptions(options, policy);
      const parent = traceId === undefined ? currentTrace() : explicitTrace(traceId);
      const span = tracingOn()
        ? startSpan(`${queue} send`, SpanKind.PRODUCER, parent, {
            'messaging.system': QUEUE_SYSTEM,
            'messaging.operation.type': 'send',
            'messaging.destination.name': queue,
            'plugboard.plugin': scope.pluginId,
          })
        : undefined;
      const trace = span ?? parent;
      const payload = encodeEnvelope(
        codec,
        data,
        headers,
        policy,
        trace === undefined ? undefined : formatTrace(trace),
        scope.pluginId,
      );
      const sent = sends.send(
        workQueueName(queue),
        payload,
        extra === undefined ? enqueue : { ...enqueue, ...extra },
      );
      span?.endWhen(sent);
      return sent;
    });

  const receive = (
    queue: string,
    handler: MessageHandler,
    options: ReceiveOptions | undefined,
  ): Consumer => {
    scope.assertOpen(`receiving from "${String(queue)}"`);
    assertQueueName(queue);
    scope.guard?.assert('queue', 'receive', queue);
    if (typeof handler !== 'function') {
      throw new ValidationError(`The handler for queue "${queue}" must be a function.`);
    }
    const settings = toReceiveOptions(options);
    const configured = env.policies?.get(queue);
    const breaker = configured?.policy.breaker;
    const worker = new QueueWorker({
      store,
      queue: workQueueName(queue),
      consumerId: `${env.nodeId}:${scope.pluginId}:${++consumerSeq}`,
      logger: env.logger,
      deadlines: env.deadlines,
      concurrency: settings.concurrency,
      prefetch: settings.prefetch,
      adaptivePrefetch: settings.adaptivePrefetch,
      leaseMs: settings.leaseMs,
      handlerTimeout: settings.timeout,
      rateLimit: settings.rateLimit,
      tracker: scope.tracker,
      ...(breaker === undefined ? {} : { gate: breakerGate(breaker) }),
      prepare: (message) => prepare(queue, message, handler, report, scope, codec, configured),
    });
    let stopped: Promise<void> | undefined;
    const stop = (timeoutMs?: number): Promise<void> => {
      scope.drop(held);
      return (stopped ??= worker.stop(timeoutMs));
    };
    const held: Releasable = {
      kind: 'subscription',
      release: (timeoutMs) =>
        stop(
          timeoutMs === undefined
            ? undefined
            : Math.max(0, Math.min(settings.timeout, timeoutMs - RELEASE_MARGIN_MS)),
        ),
    };
    scope.hold(held);
    worker.start();
    return {
      queue,
      get inFlight() {
        return worker.inFlight;
      },
      stop: (timeout) => {
        try {
          return stop(
            timeout === undefined ? undefined : duration(timeout, 'timeout', 0, 7 * 86_400_000),
          );
        } catch (error) {
          return Promise.reject(error);
        }
      },
    };
  };

  /** A backend call on `queue` (validated) unless the plugin stopped. */
  const admin = <T>(operation: string, queue: string, fn: (backendQueue: string) => Promise<T>) =>
    guarded(`${operation} of "${String(queue)}"`, () => {
      assertQueueName(queue);
      scope.guard?.assert('queue', 'manage', queue);
      return fn(workQueueName(queue));
    });

  const messageQueue: MessageQueue = {
    send: (queue, data, options) => send(queue, data, options, undefined),
    receive: (queue, handler, options) => receive(queue, handler as MessageHandler, options),
    sendDelayed: (queue, data, delay, options) =>
      guarded(`sending to "${String(queue)}"`, () =>
        send(queue, data, options, undefined, {
          delayMs: duration(delay, 'delay', 0, 30 * 86_400_000),
        }),
      ),
    sendWithRetry: (queue, data, retry, options) =>
      guarded(`sending to "${String(queue)}"`, () =>
        send(queue, data, options, toRetryPolicy(retry)),
      ),
    cancel: (queue, id) => admin('cancelling a message', queue, (q) => store.remove(q, String(id))),
    stats: (queue) =>
      admin('reading the stats', queue, async (q) => toStats(await store.activity(q))),
    deadLetters: <T>(queue: string, limit = DEFAULT_DEAD_LETTER_LIMIT) =>
      admin('listing the dead letters', queue, async (q) => {
        const count = integerIn(limit, 'limit', 1, MAX_DEAD_LETTER_LIMIT);
        return (await store.deadLetters(q, count)).map((dead): QueueDeadLetter<T> => {
          const { id, reason, attempt, enqueuedAt, deadAt } = dead;
          const envelope = tryDecodeEnvelope(codec, dead.payload);
          const data = envelope?.data as T | undefined;
          const headers = envelope?.headers ?? {};
          return { id, queue, data, headers, reason, attempt, enqueuedAt, deadAt };
        });
      }),
    retryDeadLetter: (queue, id) =>
      admin('retrying a dead letter', queue, (q) => store.retryDeadLetter(q, String(id))),
    retryDeadLetters: (queue) =>
      admin('retrying the dead letters', queue, (q) => store.retryDeadLetters(q)),
    removeDeadLetter: (queue, id) =>
      admin('removing a dead letter', queue, (q) => store.removeDeadLetter(q, String(id))),
    purgeDeadLetters: (queue) =>
      admin('purging the dead letters', queue, (q) => store.purgeDeadLetters(q)),
    repeat: (queue, data, schedule, options) =>
      guarded(`repeating to "${String(queue)}"`, () => {
        scope.assertOpen(`repeating to "${String(queue)}"`);
        assertQueueName(queue);
        scope.guard?.assert('queue', 'send', queue);
        if (env.createRepeats === undefined) {
          throw new ValidationError('Repeating messages are not available on this host.');
        }
        const name = (options as { name?: unknown } | undefined)?.name;
        if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
          throw new ValidationError(
            'repeat() needs options.name: a string of 1 to 200 characters.',
            {
              details: { field: 'name' },
            },
          );
        }
        const { enqueue, headers, traceId } = toEnqueueOptions(options, undefined);
        const payload = encodeEnvelope(codec, data, headers, undefined, traceId, scope.pluginId);
        if (repeats === undefined) {
          const scheduler = env.createRepeats();
          repeats = scheduler;
          scope.hold({ kind: 'timer', release: () => scheduler.close() });
        }
        return Promise.resolve(
          repeats.start(workQueueName(queue), payload, schedule, {
            name,
            ...(enqueue.priority === undefined ? {} : { priority: enqueue.priority }),
            maxAttempts: enqueue.maxAttempts ?? 0,
          }),
        );
      }),
  };
  return messageQueue;
}

/**
 * One claimed message as a task: decode the envelope, call the handler with a QueueMessage
 * (through the queue's configured policy, if any).
 */
function prepare(
  queue: string,
  claimed: ClaimedMessage,
  handler: MessageHandler,
  report: (queue: string, error: unknown, traceId: string) => void,
  scope: PluginScope,
  codec: Codec,
  configured: ConfiguredPolicy | undefined,
): WorkerTask {
  const envelope = decodeEnvelope(codec, claimed.payload);
  const { data, headers, policy, sender } = envelope;
  const traceId = envelope.traceId ?? claimed.id;
  const carried: TraceCarrier = { traceId, spanId: envelope.spanId };
  const deliver = (control: DeliveryControl): unknown => {
    const message: QueueMessage = {
      id: claimed.id,
      queue,
      data,
      attempt: claimed.attempt,
      headers,
      traceId,
      sender,
      enqueuedAt: claimed.enqueuedAt,
      extendLease: (ms) => control.extendLease(ms),
      // Read through: the worker makes the signal only when someone asks for it.
      get signal() {
        return control.signal;
      },
    };
    const span = tracingOn()
      ? startSpan(`${queue} process`, SpanKind.CONSUMER, carried, {
          'messaging.system': QUEUE_SYSTEM,
          'messaging.operation.type': 'process',
          'messaging.destination.name': queue,
          'messaging.message.id': claimed.id,
          'plugboard.plugin': scope.pluginId,
          'plugboard.attempt': claimed.attempt,
        })
      : undefined;
    // What the handler sends or publishes before its first await stays on the message's trace.
    let status: unknown;
    try {
      status = attributionActive()
        ? runInTrace(span ?? message, runAsPlugin, scope.tag, handler, message)
        : runInTrace(span ?? message, handler, message);
    } catch (error) {
      span?.end(true, error);
      throw error;
    }
    // A synchronous handler's verdict is returned as is (the worker settles it at once).
    if (!isThenable(status)) {
      span?.end();
      return verdict(status);
    }
    const settled = Promise.resolve(status).then(verdict);
    span?.endWhen(settled);
    return settled;
  };
  return {
    policy,
    run:
      configured === undefined ? deliver : (control) => throughPolicy(configured, control, deliver),
    onFailure: (error) => {
      // A FAILED status is the handler's own verdict, not an error to report.
      if (!(error instanceof HandlerFailed)) report(queue, error, traceId);
    },
    timeoutError: (timeout) =>
      new TimeoutError(
        `The handler of "${scope.pluginId}" for queue "${queue}" ran over ${timeout} ms; the message follows its retry policy.`,
        { details: { pluginId: scope.pluginId, queue, timeout } },
      ),
  };
}

/**
 * Run a delivery through the queue's policy: each attempt's signal (aborted by the policy's
 * timeout, the handler timeout or the consumer's stop) is the message's signal. Refused before
 * the handler ran (an open circuit, a full bulkhead): `DeliveryRefused`, so the worker keeps the
 * message without counting a failed delivery.
 */
function throughPolicy(
  configured: ConfiguredPolicy,
  control: DeliveryControl,
  deliver: (control: DeliveryControl) => unknown,
): Promise<unknown> {
  let ran = false;
  return configured.policy
    .run(
      (attempt) => {
        ran = true;
        return deliver({ signal: attempt.signal, extendLease: (ms) => control.extendLease(ms) });
      },
      { signal: control.signal, attempt: 1 },
    )
    .catch((error: unknown) => {
      throw ran ? error : new DeliveryRefused(error);
    });
}

/** A stored message's envelope, or undefined when it cannot be decoded (kept for inspection). */
/** A handler's status: FAILED is a failure (thrown), anything else success. */
function verdict(status: unknown): void {
  if (status === MessageStatus.FAILED) throw new HandlerFailed();
}

/** A handler returned MessageStatus.FAILED. */
class HandlerFailed extends Error {
  constructor() {
    super('handler returned MessageStatus.FAILED');
  }
}

function toStats(activity: {
  ready: number;
  delayed: number;
  leased: number;
  dead: number;
  enqueued: number;
  completed: number;
  failed: number;
  windowMs: number;
}): QueueStats {
  const perSecond = (n: number): number =>
    activity.windowMs > 0 ? (n * 1000) / activity.windowMs : 0;
  return {
    waiting: activity.ready,
    delayed: activity.delayed,
    inFlight: activity.leased,
    dead: activity.dead,
    rates: {
      enqueued: perSecond(activity.enqueued),
      completed: perSecond(activity.completed),
      failed: perSecond(activity.failed),
    },
    windowMs: activity.windowMs,
  };
}

function closed(scope: PluginScope, operation: string): ContextClosedError {
  return new ContextClosedError(
    `Plugin "${scope.pluginId}" has stopped; ${operation} is no longer possible.`,
    { details: { pluginId: scope.pluginId, operation } },
  );
}
