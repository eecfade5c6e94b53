import { readFileSync } from 'node:fs';
import semver from 'semver';
import { DependencyVersionError } from '../errors/errors.js';
import type { PluginDefinition } from './types.js';

let running: string | undefined;

/**
 * The running Plugboard version, read once from the package's own package.json (two folders up
 * from this file, in `src/host` and in `dist/host` alike).
 */
export function plugboardVersion(): string {
  if (running === undefined) {
    const url = new URL('../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    running = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  }
  return running;
}

/**
 * Check the Plugboard versions a plugin supports (`definePlugin({ plugboard })`, or
 * `peerDependencies.plugboard` of a folder plugin) against the running version.
 *
 * @throws DependencyVersionError naming the plugin, its range and the running version
 *   (`details.plugin`, `details.dependency: 'plugboard'`, `details.range`, `details.version`).
 */
export function assertEngineRange(
  definition: PluginDefinition,
  version = plugboardVersion(),
): void {
  const range = definition.plugboard;
  if (range === undefined) return;
  if (semver.satisfies(version, range, { includePrerelease: true })) return;
  throw new DependencyVersionError(
    `Plugin "${definition.name}" supports Plugboard ${range}, but Plugboard ${version} is running. ` +
      `Use a version of "${definition.name}" made for Plugboard ${version}, or a Plugboard version in ${range}.`,
    { details: { plugin: definition.name, dependency: 'plugboard', range, version } },
  );
}
