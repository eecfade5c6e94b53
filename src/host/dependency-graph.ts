import semver from 'semver';
import type { Backend } from '../backends/ports.js';
import { settleWithin } from '../util/bound.js';
import {
  DependencyCycleError,
  DependencyVersionError,
  DuplicatePluginError,
  MissingDependencyError,
} from '../errors/errors.js';
import { assertEngineRange } from './engine.js';
import { assertDependencyRanges } from './manifest-schema.js';
import type { LoadedPlugin } from './types.js';

/** The resolved plugin graph: who depends on whom, and the order to start them in. */
export interface DependencyGraph {
  /**
   * Activation levels: level 0 holds plugins without plugin dependencies, level n plugins whose
   * deepest dependency is in level n-1. Plugins of one level start in parallel. Sorted by name
   * within a level, so the order never depends on the order plugins were given in.
   */
  readonly levels: readonly (readonly string[])[];
  /** All plugins, level by level (the activation order; stop runs it backwards). */
  readonly order: readonly string[];
  /** Level of each plugin. */
  readonly levelOf: ReadonlyMap<string, number>;
  /** Plugin dependencies of each plugin (npm-package entries removed), sorted. */
  readonly dependenciesOf: ReadonlyMap<string, readonly string[]>;
  /** Plugins that depend directly on each plugin, sorted. */
  readonly dependentsOf: ReadonlyMap<string, readonly string[]>;
}

/**
 * Check the whole set of plugins and compute the activation levels. Nothing is started here, so
 * every error below surfaces before any plugin runs. Checks, in this order (the first problem
 * found, in name order, is thrown):
 *
 * @throws DuplicatePluginError two plugins share a name (`details.plugin`, `details.sources`).
 * @throws DependencyVersionError a plugin's supported Plugboard range (`plugboard`, or
 *   `peerDependencies.plugboard`) excludes the running version (`details.dependency:
 *   'plugboard'`, `details.range`, `details.version`).
 * @throws InvalidManifestError a plugin dependency's range is not a semver range.
 * @throws MissingDependencyError a plugin depends on a plugin that is not in the host
 *   (`details.plugin`, `details.dependency`, `details.range`). Dependencies must be in the same
 *   host: on a cluster, the host then says which node runs the dependency, if one does
 *   ({@link explainMissingDependency}, `details.runsOn`).
 * @throws DependencyVersionError the dependency is there but outside the range
 *   (`details.plugin`, `details.dependency`, `details.range`, `details.version`).
 * @throws DependencyCycleError plugins depend on each other in a cycle; the message prints it
 *   (`a -> b -> c -> a`) and `details.cycle` lists it (first name repeated last).
 */
export function resolveDependencyGraph(plugins: readonly LoadedPlugin[]): DependencyGraph {
  const byName = new Map<string, LoadedPlugin>();
  for (const plugin of plugins) {
    const name = plugin.definition.name;
    const existing = byName.get(name);
    if (existing !== undefined) {
      const sources = [describeSource(existing), describeSource(plugin)];
      throw new DuplicatePluginError(
        `Two plugins are named "${name}" (${sources.join(' and ')}); plugin names must be unique in a host.`,
        { details: { plugin: name, sources } },
      );
    }
    byName.set(name, plugin);
  }
  const names = [...byName.keys()].sort();
  for (const name of names) assertEngineRange(byName.get(name)!.definition);

  const dependenciesOf = new Map<string, string[]>();
  for (const name of names) {
    const plugin = byName.get(name)!;
    const deps: string[] = [];
    const entries = Object.entries(plugin.definition.dependencies).sort(([a], [b]) =>
      compare(a, b),
    );
    const pluginEntries = entries.filter(
      ([dep]) => byName.has(dep) || !plugin.npmCandidates.has(dep),
    );
    assertDependencyRanges(name, Object.fromEntries(pluginEntries), `plugin "${name}"`);
    for (const [dep, range] of pluginEntries) {
      const target = byName.get(dep);
      if (target === undefined) {
        throw new MissingDependencyError(
          `Plugin "${name}" depends on plugin "${dep}" (${range}), which is not installed in this host. ` +
            `Add "${dep}" to the host's plugins, or remove it from "${name}"'s dependencies.` +
            (plugin.source.kind === 'folder'
              ? ` If "${dep}" is an npm package, install it (npm install) or list it in "plugboard.npmDependencies".`
              : ''),
          { details: { plugin: name, dependency: dep, range } },
        );
      }
      const version = target.definition.version;
      if (!semver.satisfies(version, range, { includePrerelease: true })) {
        throw new DependencyVersionError(
          `Plugin "${name}" requires plugin "${dep}" ${range}, but version ${version} is installed.`,
          { details: { plugin: name, dependency: dep, range, version } },
        );
      }
      deps.push(dep);
    }
    dependenciesOf.set(name, deps);
  }

  const cycle = findCycle(names, dependenciesOf);
  if (cycle !== undefined) {
    throw new DependencyCycleError(
      `Plugins depend on each other in a cycle: ${cycle.join(' -> ')}. Remove one of these dependencies.`,
      { details: { cycle } },
    );
  }

  const levelOf = new Map<string, number>();
  const levelFor = (name: string): number => {
    const known = levelOf.get(name);
    if (known !== undefined) return known;
    let level = 0;
    for (const dep of dependenciesOf.get(name)!) level = Math.max(level, levelFor(dep) + 1);
    levelOf.set(name, level);
    return level;
  };
  const levels: string[][] = [];
  for (const name of names) {
    const level = levelFor(name);
    while (levels.length <= level) levels.push([]);
    levels[level]!.push(name);
  }
  for (const level of levels) level.sort(compare);

  const dependentsOf = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const name of names)
    for (const dep of dependenciesOf.get(name)!) dependentsOf.get(dep)!.push(name);

  return { levels, order: levels.flat(), levelOf, dependenciesOf, dependentsOf };
}

