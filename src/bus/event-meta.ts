import { parseTrace } from '../trace/traceparent.js';
import type { EventFrame } from './event-frame.js';
import type { EventMeta } from './types.js';

/**
 * Meta of one publication. The id is generated on first read: most handlers never look at it,
 * and on the in-process path generating it would cost as much as dispatching the event. The
 * publisher passes the timestamp when any receiver can see the meta (see `seesMeta`); otherwise
 * it is taken on first read, which on this path can only happen during the publish itself.
 */
export class LazyEventMeta implements EventMeta {
  private generated: string | undefined;
  private time: number | undefined;
  /** Durable deliveries only. */
  attempt?: number;
  /** The publish span, when spans are recorded (so delivery spans are its children). */
  spanId?: string | undefined;

  constructor(
    readonly event: string,
    readonly source: string,
    readonly nodeId: string,
    timestamp: number | undefined,
    private readonly nextId: () => string,
    id?: string,
    private readonly trace?: string,
  ) {
    this.generated = id;
    this.time = timestamp;
  }

  get timestamp(): number {
    return (this.time ??= Date.now());
  }

  /** The meta of an event that arrived from the backend. */
  static fromFrame(frame: EventFrame, nextId: () => string, attempt?: number): LazyEventMeta {
    const carried = parseTrace(frame.tr);
    const meta = new LazyEventMeta(
      frame.e,
      frame.s,
      frame.n,
      frame.t,
      nextId,
      frame.i,
      carried?.traceId,
    );
    if (carried?.spanId !== undefined) meta.spanId = carried.spanId;
    if (attempt !== undefined) meta.attempt = attempt;
    return meta;
  }

  get id(): string {
    return (this.generated ??= this.nextId());
  }

  get traceId(): string {
    return this.trace ?? this.id;
  }

  toJSON(): EventMeta {
    return {
      event: this.event,
      id: this.id,
      source: this.source,
      nodeId: this.nodeId,
      timestamp: this.timestamp,
      traceId: this.traceId,
      ...(this.attempt === undefined ? {} : { attempt: this.attempt }),
    };
  }
}
