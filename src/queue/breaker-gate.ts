import type { CircuitBreaker } from '../resilience/types.js';
import type { DeliveryGate } from './queue-worker.js';

/**
 * Hold a queue's deliveries back while its circuit breaker is open: nothing is claimed or
 * started until the breaker lets probes through again (half-open), so an open circuit spends no
 * delivery attempts.
 */
export function breakerGate(breaker: CircuitBreaker): DeliveryGate {
  return {
    get paused() {
      return breaker.state === 'open';
    },
    onResume: (listener) =>
      breaker.on('stateChange', (change) => {
        if (change.from === 'open') listener();
      }),
  };
}
