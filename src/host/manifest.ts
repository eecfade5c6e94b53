import { safeJsonParse } from '../codec/safe-json.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import { InvalidManifestError } from '../errors/errors.js';
import { assertSpecKeys, freezeDefinition } from './define-plugin.js';
import { freshUrl } from './fresh-import.js';
import {
  assertKnownKeys,
  assertPackageJsonKeys,
  packageJsonSchema,
  PLUGBOARD_FIELD_KEYS,
  parseManifest,
  pluginSpecSchema,
  type PackageJsonManifest,
} from './manifest-schema.js';
import type { LoadedPlugin, PluginSpec } from './types.js';

/**
 * Load a folder plugin: a folder with a `package.json` like the guide's
 *
 * ```json
 * {
 *   "name": "my-plugin",
 *   "version": "1.0.0",
 *   "main": "index.js",
 *   "dependencies": { "auth-plugin": "^1.0.0", "lodash": "^4.17.0" },
 *   "plugboard": { "permissions": ["events:publish:user.*"], "options": { "greeting": "hi" } }
 * }
 * ```
 *
 * `main` (default `index.js`) must export the plugin as its default export or as `plugin`:
 * either a `definePlugin(...)` object or a plain object with `activate` (and optionally
 * `deactivate`). The package.json gives the name, version and dependencies, and
 * `peerDependencies.plugboard` the Plugboard versions the plugin supports (checked when a host
 * loads it; the exported object's `plugboard` key says the same); the `plugboard` field gives
 * `permissions`, `options`, `activateTimeout`, `deactivateTimeout` and `npmDependencies`. The
 * exported object may repeat any of these, but must not contradict the package.json.
 *
 * **Typos are refused, not ignored.** An unknown key in the `plugboard` field, a top-level key
 * that is one typo away from a field Plugboard reads and not an npm field (`dependancies`,
 * `mian`), and a key of the exported object one typo away from a plugin key fail with
 * `InvalidManifestError` suggesting the intended key (`details.suggestion`).
 *
 * **Which `dependencies` are plugins.** The chapter lists plugin dependencies in the ordinary
 * `dependencies` field, next to npm packages. The rule:
 * 1. an entry listed in `plugboard.npmDependencies` is an npm package, never a plugin;
 * 2. otherwise, an entry naming a plugin present in the host is a plugin dependency, and its
 *    range is enforced;
 * 3. otherwise, an entry that is installed as an npm package (a `node_modules/<name>` folder in
 *    the plugin's folder or any folder above it, as Node resolves packages) is an npm package
 *    and ignored by the host;
 * 4. anything else is a missing plugin: `host.start()` fails with `MissingDependencyError`
 *    naming both plugins.
 *
 * @throws InvalidManifestError naming the field (`details.field`): no or unreadable
 *   package.json, invalid name/version/ranges/`plugboard` field, a typo as above, a `main` that
 *   fails to load (a syntax error names the file and line:column) or exports no plugin
 *   (`field: "main"`), or an export that contradicts the package.json.
 */
export async function loadPluginFromFolder(
  folder: string,
  options: LoadOptions = {},
): Promise<LoadedPlugin> {
  const root = resolve(folder);
  const pkgPath = join(root, 'package.json');
  const where = pkgPath;
  const raw = await readJson(pkgPath);
  assertPackageJsonKeys(raw, where);
  if (isObject(raw)) {
    assertKnownKeys(raw['plugboard'], PLUGBOARD_FIELD_KEYS, where, { prefix: 'plugboard.' });
  }
  const manifest = parseManifest(packageJsonSchema, raw, where);
  const exported = await importPluginExport(root, manifest, where, options.fresh === true);

  const npmOnly = new Set(manifest.plugboard?.npmDependencies ?? []);
  const pluginDeps: Record<string, string> = {};
  const npmCandidates = new Set<string>();
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    if (npmOnly.has(name)) continue;
    pluginDeps[name] = range;
    if (isInstalledPackage(root, name)) npmCandidates.add(name);
  }

  const spec = mergeSpec(manifest, pluginDeps, exported, where);
  // Ranges of entries that turn out to be npm packages are npm's business (`file:`, `workspace:`),
  // so they are checked by the dependency graph only once an entry is known to be a plugin.
  const definition = freezeDefinition(spec);
  return { definition, source: { kind: 'folder', path: root }, npmCandidates };
}