/**
 * The first cycle found by a depth-first walk in name order, rotated to start at its smallest
 * name and closed (`[a, b, c, a]`); `undefined` when there is none.
 */
function findCycle(
  names: readonly string[],
  dependenciesOf: ReadonlyMap<string, readonly string[]>,
): string[] | undefined {
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (done.has(name)) return undefined;
    const at = onPath.get(name);
    if (at !== undefined) return path.slice(at);
    onPath.set(name, path.length);
    path.push(name);
    for (const dep of dependenciesOf.get(name) ?? []) {
      const found = visit(dep);
      if (found !== undefined) return found;
    }
    path.pop();
    onPath.delete(name);
    done.add(name);
    return undefined;
  };
  for (const name of names) {
    const cycle = visit(name);
    if (cycle === undefined) continue;
    const start = cycle.indexOf([...cycle].sort(compare)[0]!);
    const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
    return [...rotated, rotated[0]!];
  }
  return undefined;
}

/** Code-point order: the same on every machine and locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describeSource(plugin: LoadedPlugin): string {
  return plugin.source.kind === 'folder' ? `folder ${plugin.source.path}` : 'a definePlugin object';
}

/** The registry kind where each clustered host lists the plugins it holds (one entry per host). */
export const HOST_PLUGINS_KIND = 'host.plugins';

/** Bound on looking a missing dependency up in the cluster (a failure path only). */
const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Put this host's plugin names in the cluster registry (one entry, owned by the node, so it
 * goes away when the node leaves or dies): another host missing one of them as a dependency can
 * then say where it runs. One registry write per host start.
 */
export async function announcePlugins(
  backend: Pick<Backend, 'clustered' | 'nodeId' | 'registry'>,
  plugins: readonly LoadedPlugin[],
): Promise<void> {
  if (!backend.clustered) return;
  const names = plugins.map((p) => p.definition.name).sort(compare);
  await backend.registry.put(
    HOST_PLUGINS_KIND,
    backend.nodeId,
    new TextEncoder().encode(JSON.stringify({ plugins: names })),
  );
}

/**
 * Whether `error` is a missing dependency that may be running on another node of the cluster the
 * host joins (`backend` is a clustered option): then the host looks it up once it has connected
 * ({@link explainMissingDependency}) instead of failing at once.
 */
export function mayRunElsewhere(error: unknown, backend: unknown): error is MissingDependencyError {
  return error instanceof MissingDependencyError && typeof backend === 'object' && backend !== null;
}

/**
 * `error` (a missing dependency), told where the dependency runs when some other node of the
 * cluster holds a plugin of that name: dependencies must be in the same host, so a plugin on
 * another node does not satisfy one. Returns `error` itself when no node holds it, or when the
 * lookup fails or takes longer than {@link LOOKUP_TIMEOUT_MS}.
 */
export async function explainMissingDependency(
  error: MissingDependencyError,
  backend: Pick<Backend, 'clustered' | 'nodeId' | 'registry'>,
): Promise<MissingDependencyError> {
  if (!backend.clustered) return error;
  const { plugin, dependency, range } = error.details as {
    plugin: string;
    dependency: string;
    range: string;
  };
  const outcome = await settleWithin(
    () => backend.registry.list(HOST_PLUGINS_KIND),
    LOOKUP_TIMEOUT_MS,
  );
  if (outcome.status !== 'ok') return error;
  const nodes: string[] = [];
  for (const record of outcome.value) {
    if (record.nodeId === backend.nodeId) continue;
    try {
      const value = JSON.parse(new TextDecoder().decode(record.value)) as { plugins?: unknown };
      if (Array.isArray(value.plugins) && value.plugins.includes(dependency))
        nodes.push(record.nodeId);
    } catch {
      // Not an entry this version wrote: ignore it.
    }
  }
  if (nodes.length === 0) return error;
  nodes.sort(compare);
  const where =
    nodes.length === 1 ? `node "${nodes[0]}"` : `nodes ${nodes.map((n) => `"${n}"`).join(', ')}`;
  return new MissingDependencyError(
    `Plugin "${plugin}" depends on plugin "${dependency}" (${range}): "${dependency}" runs on ${where}, ` +
      `but dependencies must be in the same host (activation order and chains are process-local). ` +
      `Add "${dependency}" to this host's plugins too, or remove it from "${plugin}"'s dependencies ` +
      `and reach it across nodes through RPC or events.`,
    { details: { ...error.details, runsOn: nodes }, cause: error },
  );
}
