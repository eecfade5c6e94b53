import semver from 'semver';
import { z } from 'zod';
import { InvalidManifestError } from '../errors/errors.js';
import { assertName } from '../util/names.js';

/** Plugin names follow the dotted-name rules (they appear in events and log lines). */
function isPluginName(value: string): boolean {
  try {
    assertName(value, 'Plugin name');
    return true;
  } catch {
    return false;
  }
}

/**
 * The name the host acts under (`meta.source` of its events, `plugin` of its audit entries): a
 * plugin of that name would pass for the host.
 */
export const HOST_SOURCE = 'host';

const pluginName = z
  .string()
  .refine(isPluginName, {
    message:
      'must be a plugin name: letters, digits and "_-:/@$", dot-separated (e.g. "auth-plugin")',
  })
  .refine((value) => value !== HOST_SOURCE, {
    message: `must not be "${HOST_SOURCE}": the host publishes and audits under that name; choose another`,
  });
const version = z.string().refine((v) => semver.valid(v) !== null, {
  message: 'must be a valid semver version (e.g. "1.0.0")',
});
const timeout = z.number().int().positive().max(2_147_483_647);
const permissions = z.array(z.string().min(1));
const options = z.record(z.string(), z.unknown());
const dependencies = z.record(z.string(), z.string());
const engineRange = z.string().refine((v) => semver.validRange(v) !== null, {
  message: 'must be a semver range of Plugboard versions (e.g. "^0.1.0")',
});

/** The `plugboard` field of a folder plugin's package.json. */
export const plugboardFieldSchema = z.object({
  permissions: permissions.optional(),
  options: options.optional(),
  activateTimeout: timeout.optional(),
  deactivateTimeout: timeout.optional(),
  /** Entries of `dependencies` that are npm packages, never plugins. */
  npmDependencies: z.array(z.string().min(1)).optional(),
});

/** The parts of a folder plugin's package.json that Plugboard reads. */
export const packageJsonSchema = z.object({
  name: pluginName,
  version,
  main: z.string().min(1).optional(),
  dependencies: dependencies.optional(),
  /** Only `peerDependencies.plugboard` is read: the Plugboard versions the plugin supports. */
  peerDependencies: z.object({ plugboard: engineRange.optional() }).optional(),
  plugboard: plugboardFieldSchema.optional(),
});

export type PackageJsonManifest = z.infer<typeof packageJsonSchema>;

type LifecycleFn = (...args: never[]) => unknown;
const lifecycleFn = z.custom<LifecycleFn>((v) => typeof v === 'function', {
  message: 'must be a function',
});

/** What `definePlugin` accepts (functions checked for presence and type only). */
export const pluginSpecSchema = z.object({
  name: pluginName,
  version,
  dependencies: dependencies.optional(),
  permissions: permissions.optional(),
  options: options.optional(),
  activateTimeout: timeout.optional(),
  deactivateTimeout: timeout.optional(),
  plugboard: engineRange.optional(),
  activate: lifecycleFn,
  deactivate: lifecycleFn.optional(),
});

/**
 * Parse `value` with `schema`, turning the first problem into an {@link InvalidManifestError}
 * whose message and `details.field` name the offending field.
 */
export function parseManifest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field =
    issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
  const missing = issue?.code === 'invalid_type' && /received undefined$/.test(issue.message);
  const problem = missing
    ? `is required (expected ${issue.expected})`
    : lowerFirst(issue?.message ?? 'is invalid');
  throw new InvalidManifestError(
    `Invalid plugin manifest (${where}): field "${field}": ${problem}.`,
    {
      details: {
        field,
        where,
        issues: result.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
      },
    },
  );
}

/** Check every dependency range of a plugin, naming the field of the first invalid one. */
export function assertDependencyRanges(
  pluginName: string,
  deps: Readonly<Record<string, string>>,
  where: string,
): void {
  for (const [name, range] of Object.entries(deps)) {
    if (semver.validRange(range) === null) {
      const field = `dependencies.${name}`;
      throw new InvalidManifestError(
        `Invalid plugin manifest (${where}): field "${field}" must be a semver range (e.g. "^1.0.0"), got ${JSON.stringify(range)}.`,
        { details: { field, where, plugin: pluginName, range } },
      );
    }
  }
}

