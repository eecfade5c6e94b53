/**
 * Every failure Plugboard reports is one of these classes. Each has a stable `code`
 * (`PB_*`), `name` and `type` equal to the class name, a `retryable` hint, optional
 * structured `details` and an optional `cause`. They cross process boundaries intact
 * (see `wire.ts`), so `error.code` and `error.type` are safe to branch on everywhere.
 */

const BRAND = Symbol.for('plugboard.error');

export interface PlugboardErrorOptions {
  /** Structured facts about the failure (names, limits, the offending field). */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Whether retrying the same operation may succeed. */
  retryable?: boolean;
}

/** Base class of every Plugboard error. Check with {@link isPlugboardError}, not `instanceof`. */
export class PlugboardError extends Error {
  /** Stable machine-readable code, e.g. `PB_RPC_TIMEOUT`. */
  readonly code: string;
  /** Same as `name`: the class name (code may check `error.type`). */
  readonly type: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options: PlugboardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.type = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): { name: string; code: string; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for any Plugboard error, even one from another copy of the package. */
export function isPlugboardError(value: unknown): value is PlugboardError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[BRAND] === true
  );
}

/** True when `value` is an error carrying the given stable code. */
export function hasErrorCode(value: unknown, code: string): boolean {
  return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === code;
}

// ---- input validation -------------------------------------------------------------------------

/** A name (event, service, queue, plugin) or argument is malformed. */
export class ValidationError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_VALIDATION', message, options);
  }
}

/** A payload exceeds the configured size limit. */
export class PayloadTooLargeError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_PAYLOAD_TOO_LARGE', message, options);
  }
}

/** A payload cannot be encoded or decoded (functions, symbols, cycles, corrupt bytes, `__proto__`). */
export class SerializationError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_SERIALIZATION', message, options);
  }
}

// ---- host and plugins -------------------------------------------------------------------------

/** A plugin manifest (object or package.json) is invalid; `details.field` names the field. */
export class InvalidManifestError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_INVALID_MANIFEST', message, options);
  }
}

/** A plugin depends on a plugin that is not installed. */
export class MissingDependencyError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_MISSING_DEPENDENCY', message, options);
  }
}

/** A dependency is installed but its version is outside the required range. */
export class DependencyVersionError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_DEPENDENCY_VERSION', message, options);
  }
}

/** The dependency graph has a cycle; `details.cycle` lists it. */
export class DependencyCycleError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_DEPENDENCY_CYCLE', message, options);
  }
}

/** Two plugins share a name. */
export class DuplicatePluginError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_DUPLICATE_PLUGIN', message, options);
  }
}

/** A plugin's `activate` threw or timed out. */
export class PluginActivationError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_PLUGIN_ACTIVATION', message, options);
  }
}

/** A plugin's `deactivate` threw or timed out. */
export class PluginDeactivationError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_PLUGIN_DEACTIVATION', message, options);
  }
}

/** The host is not in a state that allows the operation (e.g. start after stop). */
export class HostStateError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_HOST_STATE', message, options);
  }
}

/** An operation was attempted through a context whose plugin has been stopped. */
export class ContextClosedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CONTEXT_CLOSED', message, options);
  }
}

/** An object that was closed (e.g. a batch processor) was asked to take more work. */
export class ClosedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CLOSED', message, options);
  }
}

// ---- communication ----------------------------------------------------------------------------

/** An operation did not complete by its deadline. */
export class TimeoutError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_TIMEOUT', message, { retryable: true, ...options });
  }
}

/** No live provider of the service exists. */
export class ServiceUnavailableError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_SERVICE_UNAVAILABLE', message, { retryable: true, ...options });
  }
}

/** The service exists but does not have the method. */
export class MethodNotFoundError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_METHOD_NOT_FOUND', message, options);
  }
}

/** A chain handler called `next()` twice. */
export class ChainNextCalledTwiceError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CHAIN_NEXT_TWICE', message, options);
  }
}

/** A chain handler failed; `details.pluginId` names the plugin, `cause` holds its error. */
export class ChainHandlerError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CHAIN_HANDLER', message, options);
  }
}

/** Too many operations in flight; back off and retry. */
export class BackpressureError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_BACKPRESSURE', message, { retryable: true, ...options });
  }
}

/** The backend cannot be reached (or its offline buffer is full). */
export class BackendUnavailableError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_BACKEND_UNAVAILABLE', message, { retryable: true, ...options });
  }
}

/** A remote handler threw an error that is not a Plugboard error; name/message/code are kept. */
export class RemoteError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_REMOTE', message, options);
  }
}

