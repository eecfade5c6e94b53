import { relative } from 'node:path';
import semver from 'semver';
import { isPlugboardError } from '../errors/errors.js';
import { resolveDependencyGraph, type DependencyGraph } from '../host/dependency-graph.js';
import { loadPluginsFromDirectory } from '../host/manifest.js';
import type { LoadedPlugin } from '../host/types.js';
import { describeError, describeNoPlugins, locatePlugins } from './folders.js';

/** Version of the `--json` shape; raised only when a field changes meaning or goes away. */
export const INSPECT_FORMAT = 1;

/** Options of `plugboard inspect`. */
export interface InspectOptions {
  /** Print the report as one JSON document. */
  json?: boolean;
  /** `false` (from `--no-color`) never colours; otherwise colours when stdout is a terminal. */
  color?: boolean;
}

/** Where `plugboard inspect` writes (replaceable in tests). */
export interface InspectIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (colours are used only then). */
  readonly isTTY: boolean;
}

const processIo: InspectIo = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
};

/** One entry of a plugin's `dependencies` that names a plugin. */
export interface InspectedDependency {
  readonly name: string;
  /** The semver range asked for. */
  readonly range: string;
  /** The version of the plugin of that name in the folder, or `null` when there is none. */
  readonly resolved: string | null;
  /** `ok`, `missing` (no such plugin) or `version` (present, outside the range). */
  readonly status: 'ok' | 'missing' | 'version';
}

/** One plugin in the `--json` report. */
export interface InspectedPlugin {
  readonly name: string;
  readonly version: string;
  /** The plugin's folder. */
  readonly source: string;
  /**
   * The declared capabilities, or `null` when the plugin declares no list: trusted in
   * development, every call denied with `strictPermissions`. `[]` declares that it needs none.
   */
  readonly permissions: readonly string[] | null;
  /** Activation level (0 starts first), or `null` when the graph could not be resolved. */
  readonly level: number | null;
  /** Plugin dependencies, in name order. */
  readonly dependencies: readonly InspectedDependency[];
  /** `dependencies` entries that are npm packages (ignored by the host), with their ranges. */
  readonly npmDependencies: Readonly<Record<string, string>>;
  /** Plugins that depend on this one, or `null` when the graph could not be resolved. */
  readonly dependents: readonly string[] | null;
}

/** What `plugboard inspect --json` prints. */
export interface InspectReport {
  readonly format: typeof INSPECT_FORMAT;
  /** The folder the plugins were loaded from. */
  readonly folder: string;
  /** False when the plugins could not be loaded or their graph does not resolve. */
  readonly ok: boolean;
  readonly plugins: readonly InspectedPlugin[];
  /** Activation levels (plugins of one level start in parallel), or `null` on an error. */
  readonly levels: readonly (readonly string[])[] | null;
  /** Why the folder would not start: `{ code, message, details }`, or `null`. */
  readonly error: { code: string; message: string; details: Record<string, unknown> } | null;
}

/**
 * `plugboard inspect <folder>`: load the plugins `plugboard start <folder>` would run (nothing is
 * activated, no backend is opened) and print each one's capabilities and dependencies, and the
 * activation levels. Resolves with the exit code: 1 when the folder holds no plugin, a manifest
 * is invalid or the dependency graph does not resolve (cycle, missing plugin, version outside the
 * range, duplicate name), 0 otherwise.
 */
export async function runInspect(
  folder: string,
  options: InspectOptions,
  io: InspectIo = processIo,
): Promise<number> {
  const located = locatePlugins(folder, (line) => io.err(line));
  if (located === undefined) return 1;
  const { root, pluginDirectory } = located;
  const noPlugins = await describeNoPlugins(folder, root, pluginDirectory, 'inspect');
  if (noPlugins !== undefined) {
    io.err(`plugboard: ${noPlugins}`);
    return 1;
  }
  const report = await inspectFolder(pluginDirectory);
  if (options.json === true) io.out(JSON.stringify(report, null, 2));
  else io.out(formatReport(report, paint(options.color !== false && io.isTTY)));
  if (report.error !== null && options.json !== true) {
    io.err(`plugboard: ${report.error.message} [${report.error.code}]`);
  }
  return report.ok ? 0 : 1;
}

