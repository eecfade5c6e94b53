import { invoke, type Step } from './call-context.js';
import type { CallContext, Fallback, Guarded } from './types.js';

/** Any failure of the call (an open circuit, a timeout, a full bulkhead included) → `fallback(error)`. */
export class FallbackPolicy implements Step {
  constructor(private readonly fallback: Fallback<unknown>) {}

  run<T>(fn: Guarded<T>, call: CallContext): Promise<T> {
    return invoke(fn, call).catch(this.fallback as Fallback<T>);
  }
}
