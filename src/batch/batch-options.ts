import { ValidationError } from '../errors/errors.js';
import type { BatchOptions } from './types.js';

/** {@link BatchOptions} with every default applied. */
export type BatchSettings = Required<BatchOptions>;

const MAX_BATCH_SIZE = 1_000_000;
const DEFAULT_RETRY_DELAY_MS = 1000;
/** Longest delay a timer honours (Node fires longer ones after 1 ms). */
const MAX_DELAY_MS = 2_147_483_647;
/** Ten batches may wait by default: enough to ride out a slow handler, still bounded. */
const DEFAULT_PENDING_BATCHES = 10;

/** Validate `options` of processor `name` and fill in the defaults. */
export function batchSettings(name: string, options: BatchOptions | undefined): BatchSettings {
  const what = `Batch processor "${name}"`;
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(`${what} needs options { batchSize, batchTimeout }.`);
  }
  const { batchSize, batchTimeout, retries = 0, retryDelay = DEFAULT_RETRY_DELAY_MS } = options;
  wholeNumber(batchSize, 1, MAX_BATCH_SIZE, `${what}: batchSize`);
  if (
    typeof batchTimeout !== 'number' ||
    !Number.isFinite(batchTimeout) ||
    batchTimeout <= 0 ||
    batchTimeout > MAX_DELAY_MS
  ) {
    throw new ValidationError(
      `${what}: batchTimeout must be a number of ms above 0, at most ${MAX_DELAY_MS}.`,
      {
        details: { batchTimeout },
      },
    );
  }
  const maxPending = options.maxPending ?? DEFAULT_PENDING_BATCHES * batchSize;
  wholeNumber(maxPending, batchSize, Number.MAX_SAFE_INTEGER, `${what}: maxPending`);
  const whenFull = options.whenFull ?? 'wait';
  if (whenFull !== 'wait' && whenFull !== 'fail') {
    throw new ValidationError(`${what}: whenFull must be 'wait' or 'fail'.`, {
      details: { whenFull },
    });
  }
  wholeNumber(retries, 0, 1000, `${what}: retries`);
  if (
    typeof retryDelay !== 'number' ||
    !Number.isFinite(retryDelay) ||
    retryDelay < 0 ||
    retryDelay > MAX_DELAY_MS
  ) {
    throw new ValidationError(`${what}: retryDelay must be a number of ms, 0 to ${MAX_DELAY_MS}.`, {
      details: { retryDelay },
    });
  }
  return { batchSize, batchTimeout, maxPending, whenFull, retries, retryDelay };
}

function wholeNumber(value: unknown, min: number, max: number, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(
      `${what} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`} (got ${String(value)}).`,
      { details: { value } },
    );
  }
}
