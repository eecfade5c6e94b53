import { ValidationError } from '../errors/errors.js';
import type { ChangeInput, ChangeType, SyncRange, TimeInput, WatchOptions } from './types.js';

/** Longest collection or watcher name, bytes (a Redis key carries it). */
export const MAX_NAME_BYTES = 256;
/** Longest string record id, bytes. */
export const MAX_ID_BYTES = 1024;

const CHANGE_TYPES: ReadonlySet<string> = new Set<ChangeType>(['create', 'update', 'delete']);
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/** @throws ValidationError unless `value` is 1..256 bytes without control characters. */
export function assertName(value: unknown, field: 'collection' | 'name'): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value) > MAX_NAME_BYTES ||
    CONTROL.test(value)
  ) {
    throw new ValidationError(
      `Data sync ${field} must be a string of 1 to ${MAX_NAME_BYTES} bytes without control characters, got ${describe(value)}.`,
      { details: { field } },
    );
  }
}

/** The change to record, checked: `{ type, id, data }` (data is the codec's to check). */
export function checkChange(change: unknown): ChangeInput {
  if (typeof change !== 'object' || change === null || Array.isArray(change)) {
    throw new ValidationError('A change must be an object { type, id, data }.', {
      details: { field: 'change' },
    });
  }
  const { type, id, data } = change as Record<string, unknown>;
  if (typeof type !== 'string' || !CHANGE_TYPES.has(type)) {
    throw new ValidationError(
      `Change type must be 'create', 'update' or 'delete', got ${describe(type)}.`,
      { details: { field: 'type' } },
    );
  }
  assertId(id);
  return { type: type as ChangeType, id, data };
}

function assertId(id: unknown): asserts id is string | number {
  const ok =
    (typeof id === 'string' && id.length > 0 && Buffer.byteLength(id) <= MAX_ID_BYTES) ||
    (typeof id === 'number' && Number.isFinite(id));
  if (!ok) {
    throw new ValidationError(
      `Change id must be a non-empty string (at most ${MAX_ID_BYTES} bytes) or a finite number, got ${describe(id)}.`,
      { details: { field: 'id' } },
    );
  }
}

/** Checked watch options. */
export function checkWatchOptions(options: WatchOptions | undefined): {
  from: number | 'now' | 'start';
  name: string | undefined;
} {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new ValidationError(`Watch options must be an object, got ${describe(options)}.`, {
      details: { field: 'options' },
    });
  }
  const from = options?.from ?? 'now';
  if (from !== 'now' && from !== 'start' && !(Number.isSafeInteger(from) && from >= 0)) {
    throw new ValidationError(
      `Watch option "from" must be 'now', 'start' or a seq (a non-negative integer), got ${describe(from)}.`,
      { details: { field: 'from' } },
    );
  }
  const name = options?.name;
  if (name !== undefined) assertName(name, 'name');
  return { from, name };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** `{ from, to }` as epoch ms, `to` inclusive (a date-only `to` is the end of that day, UTC). */
export function toTimeRange(range: SyncRange | undefined): { fromMs: number; toMs: number } {
  if (typeof range !== 'object' || range === null) {
    throw new ValidationError('sync() takes a range { from, to }.', {
      details: { field: 'range' },
    });
  }
  const fromMs = toMs(range.from, 'from', false);
  const toMsValue = toMs(range.to, 'to', true);
  if (fromMs > toMsValue) {
    throw new ValidationError(
      `sync() range is empty: "from" (${new Date(fromMs).toISOString()}) is after "to" (${new Date(toMsValue).toISOString()}).`,
      { details: { field: 'range' } },
    );
  }
  return { fromMs, toMs: toMsValue };
}

function toMs(value: TimeInput, field: 'from' | 'to', endOfDay: boolean): number {
  let ms = NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    ms = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
    if (endOfDay && DATE_ONLY.test(value) && Number.isFinite(ms)) ms += DAY_MS - 1;
  }
  if (!Number.isFinite(ms)) {
    throw new ValidationError(
      `sync() "${field}" must be a Date, an ISO 8601 string or epoch ms, got ${describe(value)}.`,
      { details: { field } },
    );
  }
  return ms;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}
