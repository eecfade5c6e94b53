import { ValidationError } from '../../errors/errors.js';
import { compileRedaction, type Redactor } from './redact.js';
import type { AuditOptions } from './types.js';

/** Shortest checkpoint key, bytes (HMAC-SHA256's own block of security). */
export const MIN_CHECKPOINT_KEY_BYTES = 32;

export const DEFAULT_MAX_ENTRY_BYTES = 65_536;
export const DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024;

/** `audit` host options, checked and with their defaults. */
export interface ResolvedAudit {
  readonly key: Buffer | undefined;
  readonly redact: Redactor | undefined;
  readonly maxEntries: number | undefined;
  readonly maxEntryBytes: number;
  readonly maxBufferBytes: number;
}

const KNOWN = new Set([
  'checkpointKey',
  'file',
  'redact',
  'maxEntries',
  'maxEntryBytes',
  'maxBufferBytes',
]);

function bad(field: string, message: string): ValidationError {
  return new ValidationError(`Host option "audit.${field}" ${message}`, {
    details: { field: `audit.${field}` },
  });
}

function positiveInt(options: AuditOptions, field: keyof AuditOptions): number | undefined {
  const value = options[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw bad(field, `must be a positive integer, got ${JSON.stringify(value)}.`);
  return value;
}

/**
 * Check the `audit` host option (never echoing the key) and fill in the defaults.
 * @throws ValidationError naming the field.
 */
export function resolveAuditOptions(options: AuditOptions | undefined): ResolvedAudit {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new ValidationError(
      'Host option "audit" must be an object such as { checkpointKey, file, redact, maxEntries }.',
      { details: { field: 'audit' } },
    );
  }
  for (const field of Object.keys(o)) {
    if (!KNOWN.has(field))
      throw bad(field, `is not an audit option; use one of ${[...KNOWN].join(', ')}.`);
  }
  let key: Buffer | undefined;
  const raw = o.checkpointKey;
  if (raw !== undefined) {
    if (typeof raw !== 'string' && !(raw instanceof Uint8Array))
      throw bad('checkpointKey', 'must be a string or bytes (e.g. `openssl rand -base64 32`).');
    key = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw);
    if (key.length < MIN_CHECKPOINT_KEY_BYTES)
      throw bad(
        'checkpointKey',
        `must be at least ${MIN_CHECKPOINT_KEY_BYTES} bytes (got ${key.length}); generate one with \`openssl rand -base64 32\`.`,
      );
  }
  if (o.file !== undefined && o.file !== false && (typeof o.file !== 'string' || o.file === ''))
    throw bad('file', `must be a file path or false, got ${JSON.stringify(o.file)}.`);
  if (o.redact !== undefined && !Array.isArray(o.redact))
    throw bad('redact', 'must be an array of paths such as ["metadata.password"].');
  return {
    key,
    redact: compileRedaction(o.redact),
    maxEntries: positiveInt(o, 'maxEntries'),
    maxEntryBytes: positiveInt(o, 'maxEntryBytes') ?? DEFAULT_MAX_ENTRY_BYTES,
    maxBufferBytes: positiveInt(o, 'maxBufferBytes') ?? DEFAULT_MAX_BUFFER_BYTES,
  };
}