/**
 * Load every plugin folder in `dir`: each subfolder holding a `package.json`, in name order
 * (so activation order never depends on the file system). Other entries are ignored.
 *
 * @throws InvalidManifestError when `dir` cannot be read or a plugin's manifest is invalid.
 */
export async function loadPluginsFromDirectory(dir: string): Promise<LoadedPlugin[]> {
  const plugins: LoadedPlugin[] = [];
  for (const folder of await listPluginFolders(dir))
    plugins.push(await loadPluginFromFolder(folder));
  return plugins;
}

/**
 * The plugin folders in `dir`, as {@link loadPluginsFromDirectory} finds them: each subfolder
 * (not hidden, not `node_modules`) holding a `package.json`, in name order.
 *
 * @throws InvalidManifestError when `dir` cannot be read.
 */
export async function listPluginFolders(dir: string): Promise<string[]> {
  const root = resolve(dir);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
      .map((entry) => entry.name)
      .filter((name) => !name.startsWith('.') && name !== 'node_modules');
  } catch (error) {
    throw new InvalidManifestError(
      `Cannot read the plugin directory ${root}: ${messageOf(error)}`,
      {
        details: { field: 'pluginDirectory', where: root },
        cause: error,
      },
    );
  }
  names.sort();
  const folders: string[] = [];
  for (const name of names) {
    const folder = join(root, name);
    if (await isFile(join(folder, 'package.json'))) folders.push(folder);
  }
  return folders;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidManifestError(`Cannot read plugin manifest ${path}: ${messageOf(error)}`, {
      details: { field: 'package.json', where: path },
      cause: error,
    });
  }
  try {
    return safeJsonParse(text);
  } catch (error) {
    throw new InvalidManifestError(
      `Plugin manifest ${path} is not valid JSON: ${messageOf(error)}`,
      {
        details: { field: 'package.json', where: path },
        cause: error,
      },
    );
  }
}

/** How {@link loadPluginFromFolder} loads. */
export interface LoadOptions {
  /**
   * Import `main` again even when it was imported before (a reload): its file URL gets a
   * version query, so Node's module cache sees a new module, and so do the files of the plugin's
   * folder it imports ({@link freshUrl}). The old modules stay in memory (ES modules cannot be
   * evicted).
   */
  fresh?: boolean;
}

/** The object a plugin's `main` exports, before it is checked against the manifest. */
type ExportedPlugin = Partial<PluginSpec> & Pick<PluginSpec, 'activate'>;

async function importPluginExport(
  root: string,
  manifest: PackageJsonManifest,
  where: string,
  fresh: boolean,
): Promise<ExportedPlugin> {
  const mainPath = resolve(root, manifest.main ?? 'index.js');
  if (!(await isFile(mainPath))) {
    throw new InvalidManifestError(
      `Invalid plugin manifest (${where}): field "main" points to ${mainPath}, which does not exist.`,
      { details: { field: 'main', where, main: mainPath } },
    );
  }
  let module: Record<string, unknown>;
  try {
    const url = fresh ? freshUrl(mainPath, root) : pathToFileURL(mainPath).href;
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const at = error instanceof SyntaxError ? await findSyntaxError(root, mainPath) : undefined;
    if (at !== undefined) {
      throw new InvalidManifestError(
        `Plugin "${manifest.name}": syntax error in ${at.file}:${at.line}:${at.column}: ${messageOf(error)}`,
        { details: { field: 'main', where, main: mainPath, ...at }, cause: error },
      );
    }
    throw new InvalidManifestError(
      `Plugin "${manifest.name}": loading its main file ${mainPath} failed: ${messageOf(error)}`,
      { details: { field: 'main', where, main: mainPath }, cause: error },
    );
  }
  const candidate = pickExport(module);
  if (candidate === undefined) {
    throw new InvalidManifestError(
      `Plugin "${manifest.name}": field "main" (${mainPath}) must export the plugin as its default export or as "plugin": ` +
        'a definePlugin(...) object or an object with an activate(context) function.',
      { details: { field: 'main', where, main: mainPath } },
    );
  }
  return candidate;
}

function pickExport(module: Record<string, unknown>): ExportedPlugin | undefined {
  const candidates: unknown[] = [module['plugin'], module['default']];
  // A CommonJS main exporting `{ plugin }` or `{ default }` arrives as the default export.
  const def = module['default'];
  if (isObject(def)) candidates.push(def['plugin'], def['default']);
  for (const candidate of candidates) {
    if (isObject(candidate) && typeof candidate['activate'] === 'function')
      return candidate as ExportedPlugin;
  }
  return undefined;
}

