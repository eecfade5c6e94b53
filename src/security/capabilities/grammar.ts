import { InvalidManifestError } from '../../errors/errors.js';
import type { CapabilityArea } from './guard.js';

/**
 * The capability grammar: `area:action:pattern`, split on the first two colons (the pattern may
 * hold `:` itself, as in `cache:write:user:*`). A pattern's segments are separated by `.` or `:`;
 * `*` matches exactly one segment and `**` zero or more, as in event subscriptions. `area` and
 * `action` may be `*`.
 */

/** Every area and its actions; an alias maps to the action it stands for. */
export const CAPABILITY_ACTIONS: Readonly<Record<CapabilityArea, readonly string[]>> = {
  events: ['publish', 'subscribe'],
  rpc: ['call', 'register'],
  registry: ['register', 'discover'],
  queue: ['send', 'receive', 'manage'],
  cache: ['read', 'write'],
  lock: ['acquire'],
  sync: ['write', 'read'],
  tx: ['register', 'enlist'],
  breaker: ['use'],
  crypto: ['use', 'rotate'],
  permissions: ['check', 'manage'],
  audit: ['write', 'read'],
};

/** Other spellings of an action: `lock:resource:<p>` is `lock:acquire:<p>`. */
const ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  lock: { resource: 'acquire' },
};

/** A parsed capability: the area and action (`*` for any) and the pattern's segments. */
export interface Capability {
  readonly area: CapabilityArea | '*';
  readonly action: string;
  readonly segments: readonly string[];
  /** The capability as declared. */
  readonly source: string;
}

/** Segments of a pattern or target (separated by `.` or `:`). */
export function segmentsOf(text: string): string[] {
  return text.split(SEPARATOR);
}
const SEPARATOR = /[.:]/;

const SEGMENT = /^(\*\*?|[^*\s]+)$/;
const MAX_LENGTH = 512;

/**
 * Parse one capability, or say what is wrong with it (a sentence naming the part).
 */
export function parseCapability(text: unknown): Capability | string {
  if (typeof text !== 'string') return `must be a string, got ${typeof text}`;
  if (text.length > MAX_LENGTH) return `is longer than ${MAX_LENGTH} characters`;
  const first = text.indexOf(':');
  const second = first < 0 ? -1 : text.indexOf(':', first + 1);
  if (second < 0) return 'must have the form area:action:pattern (e.g. events:publish:user.*)';
  const area = text.slice(0, first);
  const action = text.slice(first + 1, second);
  const pattern = text.slice(second + 1);
  if (area !== '*' && !Object.hasOwn(CAPABILITY_ACTIONS, area))
    return `has an unknown area "${area}" (known: ${Object.keys(CAPABILITY_ACTIONS).join(', ')}, or *)`;
  const known =
    area === '*'
      ? [...new Set(Object.values(CAPABILITY_ACTIONS).flat())]
      : CAPABILITY_ACTIONS[area as CapabilityArea];
  const resolved = area === '*' ? action : (ALIASES[area]?.[action] ?? action);
  if (resolved !== '*' && !known.includes(resolved))
    return `has an unknown action "${action}" for area "${area}" (known: ${known.join(', ')}, or *)`;
  if (pattern === '') return 'has an empty pattern (use ** for every target)';
  const segments = segmentsOf(pattern);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '') return `has an empty segment in its pattern "${pattern}"`;
    if (!SEGMENT.test(segment))
      return `has "${segment}" in its pattern: * and ** must be whole segments, with no spaces`;
    if (segment === '**' && segments[i - 1] === '**')
      return `repeats "**" in its pattern "${pattern}"`;
  }
  return { area: area as CapabilityArea | '*', action: resolved, segments, source: text };
}

/**
 * Parse a plugin's declared list.
 * @throws InvalidManifestError naming the plugin and the entry (`details.entry`, `details.index`)
 */
export function parseCapabilities(plugin: string, list: readonly unknown[]): Capability[] {
  return list.map((entry, index) => {
    const parsed = parseCapability(entry);
    if (typeof parsed === 'string') {
      throw new InvalidManifestError(
        `Plugin "${plugin}": permission ${JSON.stringify(entry)} ${parsed}.`,
        { details: { plugin, field: `permissions.${index}`, index, entry } },
      );
    }
    return parsed;
  });
}
