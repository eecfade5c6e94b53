import { SagaFailedError, ValidationError } from '../errors/errors.js';
import { sleep } from '../util/sleep.js';
import type { SagaOptions, SagaStep } from './types.js';

const DEFAULT_COMPENSATION_ATTEMPTS = 3;
/** Most attempts per compensation one may ask for. */
const MAX_COMPENSATION_ATTEMPTS = 100;
/** Pause before a compensation's second attempt, ms; doubled per attempt up to 1 s. */
const FIRST_RETRY_MS = 20;

/**
 * Run `steps` in order; when one fails, compensate the finished ones in reverse order (each
 * retried up to `compensationAttempts` times) and reject with `SagaFailedError`.
 */
export async function runSaga<C>(
  name: string,
  steps: readonly SagaStep<C>[],
  context: C,
  options: SagaOptions | undefined,
  report: (what: string, error: unknown) => void,
): Promise<unknown[]> {
  const attempts = compensationAttempts(options);
  assertSteps(name, steps);
  const results: unknown[] = [];
  for (const [index, step] of steps.entries()) {
    try {
      results.push(await step.run(context));
    } catch (error) {
      const { compensated, failures } = await compensate(
        steps.slice(0, index),
        results,
        context,
        attempts,
      );
      for (const f of failures) report(`saga.${name}`, f.error);
      const message = error instanceof Error ? error.message : String(error);
      throw new SagaFailedError(
        `Saga "${name}" failed at step "${step.name}" (${message}); ` +
          (failures.length === 0
            ? `compensated ${compensated.length} step(s).`
            : `${failures.length} compensation(s) failed too: ${failures.map((f) => f.step).join(', ')}.`),
        {
          cause: error,
          details: {
            saga: name,
            step: step.name,
            compensated,
            compensationErrors: failures.map((f) => ({
              step: f.step,
              message: f.error instanceof Error ? f.error.message : String(f.error),
            })),
          },
        },
      );
    }
  }
  return results;
}

async function compensate<C>(
  done: readonly SagaStep<C>[],
  results: readonly unknown[],
  context: C,
  attempts: number,
): Promise<{ compensated: string[]; failures: { step: string; error: unknown }[] }> {
  const compensated: string[] = [];
  const failures: { step: string; error: unknown }[] = [];
  for (let i = done.length - 1; i >= 0; i--) {
    const step = done[i]!;
    if (step.compensate === undefined) continue;
    let backoff = FIRST_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await step.compensate(context, results[i]);
        compensated.push(step.name);
        break;
      } catch (error) {
        if (attempt >= attempts) {
          failures.push({ step: step.name, error });
          break;
        }
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1_000);
    }
  }
  return { compensated, failures };
}

function compensationAttempts(options: SagaOptions | undefined): number {
  const value = options?.compensationAttempts ?? DEFAULT_COMPENSATION_ATTEMPTS;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_COMPENSATION_ATTEMPTS) {
    throw new ValidationError(
      `Saga option "compensationAttempts" must be a whole number from 1 to ${MAX_COMPENSATION_ATTEMPTS}, got ${String(value)}.`,
      { details: { field: 'compensationAttempts' } },
    );
  }
  return value;
}

function assertSteps(name: string, steps: unknown): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new ValidationError('A saga needs a name (a non-empty string).');
  if (!Array.isArray(steps)) throw new ValidationError(`Saga "${name}": steps must be an array.`);
  for (const [i, step] of (steps as Partial<SagaStep>[]).entries()) {
    const bad =
      typeof step?.name !== 'string' ||
      typeof step.run !== 'function' ||
      (step.compensate !== undefined && typeof step.compensate !== 'function');
    if (bad) {
      throw new ValidationError(
        `Saga "${name}": step ${i} must be { name, run(context), compensate?(context, result) }.`,
        { details: { saga: name, step: i } },
      );
    }
  }
}