/** Combine the package.json with the exported object; they may repeat fields, never contradict. */
function mergeSpec(
  manifest: PackageJsonManifest,
  pluginDeps: Record<string, string>,
  exported: ExportedPlugin,
  where: string,
): PluginSpec {
  assertSpecKeys(exported, `${where} (export of "main")`);
  const fromExport = parseManifest(
    pluginSpecSchema.partial().required({ activate: true }),
    exported,
    `${where} (export of "main")`,
  );
  const agree = <T>(
    field: string,
    fromPackage: T | undefined,
    fromMain: T | undefined,
  ): T | undefined => {
    if (fromMain === undefined || isEmpty(fromMain)) return fromPackage ?? fromMain;
    if (fromPackage === undefined || isDeepStrictEqual(fromPackage, fromMain)) return fromMain;
    throw new InvalidManifestError(
      `Plugin "${manifest.name}": field "${field}" is ${JSON.stringify(fromPackage)} in package.json but ` +
        `${JSON.stringify(fromMain)} in the object exported by "main"; declare it in one place.`,
      { details: { field, where } },
    );
  };
  const name = agree('name', manifest.name, fromExport.name)!;
  const version = agree('version', manifest.version, fromExport.version)!;
  const dependencies = { ...pluginDeps };
  for (const [dep, range] of Object.entries(fromExport.dependencies ?? {})) {
    dependencies[dep] = agree(`dependencies.${dep}`, pluginDeps[dep], range)!;
  }
  const p = manifest.plugboard;
  const engine = agree(
    'peerDependencies.plugboard',
    manifest.peerDependencies?.plugboard,
    fromExport.plugboard,
  );
  return {
    name,
    version,
    dependencies,
    ...(engine === undefined ? {} : { plugboard: engine }),
    permissions: agree('plugboard.permissions', p?.permissions, fromExport.permissions),
    options: agree('plugboard.options', p?.options, fromExport.options),
    activateTimeout: agree(
      'plugboard.activateTimeout',
      p?.activateTimeout,
      fromExport.activateTimeout,
    ),
    deactivateTimeout: agree(
      'plugboard.deactivateTimeout',
      p?.deactivateTimeout,
      fromExport.deactivateTimeout,
    ),
    activate: exported.activate.bind(exported),
    ...(exported.deactivate === undefined
      ? {}
      : { deactivate: exported.deactivate.bind(exported) }),
  };
}

/** Bound on `node --check`, which parses one file: far more than it ever needs. */
const CHECK_TIMEOUT_MS = 10_000;

/** Most files of a plugin folder checked for the syntax error an import reported. */
const CHECK_MAX_FILES = 100;

/**
 * Where the syntax error that loading `main` hit is: Node's ESM loader reports a SyntaxError
 * without its file or location. `main` is checked first, then the other JavaScript files of the
 * plugin folder (not `node_modules`), up to {@link CHECK_MAX_FILES}. `undefined` if none fails.
 */
async function findSyntaxError(
  root: string,
  main: string,
): Promise<{ file: string; line: number; column: number } | undefined> {
  const first = syntaxErrorLocation(main);
  if (first !== undefined) return first;
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (files.length >= CHECK_MAX_FILES) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.(?:c|m)?js$/.test(entry.name) && path !== main) files.push(path);
    }
  };
  await walk(root);
  for (const file of files) {
    const at = syntaxErrorLocation(file);
    if (at !== undefined) return at;
  }
  return undefined;
}

/** Where `node --check` finds a syntax error in `file`, or `undefined`. */
function syntaxErrorLocation(
  file: string,
): { file: string; line: number; column: number } | undefined {
  const run = spawnSync(process.execPath, ['--check', file], {
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (run.status === 0 || typeof run.stderr !== 'string') return undefined;
  // stderr: "<file>:<line>\n<source line>\n<spaces>^^^\n\nSyntaxError: ..."
  const lines = run.stderr.split('\n');
  const head = /^(.*):(\d+)$/.exec(lines[0] ?? '');
  if (head === null) return undefined;
  const caret = (lines[2] ?? '').indexOf('^');
  return { file: head[1]!, line: Number(head[2]), column: caret < 0 ? 1 : caret + 1 };
}

/** Node's package lookup: `node_modules/<name>` in the folder or any folder above it. */
function isInstalledPackage(folder: string, name: string): boolean {
  let dir = folder;
  for (;;) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return true;
    const parent = dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** An empty list or object (a `definePlugin` default) does not contradict the package.json. */
function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
