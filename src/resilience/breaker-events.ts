import { ValidationError } from '../errors/errors.js';
import type { CircuitState, CircuitStateChange } from './types.js';

type Listener = (change: CircuitStateChange) => void;
type BreakerEvent = 'stateChange' | CircuitState;

const EVENTS: readonly BreakerEvent[] = ['stateChange', 'open', 'half-open', 'closed'];

/** Listeners of one breaker, from every plugin of the node: bounded, and each one guarded. */
export const MAX_LISTENERS = 1000;

export class BreakerEvents {
  private readonly listeners = new Map<BreakerEvent, Set<Listener>>();
  private count = 0;

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  on(event: BreakerEvent, listener: Listener): () => void {
    if (!EVENTS.includes(event)) {
      throw new ValidationError(
        `Unknown circuit breaker event "${String(event)}": use ${EVENTS.join(', ')}.`,
        { details: { event } },
      );
    }
    if (typeof listener !== 'function') {
      throw new ValidationError('A circuit breaker listener must be a function.', {
        details: { event },
      });
    }
    if (this.count >= MAX_LISTENERS) {
      throw new ValidationError(
        `A circuit breaker has ${MAX_LISTENERS} listeners already; unsubscribe some first.`,
        { details: { event, limit: MAX_LISTENERS } },
      );
    }
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    // Wrapped, so one function subscribed twice is two subscriptions.
    const entry: Listener = (change) => listener(change);
    set.add(entry);
    this.count++;
    return () => {
      if (set.delete(entry)) this.count--;
    };
  }

  emit(change: CircuitStateChange): void {
    this.call(this.listeners.get('stateChange'), change);
    this.call(this.listeners.get(change.to), change);
  }

  clear(): void {
    this.listeners.clear();
    this.count = 0;
  }

  private call(set: Set<Listener> | undefined, change: CircuitStateChange): void {
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(change);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
