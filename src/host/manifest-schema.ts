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

const pluginName = z.string().refine(isPluginName, {
  message:
    'must be a plugin name: letters, digits and "_-:/@$", dot-separated (e.g. "auth-plugin")',
});
const version = z.string().refine((v) => semver.valid(v) !== null, {
  message: 'must be a valid semver version (e.g. "1.0.0")',
});
const timeout = z.number().int().positive().max(2_147_483_647);
const permissions = z.array(z.string().min(1));
const options = z.record(z.string(), z.unknown());
const dependencies = z.record(z.string(), z.string());

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

function lowerFirst(text: string): string {
  return text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1);
}