/** Keys `definePlugin` (and the object a folder plugin's `main` exports) reads. */
export const PLUGIN_SPEC_KEYS: readonly string[] = Object.keys(pluginSpecSchema.shape);
/** Keys of the `plugboard` field of a package.json. */
export const PLUGBOARD_FIELD_KEYS: readonly string[] = Object.keys(plugboardFieldSchema.shape);
/** Top-level package.json fields Plugboard reads. */
const PACKAGE_JSON_READ = [
  'name',
  'version',
  'main',
  'dependencies',
  'peerDependencies',
  'plugboard',
];
/**
 * Top-level fields npm and common tools define: never taken for a typo, however close they are
 * to a field Plugboard reads (`man` is one letter from `main`, `devDependencies` three from
 * `dependencies`).
 */
const KNOWN_PACKAGE_FIELDS = new Set([
  ...PACKAGE_JSON_READ,
  ...['description', 'keywords', 'homepage', 'bugs', 'license', 'licenses', 'author'],
  ...['contributors', 'maintainers', 'funding', 'files', 'browser', 'bin', 'man', 'directories'],
  ...['repository', 'scripts', 'config', 'devDependencies', 'peerDependenciesMeta'],
  ...['bundleDependencies', 'bundledDependencies', 'optionalDependencies', 'overrides'],
  ...['engines', 'engineStrict', 'os', 'cpu', 'libc', 'private', 'publishConfig', 'workspaces'],
  ...['type', 'exports', 'imports', 'types', 'typings', 'typesVersions', 'module', 'sideEffects'],
  ...['packageManager', 'devEngines', 'gypfile', 'resolutions', 'style', 'unpkg', 'jsdelivr'],
]);

/**
 * Refuse the keys of `value` that `known` does not list, naming the key and the closest known
 * one. `onlyNearMisses`: refuse only keys within typo distance of a known key (for objects that
 * may legitimately hold other keys, like an object-style plugin's own state); `functions`: known
 * keys whose near-misses count only when their value is a function.
 *
 * @throws InvalidManifestError with `details.field` the key and `details.suggestion`.
 */
export function assertKnownKeys(
  value: unknown,
  known: readonly string[],
  where: string,
  options: { prefix?: string; onlyNearMisses?: boolean; functions?: readonly string[] } = {},
): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [key, entry] of Object.entries(value)) {
    if (known.includes(key)) continue;
    const suggestion = closest(key, known);
    let near = suggestion !== undefined && isNearMiss(key, suggestion);
    // `activated: false` is state, not a misspelt `activate`; `activte() {}` is a typo.
    if (near && options.functions?.includes(suggestion!) === true && typeof entry !== 'function')
      near = false;
    if (options.onlyNearMisses === true && !near) continue;
    const field = `${options.prefix ?? ''}${key}`;
    const hint = near
      ? `did you mean "${options.prefix ?? ''}${suggestion}"?`
      : `known keys: ${known.map((k) => `"${k}"`).join(', ')}.`;
    throw new InvalidManifestError(
      `Invalid plugin manifest (${where}): unknown key "${field}"; ${hint}`,
      {
        details: {
          field,
          where,
          ...(near ? { suggestion: `${options.prefix ?? ''}${suggestion}` } : {}),
        },
      },
    );
  }
}

/**
 * Refuse top-level package.json keys that are a near-miss of a field Plugboard reads and not a
 * field npm defines (`dependancies`, `mian`); every other key is npm's business.
 */
export function assertPackageJsonKeys(value: unknown, where: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (KNOWN_PACKAGE_FIELDS.has(key)) continue;
    const suggestion = closest(key, PACKAGE_JSON_READ);
    if (suggestion === undefined || !isNearMiss(key, suggestion)) continue;
    throw new InvalidManifestError(
      `Invalid plugin manifest (${where}): unknown key "${key}"; did you mean "${suggestion}"? ` +
        `Plugboard reads "${suggestion}" and "${key}" is not a known npm field, so it would be ignored.`,
      { details: { field: key, where, suggestion } },
    );
  }
}

/** The known key at the smallest edit distance from `key` (ties: the first listed). */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** A typo: about one edit per five letters of the intended key (at least one). */
function isNearMiss(key: string, intended: string): boolean {
  const d = editDistance(key.toLowerCase(), intended.toLowerCase());
  return d <= Math.max(1, Math.floor(intended.length / 5));
}

/**
 * Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbouring letters each cost 1 (`optoins` is one edit from `options`).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) rows[i]![j] = j;
      else {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
          d = Math.min(d, rows[i - 2]![j - 2]! + 1);
        rows[i]![j] = d;
      }
    }
  }
  return rows[a.length]![b.length]!;
}

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1);
}
