import { PayloadTooLargeError, ValidationError } from '../../errors/errors.js';
import { canonicalJson } from './canonical.js';
import type { Redactor } from './redact.js';
import type { AuditEntry, AuditEntryInput } from './types.js';

const MAX_NAME = 256;
const MAX_TARGET = 1024;
const INPUT_FIELDS = new Set(['action', 'actor', 'target', 'metadata', 'timestamp']);

/**
 * An entry ready to be chained: its canonical JSON without `seq`, split where `seq` goes (the
 * keys before it are action, actor, metadata, nodeId, plugin; after it target, timestamp), so
 * chaining it again after a conflict costs no new serialisation.
 */
export interface PreparedEntry {
  readonly before: string;
  readonly after: string;
  /** UTF-8 bytes, roughly (for the buffer's bound). */
  readonly bytes: number;
}

function field(name: string, what: string): ValidationError {
  return new ValidationError(`Audit entry field "${name}" ${what}.`, { details: { field: name } });
}

function name(value: unknown, key: string, max: number, optional: boolean): string | undefined {
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw field(key, `must be a non-empty string of at most ${max} characters`);
  return value;
}

function timestampOf(value: AuditEntryInput['timestamp']): number {
  if (value === undefined) return Date.now();
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw field('timestamp', 'must be a valid Date, epoch milliseconds or an ISO date string');
  return Math.trunc(ms);
}

/**
 * Check what a plugin logs, redact it and serialise it canonically (`plugin` and `nodeId` are
 * the host's: a caller cannot set them).
 * @throws ValidationError naming the field; PayloadTooLargeError past `maxBytes`.
 */
export function prepareEntry(
  input: AuditEntryInput,
  plugin: string,
  nodeId: string,
  redact: Redactor | undefined,
  maxBytes: number,
): PreparedEntry {
  if (typeof input !== 'object' || input === null)
    throw new ValidationError(
      'An audit entry must be an object { action, actor, target?, metadata?, timestamp? }.',
      {
        details: { field: 'entry' },
      },
    );
  for (const key of Object.keys(input)) {
    if (!INPUT_FIELDS.has(key))
      throw field(
        key,
        ['plugin', 'nodeId', 'seq', 'hash'].includes(key)
          ? 'is set by the host, never by the caller'
          : 'is not an audit entry field (use action, actor, target, metadata, timestamp)',
      );
  }
  const metadata = input.metadata;
  if (
    metadata !== undefined &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
  )
    throw field('metadata', 'must be a plain object');
  let body: Record<string, unknown> = {
    action: name(input.action, 'action', MAX_NAME, false),
    actor: name(input.actor, 'actor', MAX_NAME, false),
    target: name(input.target, 'target', MAX_TARGET, true),
    metadata,
  };
  if (redact !== undefined) body = redact(body);
  const part = (key: string, value: unknown): string =>
    value === undefined ? '' : `,${JSON.stringify(key)}:${canonicalJson(value, key)}`;
  const before = (
    part('action', body.action) +
    part('actor', body.actor) +
    part('metadata', body.metadata) +
    part('nodeId', nodeId) +
    part('plugin', plugin)
  ).slice(1);
  const after = (
    part('target', body.target) + part('timestamp', timestampOf(input.timestamp))
  ).slice(1);
  const bytes = Buffer.byteLength(before) + Buffer.byteLength(after) + 32;
  if (bytes > maxBytes)
    throw new PayloadTooLargeError(
      `Audit entry is ${bytes} bytes, over the limit of ${maxBytes} (host option "audit.maxEntryBytes"); keep large data elsewhere and log a reference to it.`,
      { details: { field: 'entry', bytes, limit: maxBytes } },
    );
  return { before, after, bytes };
}

/** The canonical bytes of `entry` at `seq`. */
export function entryBytes(entry: PreparedEntry, seq: number): Buffer {
  return Buffer.from(`{${entry.before},"seq":${seq},${entry.after}}`);
}

/** A stored record as the entry `query` returns; undefined when its bytes are not an entry. */
export function decodeEntry(bytes: Uint8Array, hash: string): AuditEntry | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (typeof parsed !== 'object' || parsed === null || !Number.isSafeInteger(parsed.seq))
      return undefined;
    return { ...(parsed as unknown as AuditEntry), hash };
  } catch {
    return undefined;
  }
}