// ---- later building blocks (on the road); declared now so codes stay stable ------------------

/** A circuit breaker is open and rejected the call at once. */
export class CircuitOpenError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CIRCUIT_OPEN', message, { retryable: true, ...options });
  }
}

/** A plugin's permissions do not allow the operation. */
export class PermissionDeniedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_PERMISSION_DENIED', message, options);
  }
}

/** `encryptionService`: no key with this id (or this version) is configured. */
export class KeyNotFoundError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_KEY_NOT_FOUND', message, options);
  }
}

/**
 * `encryptionService.encrypt`: the key version new data would use has reached its usage limit
 * (`encryption.usageLimit`, default 2^32 encryptions, the AES-GCM limit with random nonces).
 * Publish or configure a newer version of the key; data under the old one still decrypts.
 */
export class KeyExhaustedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_KEY_EXHAUSTED', message, options);
  }
}

/**
 * `encryptionService.decrypt`: the envelope does not authenticate: it was tampered with, or the
 * key, key version or associated data is not the one it was encrypted with. No plaintext is
 * returned.
 */
export class DecryptionError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_DECRYPTION_FAILED', message, options);
  }
}

/** `encryptionService`: an algorithm (or envelope format) this version does not support. */
export class UnsupportedAlgorithmError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_UNSUPPORTED_ALGORITHM', message, options);
  }
}

/**
 * `host.start()` with `strictStart: true` (CLI `--strict-start`): some plugins did not start.
 * `details.failed` and `details.skipped` name them; `details.errors` maps each failed plugin to
 * its error message. The host has been stopped again.
 */
export class PluginStartError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_PLUGIN_START', message, options);
  }
}

/** A lock was not acquired within its `waitTimeout`. */
export class LockTimeoutError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_LOCK_TIMEOUT', message, { retryable: true, ...options });
  }
}

/** `release()` or `extend()` of a lock this holder no longer holds (it expired or was taken). */
export class LockNotHeldError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_LOCK_NOT_HELD', message, options);
  }
}

/** A compare-and-set kept losing to other writers (`cache.update` ran out of attempts). */
export class CacheConflictError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CACHE_CONFLICT', message, { retryable: true, ...options });
  }
}

/** An atomic operation names keys of different Redis Cluster slots (group them with a `{tag}`). */
export class CrossSlotError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_CROSS_SLOT', message, options);
  }
}

/**
 * `transaction.commit()` did not commit: some participant refused, failed or did not answer its
 * prepare in time (or the transaction was rolled back first), so every participant was told to
 * roll back. `details.reasons` lists every reason: `{ participant, kind, message, code? }` with
 * `kind` one of `refused`, `error`, `timeout`, `rolled-back`, `recovered`.
 */
export class TransactionAbortedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_TX_ABORTED', message, options);
  }
}

/** A transaction was used in a state that does not allow it (enlist after commit, ...). */
export class TransactionStateError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_TX_STATE', message, options);
  }
}

/**
 * A saga step failed; the steps before it were compensated in reverse order. `details.step`
 * names the failed step, `details.compensated` the steps undone and `details.compensationErrors`
 * any compensation that failed too (those need a human).
 */
export class SagaFailedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_SAGA_FAILED', message, options);
  }
}

/** A bulkhead was full (all `maxConcurrent` slots busy and its queue at `maxQueue`). */
export class BulkheadRejectedError extends PlugboardError {
  constructor(message: string, options?: PlugboardErrorOptions) {
    super('PB_BULKHEAD_FULL', message, { retryable: true, ...options });
  }
}

/** Every error class by name, used to rebuild errors that crossed the wire. */
export const errorClasses = {
  PlugboardError,
  LockTimeoutError,
  LockNotHeldError,
  CacheConflictError,
  CrossSlotError,
  TransactionAbortedError,
  TransactionStateError,
  SagaFailedError,
  BulkheadRejectedError,
  ValidationError,
  PayloadTooLargeError,
  SerializationError,
  InvalidManifestError,
  MissingDependencyError,
  DependencyVersionError,
  DependencyCycleError,
  DuplicatePluginError,
  PluginActivationError,
  PluginDeactivationError,
  HostStateError,
  ContextClosedError,
  ClosedError,
  TimeoutError,
  ServiceUnavailableError,
  MethodNotFoundError,
  ChainNextCalledTwiceError,
  ChainHandlerError,
  BackpressureError,
  BackendUnavailableError,
  RemoteError,
  CircuitOpenError,
  PermissionDeniedError,
  KeyNotFoundError,
  KeyExhaustedError,
  DecryptionError,
  UnsupportedAlgorithmError,
  PluginStartError,
} as const;
