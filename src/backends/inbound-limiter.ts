import type { DeliveryInfo, TopicHandler, TransportFault } from './ports.js';

/** Default bound of concurrently running inbound message handlers per node. */
export const DEFAULT_MAX_INBOUND_HANDLERS = 1000;

/** Shortest time between two `inbound-shed` fault reports. */
const SHED_REPORT_INTERVAL_MS = 1000;

/**
 * Bounds the inbound message handlers of one node that run at the same time, as both
 * transports use it. A handler that returns a promise counts until it settles. Past the bound,
 * an at-most-once message is dropped at once (counted, and reported as an `inbound-shed` fault
 * at most once per second), so a slow consumer sheds load instead of letting the server's
 * buffer for it grow until it is cut off. Requests and replies never pass through here: they
 * are neither shed nor queued behind events.
 */
export class InboundLimiter {
  private running = 0;
  private shed = 0;
  /** Drops not reported yet, and when the last report went out. */
  private unreported = 0;
  private lastReport = -Infinity;
  private reportTimer: NodeJS.Timeout | undefined;
  private readonly settled = (): void => {
    this.running--;
  };
  private readonly failedAsync = (error: unknown): void => {
    this.running--;
    this.onError(error, undefined);
  };

  constructor(
    readonly max: number,
    /** A handler threw or its promise rejected (handlers must not; the transport logs it). */
    private readonly onError: (error: unknown, topic: string | undefined) => void,
    /** Rate-limited shed reports. */
    private readonly onFault: (fault: TransportFault) => void,
  ) {}

  /** Handlers running now. */
  get active(): number {
    return this.running;
  }

  /** Messages dropped at the bound since start. */
  get dropped(): number {
    return this.shed;
  }

  /**
   * Run `handler` for one at-most-once message, unless `max` handlers are running: then the
   * message is dropped and counted. Returns false when it was dropped.
   */
  deliver(handler: TopicHandler, payload: Uint8Array, info: DeliveryInfo, topic: string): boolean {
    if (this.running >= this.max) {
      this.drop(topic);
      return false;
    }
    let result: unknown;
    try {
      result = handler(payload, info);
    } catch (error) {
      this.onError(error, topic);
      return true;
    }
    if (isPromiseLike(result)) {
      this.running++;
      result.then(this.settled, this.failedAsync);
    }
    return true;
  }

  /** Stop the pending report timer (the transport is closing). */
  close(): void {
    if (this.reportTimer !== undefined) clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
  }

  private drop(topic: string): void {
    this.shed++;
    this.unreported++;
    const wait = this.lastReport + SHED_REPORT_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.report(topic);
    } else if (this.reportTimer === undefined) {
      // Drops inside the interval are summed into one report at its end.
      this.reportTimer = setTimeout(() => {
        this.reportTimer = undefined;
        this.report(topic);
      }, wait);
      this.reportTimer.unref();
    }
  }

  private report(topic: string): void {
    const dropped = this.unreported;
    if (dropped === 0) return;
    this.unreported = 0;
    this.lastReport = Date.now();
    this.onFault({
      kind: 'inbound-shed',
      message: `Dropped ${dropped} inbound message(s) (e.g. on "${topic}"): ${this.max} handlers were already running (maxInboundHandlers).`,
      details: { dropped, total: this.shed, limit: this.max, topic },
    });
  }
}

/** Listeners of transport faults; a throwing listener does not stop the others. */
export class FaultListeners {
  private readonly listeners = new Set<(fault: TransportFault) => void>();

  add(listener: (fault: TransportFault) => void): () => void {
    const entry = (fault: TransportFault): void => listener(fault);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  emit(fault: TransportFault): void {
    for (const listener of this.listeners) {
      try {
        listener(fault);
      } catch {
        // A listener's own failure must not hide the fault from the others.
      }
    }
  }
}

/** Validate a `maxInboundHandlers` option. */
export function isValidHandlerBound(value: number): boolean {
  return Number.isInteger(value) && value >= 1;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