/** Load the plugins of `pluginDirectory` and resolve their graph, without starting anything. */
export async function inspectFolder(pluginDirectory: string): Promise<InspectReport> {
  let loaded: LoadedPlugin[];
  try {
    loaded = await loadPluginsFromDirectory(pluginDirectory);
  } catch (error) {
    return {
      format: INSPECT_FORMAT,
      folder: pluginDirectory,
      ok: false,
      plugins: [],
      levels: null,
      error: errorOf(error),
    };
  }
  let graph: DependencyGraph | undefined;
  let failure: unknown;
  try {
    graph = resolveDependencyGraph(loaded);
  } catch (error) {
    failure = error;
  }
  const byName = new Map(loaded.map((p) => [p.definition.name, p]));
  const plugins: InspectedPlugin[] = [];
  const sorted = [...loaded].sort((a, b) => compare(a.definition.name, b.definition.name));
  for (const plugin of sorted) {
    const { name, version } = plugin.definition;
    const dependencies: InspectedDependency[] = [];
    const npmDependencies: Record<string, string> = {};
    const entries = Object.entries(plugin.definition.dependencies).sort(([a], [b]) =>
      compare(a, b),
    );
    for (const [dep, range] of entries) {
      const target = byName.get(dep);
      // The dependency graph's rule: an installed npm package not naming a plugin is npm's.
      if (target === undefined && plugin.npmCandidates.has(dep)) {
        npmDependencies[dep] = range;
        continue;
      }
      const resolved = target?.definition.version ?? null;
      const status =
        resolved === null
          ? 'missing'
          : semver.validRange(range) !== null &&
              semver.satisfies(resolved, range, { includePrerelease: true })
            ? 'ok'
            : 'version';
      dependencies.push({ name: dep, range, resolved, status });
    }
    plugins.push({
      name,
      version,
      source: plugin.source.kind === 'folder' ? plugin.source.path : '(definePlugin object)',
      permissions: plugin.definition.permissions ?? null,
      level: graph?.levelOf.get(name) ?? null,
      dependencies,
      npmDependencies,
      dependents: graph?.dependentsOf.get(name) ?? null,
    });
  }
  return {
    format: INSPECT_FORMAT,
    folder: pluginDirectory,
    ok: graph !== undefined,
    plugins,
    levels: graph?.levels ?? null,
    error: graph === undefined ? errorOf(failure) : null,
  };
}

/** The report as lines a person reads. */
export function formatReport(report: InspectReport, style: Style): string {
  const lines: string[] = [];
  const count = report.plugins.length;
  lines.push(
    `plugboard: ${count} plugin${count === 1 ? '' : 's'} in ${displayPath(report.folder)}`,
  );
  for (const plugin of report.plugins) {
    lines.push('');
    const level = plugin.level === null ? '' : style.dim(`  (level ${plugin.level})`);
    lines.push(`${style.bold(plugin.name)} ${plugin.version}${level}`);
    lines.push(`  source: ${displayPath(plugin.source)}`);
    if (plugin.permissions === null) {
      lines.push(
        `  capabilities: ${style.yellow('none declared — trusted unless --strict-permissions / strictPermissions')}`,
      );
    } else if (plugin.permissions.length === 0) {
      lines.push('  capabilities: [] (declares that it needs none: every call is denied)');
    } else {
      lines.push('  capabilities:');
      for (const permission of plugin.permissions) lines.push(`    ${permission}`);
    }
    if (plugin.dependencies.length === 0) lines.push('  depends on: no plugin');
    else {
      lines.push('  depends on:');
      for (const dep of plugin.dependencies) {
        const outcome =
          dep.status === 'ok'
            ? style.green(`→ ${dep.resolved}`)
            : dep.status === 'missing'
              ? style.red('✗ missing: no plugin of that name in this folder')
              : style.red(`✗ ${dep.resolved} is installed, outside the range`);
        lines.push(`    ${dep.name} ${dep.range} ${outcome}`);
      }
    }
    const npm = Object.entries(plugin.npmDependencies);
    if (npm.length > 0) {
      lines.push(
        `  npm packages (not plugins): ${npm.map(([name, range]) => `${name} ${range}`).join(', ')}`,
      );
    }
    if (plugin.dependents !== null && plugin.dependents.length > 0)
      lines.push(`  needed by: ${plugin.dependents.join(', ')}`);
  }
  lines.push('');
  if (report.levels !== null) {
    lines.push('Activation order (plugins of one level start in parallel; stop runs backwards):');
    report.levels.forEach((level, i) => lines.push(`  level ${i}: ${level.join(', ')}`));
  } else if (report.error !== null) {
    lines.push(style.red(`✗ ${report.error.message} [${report.error.code}]`));
  }
  return lines.join('\n');
}

/** ANSI styles, or none. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

function paint(color: boolean): Style {
  const sgr =
    (open: number, close: number) =>
    (text: string): string =>
      color ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
  };
}

function errorOf(error: unknown): NonNullable<InspectReport['error']> {
  if (isPlugboardError(error))
    return { code: error.code, message: error.message, details: { ...error.details } };
  return {
    code: error instanceof Error ? error.name : 'Error',
    message: describeError(error),
    details: {},
  };
}

/** A path relative to the working directory when it is inside it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

/** Code-point order, as the dependency graph sorts. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
