import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveDependencyGraph } from '../../src/host/dependency-graph.js';
import { plugboardVersion } from '../../src/host/engine.js';
import { loadPluginFromFolder, loadPluginsFromDirectory } from '../../src/host/manifest.js';
import { tempDir, writePluginFolder } from './helpers.js';

const DEFINE_PLUGIN_URL = new URL('../../src/host/define-plugin.ts', import.meta.url).href;

void describe('folder plugins', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  void it('loads the chapter-style package.json with a default-exported object', async () => {
    const folder = await writePluginFolder(
      join(dir, 'my-plugin'),
      {
        name: 'my-plugin',
        version: '1.0.0',
        dependencies: { 'auth-plugin': '^1.0.0', 'storage-plugin': '^2.0.0' },
        plugboard: {
          permissions: ['events:publish:user.*'],
          options: { greeting: 'hi' },
          activateTimeout: 500,
        },
      },
      {
        'index.js':
          'export default { activated: false, async activate() { this.activated = true; } };\n',
      },
    );
    const loaded = await loadPluginFromFolder(folder);
    assert.equal(loaded.definition.name, 'my-plugin');
    assert.deepEqual(loaded.definition.dependencies, {
      'auth-plugin': '^1.0.0',
      'storage-plugin': '^2.0.0',
    });
    assert.deepEqual(loaded.definition.permissions, ['events:publish:user.*']);
    assert.deepEqual(loaded.definition.options, { greeting: 'hi' });
    assert.equal(loaded.definition.activateTimeout, 500);
    assert.deepEqual(loaded.source, { kind: 'folder', path: folder });
    assert.equal(loaded.npmCandidates.size, 0);
  });

  void it('accepts a named `plugin` export made with definePlugin, and a custom main', async () => {
    const folder = await writePluginFolder(
      join(dir, 'named'),
      {
        name: 'named-plugin',
        version: '2.0.0',
        main: 'lib/main.mjs',
        plugboard: { permissions: ['rpc:register:x'] },
      },
      {
        'lib/main.mjs':
          `import { definePlugin } from ${JSON.stringify(DEFINE_PLUGIN_URL)};\n` +
          `export const plugin = definePlugin({ name: 'named-plugin', version: '2.0.0', activate() {}, deactivate() {} });\n`,
      },
    );
    const loaded = await loadPluginFromFolder(folder);
    assert.equal(loaded.definition.version, '2.0.0');
    assert.deepEqual(loaded.definition.permissions, ['rpc:register:x']);
    assert.equal(typeof loaded.definition.deactivate, 'function');
  });

  void it('accepts a CommonJS main exporting the plugin', async () => {
    const folder = await writePluginFolder(
      join(dir, 'cjs'),
      { name: 'cjs-plugin', version: '1.0.0', main: 'index.cjs' },
      { 'index.cjs': 'module.exports = { activate() {} };\n' },
    );
    assert.equal((await loadPluginFromFolder(folder)).definition.name, 'cjs-plugin');
  });

  const invalid: [
    string,
    Record<string, unknown>,
    Record<string, string> | undefined,
    string,
    RegExp,
  ][] = [
    ['missing version', { name: 'p' }, undefined, 'version', /field "version": is required/],
    ['bad version', { name: 'p', version: 'latest' }, undefined, 'version', /semver version/],
    ['bad name', { name: 'a..b', version: '1.0.0' }, undefined, 'name', /plugin name/],
    [
      'bad dependencies',
      { name: 'p', version: '1.0.0', dependencies: { x: 1 } },
      undefined,
      'dependencies.x',
      /"dependencies\.x"/,
    ],
    [
      'bad timeout',
      { name: 'p', version: '1.0.0', plugboard: { deactivateTimeout: 'soon' } },
      undefined,
      'plugboard.deactivateTimeout',
      /"plugboard\.deactivateTimeout"/,
    ],
    [
      'bad permissions',
      { name: 'p', version: '1.0.0', plugboard: { permissions: 'all' } },
      undefined,
      'plugboard.permissions',
      /"plugboard\.permissions"/,
    ],
    [
      'missing main file',
      { name: 'p', version: '1.0.0', main: 'nope.js' },
      {},
      'main',
      /field "main" points to .*nope\.js/,
    ],
    [
      'main without plugin',
      { name: 'p', version: '1.0.0' },
      { 'index.js': 'export const x = 1;\n' },
      'main',
      /must export the plugin/,
    ],
    [
      'main that throws',
      { name: 'p', version: '1.0.0' },
      { 'index.js': 'throw new Error("kaboom");\n' },
      'main',
      /kaboom/,
    ],
    [
      'contradicting export',
      { name: 'p', version: '1.0.0' },
      { 'index.js': 'export default { name: "p", version: "1.1.0", activate() {} };\n' },
      'version',
      /"1\.0\.0" in package\.json but "1\.1\.0"/,
    ],
  ];
  for (const [title, pkg, files, field, message] of invalid) {
    void it(`names the field of an invalid manifest: ${title}`, async () => {
      const folder = await writePluginFolder(
        join(dir, `bad-${title.replace(/\W+/g, '-')}`),
        pkg,
        files,
      );
      await assert.rejects(loadPluginFromFolder(folder), (error: any) => {
        assert.equal(error.code, 'PB_INVALID_MANIFEST');
        assert.equal(error.type, 'InvalidManifestError');
        assert.equal(error.details.field, field);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  void it('reports a folder without package.json', async () => {
    await mkdir(join(dir, 'empty'), { recursive: true });
    await assert.rejects(
      loadPluginFromFolder(join(dir, 'empty')),
      (e: any) => e.code === 'PB_INVALID_MANIFEST' && e.details.field === 'package.json',
    );
  });

  void it('refuses a prototype-polluting package.json as an invalid manifest', async () => {
    await mkdir(join(dir, 'evil'), { recursive: true });
    await writeFile(
      join(dir, 'evil', 'package.json'),
      '{"name":"evil","version":"1.0.0","main":"index.js","plugboard":{"options":{"__proto__":{"polluted":true}}}}',
    );
    await writeFile(join(dir, 'evil', 'index.js'), 'export default { activate() {} };');
    await assert.rejects(loadPluginFromFolder(join(dir, 'evil')), (e: any) => {
      assert.equal(e.code, 'PB_INVALID_MANIFEST');
      assert.match(e.message, /__proto__/);
      return true;
    });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  void it('applies the dependency rule: plugins in the host, installed npm packages, npmDependencies', async () => {
    const root = join(dir, 'rule');
    const app = await writePluginFolder(join(root, 'app'), {
      name: 'app',
      version: '1.0.0',
      dependencies: {
        'auth-plugin': '^1.0.0',
        lodash: '^4.17.0',
        'local-lib': 'file:../local-lib',
      },
      plugboard: { npmDependencies: ['local-lib'] },
    });
    // lodash is installed next to the plugin (a hoisted node_modules one level up also counts)
    await mkdir(join(root, 'node_modules', 'lodash'), { recursive: true });
    await writeFile(
      join(root, 'node_modules', 'lodash', 'package.json'),
      '{"name":"lodash","version":"4.17.21"}',
    );
    await writePluginFolder(join(root, 'auth'), { name: 'auth-plugin', version: '1.2.0' });

    const loaded = await loadPluginFromFolder(app);
    assert.deepEqual(Object.keys(loaded.definition.dependencies).sort(), ['auth-plugin', 'lodash']);
    assert.deepEqual([...loaded.npmCandidates], ['lodash']);
    const plugins = await loadPluginsFromDirectory(root);
    assert.deepEqual(
      plugins.map((p) => p.definition.name),
      ['app', 'auth-plugin'],
    );
    const graph = resolveDependencyGraph(plugins);
    assert.deepEqual(graph.dependenciesOf.get('app'), ['auth-plugin']);
    assert.deepEqual(graph.levels, [['auth-plugin'], ['app']]);
    // Without the auth plugin, the missing plugin is a clear error (lodash is not).
    await assert.rejects(
      (async () => resolveDependencyGraph([await loadPluginFromFolder(app)]))(),
      (e: any) => e.code === 'PB_MISSING_DEPENDENCY' && e.details.dependency === 'auth-plugin',
    );
  });

  void it('loads a directory in name order, ignoring folders without package.json', async () => {
    const root = join(dir, 'many');
    for (const name of ['zeta', 'alpha', 'mid'])
      await writePluginFolder(join(root, name), { name: `${name}-plugin`, version: '1.0.0' });
    await mkdir(join(root, 'assets'), { recursive: true });
    await writeFile(join(root, 'README.md'), 'not a plugin');
    const plugins = await loadPluginsFromDirectory(root);
    assert.deepEqual(
      plugins.map((p) => p.definition.name),
      ['alpha-plugin', 'mid-plugin', 'zeta-plugin'],
    );
    await assert.rejects(
      loadPluginsFromDirectory(join(dir, 'does-not-exist')),
      (e: any) => e.details.field === 'pluginDirectory',
    );
  });
});

void describe('folder plugins: typos, supported Plugboard versions, syntax errors', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  const typos: [
    string,
    Record<string, unknown>,
    Record<string, string> | undefined,
    string,
    string,
  ][] = [
    [
      'dependancies',
      { name: 'p', version: '1.0.0', dependancies: { auth: '^1.0.0' } },
      undefined,
      'dependancies',
      'dependencies',
    ],
    ['mian', { name: 'p', version: '1.0.0', mian: 'lib.js' }, undefined, 'mian', 'main'],
    [
      'peerDependancies',
      { name: 'p', version: '1.0.0', peerDependancies: { plugboard: '*' } },
      undefined,
      'peerDependancies',
      'peerDependencies',
    ],
    [
      'plugboard.optoins',
      { name: 'p', version: '1.0.0', plugboard: { optoins: { greeting: 'hi' } } },
      undefined,
      'plugboard.optoins',
      'plugboard.options',
    ],
    [
      'plugboard.activationTimeout',
      { name: 'p', version: '1.0.0', plugboard: { activationTimeout: 100 } },
      undefined,
      'plugboard.activationTimeout',
      'plugboard.activateTimeout',
    ],
    [
      'dependecies in the exported object',
      { name: 'p', version: '1.0.0' },
      { 'index.js': 'export default { dependecies: { auth: "^1.0.0" }, activate() {} };\n' },
      'dependecies',
      'dependencies',
    ],
  ];
  for (const [title, pkg, files, field, suggestion] of typos) {
    void it(`refuses a typo with a suggestion: ${title}`, async () => {
      const folder = await writePluginFolder(
        join(dir, `typo-${title.replace(/\W+/g, '-')}`),
        pkg,
        files,
      );
      await assert.rejects(loadPluginFromFolder(folder), (error: any) => {
        assert.equal(error.code, 'PB_INVALID_MANIFEST');
        assert.equal(error.details.field, field);
        assert.equal(error.details.suggestion, suggestion);
        assert.ok(error.message.includes(`unknown key "${field}"`), error.message);
        assert.ok(error.message.includes(`did you mean "${suggestion}"?`), error.message);
        return true;
      });
    });
  }

  void it('says a top-level near-miss is not an npm field', async () => {
    const folder = await writePluginFolder(join(dir, 'npm-note'), {
      name: 'p',
      version: '1.0.0',
      dependancies: {},
    });
    await assert.rejects(loadPluginFromFolder(folder), /is not a known npm field/);
  });

  void it('refuses an unknown plugboard key far from any known key, listing the known keys', async () => {
    const folder = await writePluginFolder(join(dir, 'far'), {
      name: 'p',
      version: '1.0.0',
      plugboard: { colour: 'blue' },
    });
    await assert.rejects(loadPluginFromFolder(folder), (error: any) => {
      assert.equal(error.details.field, 'plugboard.colour');
      assert.match(error.message, /known keys: "permissions", "options"/);
      return true;
    });
  });

  void it('keeps npm fields, other top-level keys and object-style state', async () => {
    const folder = await writePluginFolder(
      join(dir, 'npm-fields'),
      {
        name: 'p',
        version: '1.0.0',
        description: 'x',
        man: './man/doc.1',
        devDependencies: { typescript: '^5.0.0' },
        optionalDependencies: {},
        scripts: { test: 'node --test' },
        eslintConfig: {},
      },
      {
        'index.js':
          'export default { activated: false, counter: 0, activate() { this.activated = true; } };\n',
      },
    );
    assert.equal((await loadPluginFromFolder(folder)).definition.name, 'p');
  });

  void it('reads peerDependencies.plugboard and checks it against the running version at load', async () => {
    const running = plugboardVersion();
    const ok = await writePluginFolder(join(dir, 'engine-ok'), {
      name: 'engine-ok',
      version: '1.0.0',
      peerDependencies: { plugboard: `^${running}`, react: '^18.0.0' },
    });
    const loaded = await loadPluginFromFolder(ok);
    assert.equal(loaded.definition.plugboard, `^${running}`);
    assert.deepEqual(resolveDependencyGraph([loaded]).order, ['engine-ok']);

    const old = await writePluginFolder(join(dir, 'engine-old'), {
      name: 'engine-old',
      version: '1.0.0',
      peerDependencies: { plugboard: '>=99.0.0' },
    });
    const oldLoaded = await loadPluginFromFolder(old);
    assert.throws(
      () => resolveDependencyGraph([oldLoaded]),
      (error: any) => {
        assert.equal(error.code, 'PB_DEPENDENCY_VERSION');
        assert.deepEqual(error.details, {
          plugin: 'engine-old',
          dependency: 'plugboard',
          range: '>=99.0.0',
          version: running,
        });
        assert.match(
          error.message,
          new RegExp(
            `Plugin "engine-old" supports Plugboard >=99\\.0\\.0, but Plugboard ${running.replace(/\./g, '\\.')} is running`,
          ),
        );
        return true;
      },
    );

    const bad = await writePluginFolder(join(dir, 'engine-bad'), {
      name: 'engine-bad',
      version: '1.0.0',
      peerDependencies: { plugboard: 'latest please' },
    });
    await assert.rejects(
      loadPluginFromFolder(bad),
      (e: any) =>
        e.code === 'PB_INVALID_MANIFEST' && e.details.field === 'peerDependencies.plugboard',
    );
  });

  void it('reads the running version from the package.json of the package', async () => {
    const pkg = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    assert.equal(plugboardVersion(), pkg.version);
  });

  void it('names the file and line:column of a syntax error in main', async () => {
    const folder = await writePluginFolder(
      join(dir, 'syntax'),
      { name: 'syntax-plugin', version: '1.0.0', main: 'index.mjs' },
      { 'index.mjs': 'export default {\n  activate() {\n    const x = ;\n  },\n};\n' },
    );
    await assert.rejects(loadPluginFromFolder(folder), (error: any) => {
      assert.equal(error.code, 'PB_INVALID_MANIFEST');
      assert.equal(error.details.field, 'main');
      assert.equal(error.details.line, 3);
      assert.equal(error.details.column, 15);
      assert.ok(
        error.message.includes(
          `Plugin "syntax-plugin": syntax error in ${join(folder, 'index.mjs')}:3:15`,
        ),
        error.message,
      );
      return true;
    });
  });

  void it('names the imported file when the syntax error is in a file main imports', async () => {
    const folder = await writePluginFolder(
      join(dir, 'syntax-deep'),
      { name: 'deep-plugin', version: '1.0.0', main: 'index.mjs' },
      {
        'index.mjs':
          'import { helper } from "./lib/helper.mjs";\nexport default { activate() { helper(); } };\n',
        'lib/helper.mjs': 'export function helper() {\n  return 1 +;\n}\n',
      },
    );
    await assert.rejects(loadPluginFromFolder(folder), (error: any) => {
      assert.ok(
        error.message.includes(`syntax error in ${join(folder, 'lib', 'helper.mjs')}:2:13`),
        error.message,
      );
      return true;
    });
  });
});
