import { Packr } from 'msgpackr';
import { PayloadTooLargeError, SerializationError, ValidationError } from '../errors/errors.js';

/**
 * The one serializer for everything that crosses a process boundary. MessagePack (msgpackr,
 * the codec BullMQ uses) with structured-clone extensions keeps Date, Buffer/Uint8Array, Map,
 * Set, BigInt and undefined intact. Decoding never assigns through `__proto__`, so payloads
 * cannot pollute prototypes; values that cannot be represented (functions, symbols, cycles, an
 * own `__proto__` key, which a decoder cannot give back as data) are refused with a
 * {@link SerializationError}, a payload nested deeper than {@link MAX_DEPTH} with a
 * `ValidationError`.
 */
export interface Codec {
  /**
   * @param field what the value is to the caller (`data`, `params`, `value`...): a refusal names
   *   it (`details.field`, the message, the path of a refused key).
   * @param key when `value` is a frame wrapping that argument, the frame's key holding it (the
   *   path then starts at the argument, not at the frame).
   */
  encode(value: unknown, field?: string, key?: string): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export interface CodecOptions {
  /** Largest encoded payload accepted, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

export function createCodec(options: CodecOptions = {}): Codec {
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // One instance per direction: records are defined inline in every message, so any
  // decoder can read any encoder's output (no shared structure state between processes).
  const packer = new Packr({ structuredClone: true, useRecords: true });
  const unpacker = new Packr({ structuredClone: true, useRecords: true });
  return {
    encode(value, field, key) {
      try {
        assertEncodable(value, 0);
      } catch (error) {
        throw named(error, field, key);
      } finally {
        // Hold no payload after the check (the arrays keep their size: no reallocation).
        if (path.length > 0) path.fill(undefined);
      }
      let bytes: Uint8Array;
      try {
        bytes = packer.pack(value);
      } catch (cause) {
        throw new SerializationError(`Payload cannot be encoded: ${(cause as Error).message}`, {
          cause,
        });
      }
      if (bytes.byteLength > maxBytes) {
        throw new PayloadTooLargeError(
          `${subject(field)} is ${bytes.byteLength} bytes encoded, over the limit of ${maxBytes}; send a reference instead or raise maxPayloadBytes.`,
          {
            details: {
              ...(field === undefined ? {} : { field }),
              size: bytes.byteLength,
              limit: maxBytes,
            },
          },
        );
      }
      return bytes;
    },
    decode(bytes) {
      if (bytes.byteLength > maxBytes) {
        throw new PayloadTooLargeError(
          `Received payload of ${bytes.byteLength} bytes exceeds ${maxBytes}.`,
          {
            details: { size: bytes.byteLength, limit: maxBytes },
          },
        );
      }
      try {
        // msgpackr returns Buffers for binary fields only when its input is a Buffer; a view
        // over the same memory keeps Buffers intact whatever bytes a backend hands us.
        const input = Buffer.isBuffer(bytes)
          ? bytes
          : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        return unpacker.unpack(input) as unknown;
      } catch (cause) {
        throw new SerializationError(`Payload cannot be decoded: ${(cause as Error).message}`, {
          cause,
        });
      }
    },
  };
}

/** Deepest nesting of objects, arrays, Maps and Sets a payload may have. */
export const MAX_DEPTH = 64;

/**
 * The objects on the path being checked, by depth: tells a cycle from a deep payload, and where a
 * refused key is (the steps between them are only worked out then).
 */
const path: unknown[] = [];

// msgpackr silently turns functions and symbols into null/{}; refuse them so data is never
// changed in transit without the sender knowing.
function assertEncodable(value: unknown, depth: number): void {
  const kind = typeof value;
  if (kind === 'function' || kind === 'symbol') {
    throw new SerializationError(
      `Payload contains a ${kind}, which cannot cross a process boundary.`,
    );
  }
  if (kind !== 'object' || value === null) return;
  if (depth > MAX_DEPTH) {
    if (path.slice(0, depth).includes(value))
      throw new SerializationError('Payload is cyclic: an object contains itself.');
    throw new ValidationError(
      `Payload is nested deeper than ${MAX_DEPTH} levels; flatten it or send a reference.`,
      { details: { limit: MAX_DEPTH } },
    );
  }
  if (ArrayBuffer.isView(value) || value instanceof Date) return;
  path[depth] = value;
  if (Array.isArray(value)) {
    for (const item of value) assertEncodable(item, depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      assertEncodable(k, depth + 1);
      assertEncodable(v, depth + 1);
    }
  } else if (value instanceof Set) {
    for (const item of value) assertEncodable(item, depth + 1);
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      // What JSON.parse makes of a polluting document: MessagePack decoders drop or rename the
      // key (assigning it would set a prototype), so it cannot arrive as sent.
      if (key === '__proto__') {
        const at = where(depth + 1, key);
        throw new SerializationError(
          `Payload has an own "__proto__" key at ${at} (prototype pollution); rename the field.`,
          { details: { key, path: at } },
        );
      }
      assertEncodable(record[key], depth + 1);
    }
  }
}

/** The path to a key of the object at `depth`, e.g. `<payload>.list[1][0].__proto__`. */
function where(depth: number, key: string): string {
  let at = ROOT;
  for (let i = 1; i < depth; i++) at += step(path[i - 1], path[i]);
  return `${at}.${key}`;
}

/** How `child` is reached from `parent`: `[3]`, `.name`, `<map "k">`, `<set item>`... */
function step(parent: unknown, child: unknown): string {
  if (Array.isArray(parent)) return `[${parent.indexOf(child)}]`;
  if (parent instanceof Map) {
    for (const [k, v] of parent) {
      if (v === child) return typeof k === 'string' ? `<map ${JSON.stringify(k)}>` : '<map value>';
      if (k === child) return '<map key>';
    }
  }
  if (parent instanceof Set) return '<set item>';
  const record = parent as Record<string, unknown>;
  return `.${Object.keys(record).find((k) => record[k] === child) ?? '?'}`;
}

/** Stands for the encoded value in a path until {@link named} knows what it is. */
const ROOT = '<payload>';

/** "Payload" or `Payload "data"`. */
function subject(field: string | undefined): string {
  return field === undefined ? 'Payload' : `Payload "${field}"`;
}

/** A refusal of the checks, told what the value is: `details.field`, and paths starting there. */
function named(error: unknown, field: string | undefined, key: string | undefined): unknown {
  if (!(error instanceof SerializationError || error instanceof ValidationError)) return error;
  const path = error.details['path'];
  let at: string | undefined;
  if (typeof path === 'string') {
    const inFrame =
      key !== undefined && path.startsWith(`${ROOT}.${key}`) ? `${ROOT}.${key}` : ROOT;
    at = `${field ?? 'payload'}${path.slice(inFrame.length)}`;
  }
  const message = error.message
    .replace(/^Payload/, subject(field))
    .replace(typeof path === 'string' ? path : ROOT, at ?? ROOT);
  const details = {
    ...error.details,
    ...(field === undefined ? {} : { field }),
    ...(at === undefined ? {} : { path: at }),
  };
  return error instanceof ValidationError
    ? new ValidationError(message, { details })
    : new SerializationError(message, { details });
}
