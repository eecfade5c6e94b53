import { ValidationError } from '../errors/errors.js';
import { toDefinition } from './define-plugin.js';
import type { DependencyGraph } from './dependency-graph.js';
import { loadPluginFromFolder } from './manifest.js';
import type { LoadedPlugin, PluginEntry } from './types.js';

/**
 * The new code for `host.reload(name, plugin)`: `plugin` (a definition, or a folder path loaded
 * fresh), or, when omitted, the plugin's own folder loaded fresh (a definition is reused as is).
 *
 * @throws InvalidManifestError when the folder's code or manifest does not load.
 * @throws ValidationError when the new plugin has another name.
 */
export async function loadReplacement(
  current: LoadedPlugin,
  plugin: PluginEntry | undefined,
): Promise<LoadedPlugin> {
  const name = current.definition.name;
  let loaded: LoadedPlugin;
  if (typeof plugin === 'string') loaded = await loadPluginFromFolder(plugin, { fresh: true });
  else if (plugin !== undefined)
    loaded = {
      definition: toDefinition(plugin),
      source: { kind: 'definition' },
      npmCandidates: new Set(),
    };
  else if (current.source.kind === 'folder')
    loaded = await loadPluginFromFolder(current.source.path, { fresh: true });
  else loaded = current;
  if (loaded.definition.name !== name) {
    throw new ValidationError(
      `host.reload("${name}"): the new code is named "${loaded.definition.name}"; a reload must keep the plugin's name.`,
      { details: { field: 'name', plugin: name, got: loaded.definition.name } },
    );
  }
  return loaded;
}

/** `name` and every plugin depending on it (transitively), in activation order. */
export function restartSet(graph: DependencyGraph, name: string): string[] {
  const affected = new Set([name]);
  for (const plugin of graph.order) {
    if ((graph.dependenciesOf.get(plugin) ?? []).some((d) => affected.has(d))) affected.add(plugin);
  }
  return graph.order.filter((plugin) => affected.has(plugin));
}
