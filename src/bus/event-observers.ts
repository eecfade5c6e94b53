import type { Logger } from 'pino';
import type { EventMeta } from './types.js';

/**
 * Told of every event this node sees: each one published here, and each one published on another
 * node that reaches this one (every clustered publish is broadcast to every node). Called
 * synchronously before any handler runs; `data()` returns the published value itself (local) or
 * decodes the frame's bytes (remote): read it, never keep or modify it. Observers change nothing
 * a subscriber sees (no subscription, no group turn, no copy unless `data()` is called).
 */
export type EventObserver = (meta: EventMeta, data: () => unknown) => void;

/** The bus's observers (the dashboard's live stream); costs one size check per event when empty. */
export class EventObservers {
  private readonly observers = new Set<EventObserver>();

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.observers.size;
  }

  add(observer: EventObserver): () => void {
    this.observers.add(observer);
    return () => {
      this.observers.delete(observer);
    };
  }

  notify(meta: EventMeta, data: () => unknown): void {
    for (const observer of this.observers) {
      try {
        observer(meta, data);
      } catch (error) {
        this.logger.warn({ err: error, event: meta.event }, 'An event observer threw');
      }
    }
  }
}
