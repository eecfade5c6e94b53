import type { EnqueueOptions } from '../ports.js';
import { validateEnqueueOptions } from '../queue-options.js';

/** Enqueue options as the enqueue script takes them (ARGV[3..7]). */
export interface EnqueueArgs {
  readonly delayMs: number;
  readonly notBefore: number;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly dedupMs: number;
  readonly dedupKey: string | undefined;
}

const PLAIN: EnqueueArgs = {
  delayMs: 0,
  notBefore: 0,
  priority: 0,
  maxAttempts: 0,
  dedupMs: 0,
  dedupKey: undefined,
};

/**
 * Check `options` (the shared validator) and turn them into script arguments: times rounded up
 * to whole ms, so nothing is claimable before it is due.
 * @throws ValidationError naming the bad option.
 */
export function enqueueArgs(options: EnqueueOptions | undefined): EnqueueArgs {
  if (options === undefined) return PLAIN;
  validateEnqueueOptions(options);
  const { delayMs = 0, notBefore = 0, priority = 0, maxAttempts = 0, dedupKey, dedupMs } = options;
  return {
    delayMs: Math.ceil(delayMs),
    notBefore: Math.max(0, Math.ceil(notBefore)),
    priority,
    maxAttempts,
    dedupMs: dedupKey === undefined ? 0 : Math.ceil(dedupMs ?? 0),
    dedupKey,
  };
}
