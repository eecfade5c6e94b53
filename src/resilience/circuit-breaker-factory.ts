import type { Logger } from 'pino';
import type { PluginScope } from '../context/plugin-scope.js';
import type { CircuitBreakerFactory } from './types.js';

/** What the resilience block needs from the runtime (one per host). */
export interface ResilienceEnv {
  readonly logger: Logger;
  readonly nodeId: string;
}

/** A plugin's `context.circuitBreakerFactory` over the node's one breaker per name. */
export function createCircuitBreakerFactory(
  _env: ResilienceEnv,
  _scope: PluginScope,
  _report: (what: string, error: unknown) => void,
): CircuitBreakerFactory {
  const notYet = (): never => {
    throw new Error('circuitBreakerFactory: not built yet (issue 10 base stub)');
  };
  return {
    create: notYet,
    get: notYet,
    list: notYet,
    retry: notYet,
    timeout: notYet,
    bulkhead: notYet,
    fallback: notYet,
    policy: notYet,
  };
}
