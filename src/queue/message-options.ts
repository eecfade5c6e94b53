import type { EnqueueOptions, QueueRateLimit } from '../backends/ports.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import type { ReceiveOptions, SendOptions } from './message-types.js';
import { QUEUE_DEDUP_MAX_MS, QUEUE_PRIORITY_MAX } from '../backends/queue-options.js';
import { integerIn, MAX_RETRY_DELAY_MS, type RetryPolicy } from './retry-policy.js';

/** Validated user options of `messageQueue`, in the forms the store and the worker take. */

const DEFAULT_DEDUP_WINDOW_MS = 3_600_000;
const DEFAULT_MAX_DELIVERIES = 5;
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_HANDLER_TIMEOUT_MS = 300_000;
const MAX_DELIVERIES = 1_000;
const MAX_CONCURRENCY = 1_000;
const MAX_PREFETCH = 10_000;
/** Adaptive prefetch ceiling beyond the running handlers: max(this, concurrency). */
const DEFAULT_PREFETCH_EXTRA = 64;
const MAX_ID_LENGTH = 512;
const MAX_HEADERS = 64;
const DAY_MS = 86_400_000;

/** Throw ValidationError unless `queue` is a valid queue name (the rules of event names). */
export function assertQueueName(queue: unknown): asserts queue is string {
  assertName(queue, 'Queue name');
}

/** Enqueue options of a send; `policy` sets the backend's delivery bound (maxRetries + 1 at least). */
export function toEnqueueOptions(
  options: SendOptions | undefined,
  policy: RetryPolicy | undefined,
): {
  enqueue: EnqueueOptions;
  headers: Record<string, string> | undefined;
  traceId: string | undefined;
} {
  const o = asObject(options, 'Send options');
  const enqueue: EnqueueOptions = {};
  if (o['delay'] !== undefined) {
    enqueue.delayMs = duration(o['delay'], 'delay', 0, MAX_RETRY_DELAY_MS);
  }
  if (o['priority'] !== undefined) {
    enqueue.priority = integerIn(
      o['priority'],
      'priority',
      -QUEUE_PRIORITY_MAX,
      QUEUE_PRIORITY_MAX,
    );
  }
  if (o['id'] !== undefined) {
    const id = o['id'];
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw new ValidationError(
        `Send option "id" must be a string of 1 to ${MAX_ID_LENGTH} characters.`,
        {
          details: { field: 'id' },
        },
      );
    }
    enqueue.dedupKey = `id:${id}`;
    enqueue.dedupMs =
      o['dedupWindow'] === undefined
        ? DEFAULT_DEDUP_WINDOW_MS
        : duration(o['dedupWindow'], 'dedupWindow', 1, QUEUE_DEDUP_MAX_MS);
  } else if (o['dedupWindow'] !== undefined) {
    throw new ValidationError('Send option "dedupWindow" needs an "id".', {
      details: { field: 'dedupWindow' },
    });
  }
  const maxDeliveries =
    o['maxDeliveries'] === undefined
      ? DEFAULT_MAX_DELIVERIES
      : integerIn(o['maxDeliveries'], 'maxDeliveries', 1, MAX_DELIVERIES);
  enqueue.maxAttempts = Math.max(maxDeliveries, (policy?.maxRetries ?? 0) + 1);
  return { enqueue, headers: toHeaders(o['headers']), traceId: toTraceId(o['traceId']) };
}

/** The worker's settings of a `receive`. */
export interface ResolvedReceive {
  concurrency: number;
  prefetch: number;
  /** No `prefetch` given: `prefetch` is a ceiling, used as far as the handlers are fast. */
  adaptivePrefetch: boolean;
  leaseMs: number;
  timeout: number;
  rateLimit: QueueRateLimit | undefined;
}

export function toReceiveOptions(options: ReceiveOptions | undefined): ResolvedReceive {
  const o = asObject(options, 'Receive options');
  const concurrency =
    o['concurrency'] === undefined
      ? 1
      : integerIn(o['concurrency'], 'concurrency', 1, MAX_CONCURRENCY);
  const adaptivePrefetch = o['prefetch'] === undefined;
  const prefetch = adaptivePrefetch
    ? Math.min(MAX_PREFETCH, concurrency + Math.max(DEFAULT_PREFETCH_EXTRA, concurrency))
    : integerIn(o['prefetch'], 'prefetch', concurrency, MAX_PREFETCH);
  const leaseMs =
    o['leaseMs'] === undefined ? DEFAULT_LEASE_MS : duration(o['leaseMs'], 'leaseMs', 30, DAY_MS);
  const timeout =
    o['timeout'] === undefined
      ? DEFAULT_HANDLER_TIMEOUT_MS
      : duration(o['timeout'], 'timeout', 1, 7 * DAY_MS);
  let rateLimit: QueueRateLimit | undefined;
  if (o['rateLimit'] !== undefined) {
    const r = asObject(o['rateLimit'] as object, 'rateLimit');
    rateLimit = {
      max: integerIn(r['max'], 'rateLimit.max', 1, 1_000_000),
      intervalMs: duration(r['interval'], 'rateLimit.interval', 1, DAY_MS),
    };
  }
  return { concurrency, prefetch, adaptivePrefetch, leaseMs, timeout, rateLimit };
}

function toTraceId(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new ValidationError(
      `Send option "traceId" must be a string of 1 to ${MAX_ID_LENGTH} characters.`,
      { details: { field: 'traceId' } },
    );
  }
  return value;
}

function toHeaders(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const headers = asObject(value as object, 'headers');
  const keys = Object.keys(headers);
  if (keys.length > MAX_HEADERS) {
    throw new ValidationError(`At most ${MAX_HEADERS} headers.`, { details: { field: 'headers' } });
  }
  for (const key of keys) {
    if (typeof headers[key] !== 'string' || key === '__proto__') {
      throw new ValidationError(`Header "${key}" must be a string.`, {
        details: { field: 'headers', key },
      });
    }
  }
  return headers as Record<string, string>;
}

function asObject(value: object | undefined, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${what} must be an object.`);
  }
  return value as Record<string, unknown>;
}

/** A duration in ms: a finite number in [min, max], rounded up to whole ms. */
export function duration(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ValidationError(`"${field}" must be a number of ms from ${min} to ${max}.`, {
      details: { field, value: typeof value === 'number' ? value : typeof value },
    });
  }
  return Math.ceil(value);
}
