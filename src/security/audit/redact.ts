import { ValidationError } from '../../errors/errors.js';

/** What a redacted value becomes (before the entry is hashed and stored). */
export const REDACTED = '[REDACTED]';

/** The fields of an entry a path may start with (the rest say who did what: never hidden). */
const REDACTABLE_ROOTS = new Set(['target', 'metadata']);

/** A compiled `audit.redact` list: replaces the values at its paths in a copy of an entry. */
export type Redactor = (entry: Record<string, unknown>) => Record<string, unknown>;

/**
 * Compile `paths` (`metadata.password`, `metadata.*.token`, `target`).
 * @throws ValidationError naming the bad path.
 */
export function compileRedaction(paths: readonly string[] | undefined): Redactor | undefined {
  if (paths === undefined || paths.length === 0) return undefined;
  const compiled = paths.map((path, i) => {
    const segments = typeof path === 'string' ? path.split('.') : [];
    if (segments.length === 0 || segments.some((s) => s.length === 0)) {
      throw new ValidationError(
        `Host option "audit.redact[${i}]" must be a dot-separated path such as "metadata.password", got ${JSON.stringify(path)}.`,
        { details: { field: `audit.redact[${i}]` } },
      );
    }
    if (!REDACTABLE_ROOTS.has(segments[0]!)) {
      throw new ValidationError(
        `Host option "audit.redact[${i}]" ("${path}") must start with "metadata" or "target": ` +
          'action, actor, timestamp, plugin and nodeId say who did what and are never redacted.',
        { details: { field: `audit.redact[${i}]` } },
      );
    }
    return segments;
  });
  return (entry) => {
    const copy = { ...entry };
    for (const segments of compiled) redactAt(copy, segments, 0);
    return copy;
  };
}

/** Replace what `segments` (from `index`) name under `node`, copying each object it changes. */
function redactAt(node: Record<string, unknown>, segments: readonly string[], index: number): void {
  const segment = segments[index]!;
  const keys = segment === '*' ? Object.keys(node) : Object.hasOwn(node, segment) ? [segment] : [];
  for (const key of keys) {
    const value = node[key];
    if (value === undefined) continue;
    if (index === segments.length - 1) {
      node[key] = REDACTED;
    } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      const child = { ...(value as Record<string, unknown>) };
      redactAt(child, segments, index + 1);
      node[key] = Array.isArray(value) ? Object.assign([], child) : child;
    }
  }
}
