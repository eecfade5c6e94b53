import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPlugboardError } from '../errors/errors.js';
import { listPluginFolders } from '../host/manifest.js';

/**
 * `<folder>` resolved, and its folder of plugin folders: `<folder>/plugins` when it exists, else
 * `<folder>` itself. `undefined` when `<folder>` is not a folder (said on `err`).
 */
export function locatePlugins(
  folder: string,
  err: (line: string) => void,
): { root: string; pluginDirectory: string } | undefined {
  const root = resolve(folder);
  if (!isDirectory(root)) {
    err(`plugboard: ${root} is not a folder.`);
    return undefined;
  }
  const plugins = join(root, 'plugins');
  return { root, pluginDirectory: isDirectory(plugins) ? plugins : root };
}

/**
 * Why `plugboard <command> <folder>` would find no plugin, or `undefined` when it finds some.
 * The usual mistake, pointing at a plugin folder instead of the folder holding it, is named.
 */
export async function describeNoPlugins(
  folder: string,
  root: string,
  pluginDirectory: string,
  command: string,
): Promise<string | undefined> {
  let found: string[];
  try {
    found = await listPluginFolders(pluginDirectory);
  } catch (error) {
    return describeError(error);
  }
  if (found.length > 0) return undefined;
  const shown = pluginDirectory === root ? folder : join(folder, 'plugins');
  const manifest = readPackageJson(join(pluginDirectory, 'package.json'));
  if (manifest !== undefined) {
    const why =
      typeof manifest['main'] === 'string' ? 'a package.json with main' : 'a package.json';
    return (
      `No plugins found in ${shown}: it is itself a plugin (it has ${why}); ` +
      `run \`plugboard ${command}\` on its parent folder, which holds plugin folders.`
    );
  }
  return (
    `No plugins found in ${shown}: a plugin is a subfolder with a package.json ` +
    `(in ${join(folder, 'plugins')} or, without that folder, in ${folder} itself).`
  );
}

/** The object in a package.json, or `undefined` when there is none or it is not JSON. */
function readPackageJson(path: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return existsSync(path) ? {} : undefined;
  }
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** An error as one line: the message, and the code of a Plugboard error. */
export function describeError(error: unknown): string {
  if (isPlugboardError(error)) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}
