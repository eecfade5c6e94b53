import { errorClasses, isPlugboardError, PlugboardError, RemoteError } from './errors.js';

/** The form an error takes on the wire. */
export interface WireError {
  name: string;
  code?: string;
  message: string;
  details?: Record<string, unknown>;
  stack?: string;
}

/** Reduce any thrown value to a {@link WireError}, keeping name, message and code. */
export function errorToWire(error: unknown): WireError {
  if (isPlugboardError(error)) {
    return {
      name: error.name,
      code: error.code,
      message: error.message,
      details: error.details,
      stack: error.stack,
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
      stack: error.stack,
    };
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

type Ctor = new (
  message: string,
  options?: { details?: Record<string, unknown> },
) => PlugboardError;

/** The code each Plugboard error class carries, so only a genuine one is rebuilt as its class. */
const codeOfClass = new Map<string, string>(
  Object.entries(errorClasses)
    .filter(([name]) => name !== PlugboardError.name && name !== RemoteError.name)
    .map(([name, C]) => [name, new (C as unknown as Ctor)('').code]),
);

/**
 * Rebuild an error from the wire. Plugboard errors come back as their own class; any other
 * error comes back as a plain `Error` whose `name`, `message` and `code` are the original's,
 * so callers can branch on them exactly as if the method had run in their own process.
 *
 * Both stacks are kept: `stack` is the local one (where the error was rebuilt, with the async
 * frames that awaited it) followed by a `Caused on node <origin>:` section holding the remote
 * stack, which is also on the non-enumerable `remoteStack` property.
 * @param origin the node the error came from, when known
 */
export function wireToError(wire: WireError, origin?: string): Error {
  // A user error that happens to be named `ValidationError` (or a DOM `TimeoutError`) keeps its
  // own code: the class is rebuilt only when name and code both match.
  const classCode = typeof wire.name === 'string' ? codeOfClass.get(wire.name) : undefined;
  if (classCode !== undefined && classCode === wire.code) {
    const known = errorClasses[wire.name as keyof typeof errorClasses] as unknown as Ctor;
    const error = new known(String(wire.message), { details: wire.details ?? {} });
    return withRemoteStack(error, wire, origin);
  }
  const error = new Error(wire.message) as Error & {
    code?: string;
    details?: Record<string, unknown>;
  };
  error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  if (wire.details !== undefined) error.details = wire.details;
  return withRemoteStack(error, wire, origin);
}

/** Append the remote stack to the local one (see {@link wireToError}). */
function withRemoteStack<E extends Error>(
  error: E,
  wire: WireError,
  origin: string | undefined,
): E {
  if (typeof wire.stack !== 'string') return error;
  Error.captureStackTrace(error, wireToError);
  const where = origin === undefined ? 'another node' : `node ${origin}`;
  error.stack = `${error.stack ?? String(error)}\nCaused on ${where}:\n${wire.stack}`;
  Object.defineProperty(error, 'remoteStack', {
    value: wire.stack,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return error;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
