import type { Logger } from 'pino';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import { assertSameSettings, breakerSettings } from './breaker-options.js';
import type { Clock } from './call-context.js';
import { SharedBreaker } from './circuit-breaker.js';
import { coarseClock } from './coarse-clock.js';
import type { CircuitBreakerOptions } from './types.js';

/** Breakers one node keeps at most: one per dependency, not one per call or per key. */
export const DEFAULT_MAX_BREAKERS = 1000;

export interface BreakerRegistryOptions {
  logger: Logger;
  maxBreakers?: number;
  /** One clock for everything (tests); default `Date`, and a coarse clock on the hot path. */
  clock?: Clock;
}

/**
 * The node's circuit breakers by name (one per name per node, shared by its plugins), created
 * once by the runtime. Bounded: past `maxBreakers` a new name is a `ValidationError`.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, SharedBreaker>();
  private readonly maxBreakers: number;
  private readonly clock: Clock;
  private readonly hotClock: Clock;

  constructor(private readonly options: BreakerRegistryOptions) {
    this.maxBreakers = options.maxBreakers ?? DEFAULT_MAX_BREAKERS;
    this.clock = options.clock ?? Date;
    this.hotClock = options.clock ?? coarseClock;
  }

  get size(): number {
    return this.breakers.size;
  }

  /**
   * The breaker `name`, created with `options` if new. An existing one is returned when
   * `options` is undefined or agrees with its options; other options are a `ValidationError`
   * (two plugins silently sharing a breaker tuned for only one of them is a bug to surface).
   */
  getOrCreate(name: string, options?: CircuitBreakerOptions): SharedBreaker {
    assertName(name, 'Circuit breaker name');
    const existing = this.breakers.get(name);
    if (existing !== undefined) {
      if (options !== undefined)
        assertSameSettings(name, existing.settings, breakerSettings(options));
      return existing;
    }
    const settings = breakerSettings(options);
    if (this.breakers.size >= this.maxBreakers) {
      throw new ValidationError(
        `Cannot create circuit breaker "${name}": this node has ${this.maxBreakers} already. ` +
          'Name breakers after dependencies (a service, a host), not after calls or keys.',
        { details: { name, limit: this.maxBreakers } },
      );
    }
    const logger = this.options.logger;
    const breaker = new SharedBreaker(
      name,
      settings,
      this.clock,
      (error) => logger.warn({ err: error, breaker: name }, 'A circuit breaker listener threw'),
      this.hotClock,
    );
    this.breakers.set(name, breaker);
    return breaker;
  }

  get(name: string): SharedBreaker | undefined {
    return this.breakers.get(name);
  }

  list(): SharedBreaker[] {
    return [...this.breakers.values()];
  }

  /** Forget every breaker (the runtime's end). */
  close(): void {
    for (const breaker of this.breakers.values()) breaker.dispose();
    this.breakers.clear();
  }
}
