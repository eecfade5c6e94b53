import {
  assertDependencyRanges,
  assertKnownKeys,
  parseManifest,
  PLUGIN_SPEC_KEYS,
  pluginSpecSchema,
} from './manifest-schema.js';
import { callerFile } from '../util/stack-origin.js';
import { parseCapabilities } from '../security/capabilities/grammar.js';
import type { PluginDefinition, PluginSpec } from './types.js';

const defined = new WeakSet<object>();
/** The file that called `definePlugin` for each definition (for unhandled-rejection attribution). */
const origins = new WeakMap<PluginDefinition, string>();

/**
 * Validate a plugin and return it frozen, with defaults filled in (`dependencies: {}`,
 * `options: {}`). `permissions` stays undefined when the plugin declares no list (trusted
 * unless the host is strict); an empty list means "may use nothing".
 *
 * @throws InvalidManifestError naming the field (`details.field`) when the name is not a valid
 *   plugin name, the version is not semver, a dependency range or `plugboard` (the Plugboard
 *   versions the plugin supports, checked when a host loads it) is not a semver range, a timeout
 *   is not a positive integer, `activate` is missing, or a key is a typo of one of these
 *   (`dependecies`: the message suggests the intended key, `details.suggestion`). Other extra
 *   keys are allowed: they are the plugin object's own state.
 *
 * @example
 * ```ts
 * const auth = definePlugin({
 *   name: 'auth-plugin',
 *   version: '1.0.0',
 *   async activate(context) {
 *     context.rpcServer.register('auth', { check: (token: string) => token === 'ok' });
 *   },
 * });
 * ```
 */
export function definePlugin(spec: PluginSpec): PluginDefinition {
  if (isPluginDefinition(spec)) return spec;
  const definition = toDefinition(spec);
  const file = callerFile(definePlugin);
  if (file !== undefined) origins.set(definition, file);
  return definition;
}

/**
 * {@link definePlugin} without recording where it was called: for plain specs the host
 * validates itself (their code may live anywhere, so no file is claimed for them).
 */
export function toDefinition(spec: PluginSpec): PluginDefinition {
  if (isPluginDefinition(spec)) return spec;
  const where = typeof spec?.name === 'string' ? `plugin "${spec.name}"` : 'definePlugin()';
  assertSpecKeys(spec, where);
  parseManifest(pluginSpecSchema, spec, where);
  assertDependencyRanges(spec.name, spec.dependencies ?? {}, where);
  return freezeDefinition(spec);
}

/**
 * Refuse a key of a plugin object that is a typo of a key `definePlugin` reads
 * (`dependecies`, `optoins`): otherwise it would be dropped silently. Other keys are the
 * plugin object's own (object-style plugins keep state on `this`), so they are allowed.
 */
export function assertSpecKeys(spec: unknown, where: string): void {
  assertKnownKeys(spec, PLUGIN_SPEC_KEYS, where, {
    onlyNearMisses: true,
    functions: ['activate', 'deactivate'],
  });
}

/**
 * The file whose code called {@link definePlugin} for `definition` (plugboard's own frames
 * skipped), if it was found.
 */
export function definitionFile(definition: PluginDefinition): string | undefined {
  return origins.get(definition);
}

/** True when `value` came out of {@link definePlugin} (or a folder loader). */
export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === 'object' && value !== null && defined.has(value);
}

/**
 * Freeze an already-validated spec into a definition (shared with the folder loader).
 * @throws InvalidManifestError for a malformed capability, naming the plugin and the entry
 */
export function freezeDefinition(spec: PluginSpec): PluginDefinition {
  if (spec.permissions !== undefined) parseCapabilities(spec.name, spec.permissions);
  const activate = spec.activate.bind(spec);
  const deactivate = spec.deactivate?.bind(spec);
  const definition: PluginDefinition = {
    name: spec.name,
    version: spec.version,
    dependencies: Object.freeze({ ...spec.dependencies }),
    ...(spec.plugboard === undefined ? {} : { plugboard: spec.plugboard }),
    permissions: spec.permissions === undefined ? undefined : Object.freeze([...spec.permissions]),
    options: Object.freeze({ ...spec.options }),
    activateTimeout: spec.activateTimeout,
    deactivateTimeout: spec.deactivateTimeout,
    activate,
    ...(deactivate === undefined ? {} : { deactivate }),
  };
  Object.freeze(definition);
  defined.add(definition);
  return definition;
}
