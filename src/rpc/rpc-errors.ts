import {
  BackpressureError,
  MethodNotFoundError,
  ServiceUnavailableError,
  TimeoutError,
} from '../errors/errors.js';

// The errors RPC reports, worded once so caller, responder and runner say the same thing.

export function unavailable(service: string): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `No provider of "${service}" is available; register it with rpcServer.register('${service}', ...) or wait for subscribeService to report it.`,
    { details: { service } },
  );
}

/** A non-idempotent call whose provider's node left mid-call: the outcome is unknown. */
export function providerLost(
  service: string,
  method: string,
  nodeId: string,
): ServiceUnavailableError {
  return new ServiceUnavailableError(
    `Call ${service}.${method} failed: its provider on node "${nodeId}" left the cluster during the call; it may or may not have run (mark the method idempotent to let such calls move on to another provider).`,
    { details: { service, method, nodeId, mayHaveRun: true } },
  );
}

export function methodNotFound(service: string, method: string): MethodNotFoundError {
  return new MethodNotFoundError(`Service "${service}" has no method "${method}".`, {
    details: { service, method },
  });
}

export function callTimeout(
  service: string,
  method: string,
  ms: number,
  cause?: unknown,
): TimeoutError {
  return new TimeoutError(`Call ${service}.${method} failed: no answer within ${ms} ms.`, {
    details: { service, method, timeout: ms },
    cause,
  });
}

export function backpressure(limit: number): BackpressureError {
  return new BackpressureError(
    `More than ${limit} RPC calls are in flight on this host; retry later or raise limits.maxInFlightCalls.`,
    { details: { limit } },
  );
}
