/**
 * Public types of `context.circuitBreakerFactory`: circuit breakers, and the retry, timeout,
 * bulkhead and fallback policies they compose with.
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failure rate, percent, over the rolling window that opens the circuit. Default 50. */
  failureThreshold?: number;
  /** Successful probe calls in half-open that close the circuit again. Default 1. */
  successThreshold?: number;
  /** How long the circuit stays open before half-open, ms. Default 30000. */
  timeout?: number;
  /** Length of the rolling window, ms. Default 10000. */
  windowMs?: number;
  /** Calls in the window before the failure rate counts. Default 10. */
  minimumCalls?: number;
  /** Probe calls admitted at once in half-open. Default 1. */
  halfOpenProbes?: number;
  /**
   * Which errors count as failures (default: every error). The others count as successes (the
   * dependency answered). A classifier that throws counts the call as failed.
   */
  isFailure?: (error: unknown) => boolean;
}

export interface CircuitStats {
  readonly state: CircuitState;
  /** In the current window. */
  readonly calls: number;
  readonly failures: number;
  readonly failureRate: number;
  /** Since creation. */
  readonly successesTotal: number;
  readonly failuresTotal: number;
  readonly rejectedTotal: number;
  readonly timeoutsTotal: number;
  /** When the circuit last changed state (epoch ms). */
  readonly changedAt: number;
}

export interface CircuitStateChange {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly at: number;
}

/** What a guarded function receives: `signal` aborts when a timeout policy gives up on it. */
export interface CallContext {
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
}

export type Guarded<T> = (call: CallContext) => T | Promise<T>;
export type Fallback<T> = (error: unknown) => T | Promise<T>;

/** Anything that can run a guarded call. */
export interface Policy {
  execute<T>(fn: Guarded<T>): Promise<T>;
}

export interface CircuitBreaker extends Policy {
  readonly name: string;
  readonly state: CircuitState;
  readonly stats: CircuitStats;
  /**
   * Run `fn` through the breaker: rejects at once with `CircuitOpenError` while open (or while
   * half-open with every probe slot taken); `details: { name, state, retryAfterMs }`. With
   * `fallback`, any failure (open circuit included) resolves with the fallback's result instead.
   */
  execute<T>(fn: Guarded<T>, fallback?: Fallback<T>): Promise<T>;
  /** `'stateChange'` for every change, or one state's name for entering it. Returns an unsubscribe. */
  on(
    event: 'stateChange' | 'open' | 'half-open' | 'closed',
    listener: (change: CircuitStateChange) => void,
  ): () => void;
  /** Close the circuit and clear its window. */
  reset(): void;
}

export interface RetryPolicyOptions {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Default `'exponential'`. */
  backoff?: 'fixed' | 'exponential';
  /** First delay (fixed: every delay), ms. Default 100. */
  delay?: number;
  /** Largest delay, ms. Default 10000. */
  maxDelay?: number;
  /** `'full'` (default): a random delay in [0, computed]; `'none'`: exactly the computed one. */
  jitter?: 'full' | 'none';
  /**
   * Which errors are retried: error classes, or a predicate. Default: errors whose `retryable`
   * is true, and errors that are not Plugboard errors.
   */
  retryOn?: readonly (abstract new (...args: never[]) => Error)[] | ((error: unknown) => boolean);
  /**
   * Retries allowed, as a share of calls over the last 10 s (plus `minRetriesPerSecond`), so a
   * failing dependency is not hammered by retries. Default `{ ratio: 0.2, minRetriesPerSecond: 10 }`.
   */
  budget?: { ratio: number; minRetriesPerSecond: number } | false;
}

export interface BulkheadOptions {
  /** Calls running at once. */
  maxConcurrent: number;
  /** Calls waiting for a slot; more are rejected with `BulkheadRejectedError`. Default 0. */
  maxQueue?: number;
}

export interface BulkheadPolicy extends Policy {
  /** Calls holding a slot now. */
  readonly running: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
}

/**
 * Policies composed in one fixed order, from the call outwards: timeout (per attempt), breaker
 * (sees timeouts), retry, bulkhead (a call holds its slot across retries), fallback.
 */
export interface PolicyOptions {
  /** Per-attempt timeout, ms (`TimeoutError`; the callee's `signal` aborts). */
  timeout?: number;
  /** A breaker name (created with these options unless it exists) or options for one. */
  breaker?: string | (CircuitBreakerOptions & { name: string });
  retry?: RetryPolicyOptions;
  bulkhead?: BulkheadOptions;
}

export interface CircuitBreakerFactory {
  /**
   * The node's breaker named `name`, created with `options` on first use: one breaker per name
   * per node, shared by every plugin of the node. For an existing name, `options` must agree
   * with its options (defaults filled in; `isFailure` is not compared), else `ValidationError`;
   * without `options` it is a lookup. At most 1000 breakers per node (`ValidationError`).
   */
  create(name: string, options?: CircuitBreakerOptions): CircuitBreaker;
  /** The node's breaker named `name`, if created. */
  get(name: string): CircuitBreaker | undefined;
  list(): readonly CircuitBreaker[];
  retry(options?: RetryPolicyOptions): Policy;
  timeout(ms: number): Policy;
  bulkhead(options: BulkheadOptions): BulkheadPolicy;
  fallback<T>(fallback: Fallback<T>): Policy;
  /** Compose in the documented order; `fallback` outermost. */
  policy(options: PolicyOptions, fallback?: Fallback<unknown>): Policy;
}

/**
 * Policy options as configured for a service or a queue: a breaker given as options may leave
 * out its name (then `rpc:<service>`, or `queue:<queue>`).
 */
export interface ConfiguredPolicyOptions extends Omit<PolicyOptions, 'breaker'> {
  breaker?: string | (CircuitBreakerOptions & { name?: string });
}

/**
 * `createHost({ resilience })`: policies applied by configuration, without code changes. Keys are
 * service names (RPC calls made by this host's plugins) and queue names (this host's consumers).
 */
export interface ResilienceOptions {
  services?: Readonly<Record<string, ConfiguredPolicyOptions>>;
  queues?: Readonly<Record<string, ConfiguredPolicyOptions>>;
}
