import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runInspect, type InspectReport } from '../../src/cli/inspect-command.js';
import { tempDir, writePluginFolder } from '../host/helpers.js';
import { cli } from './run-cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOP = join(ROOT, 'examples/shop');

/** `runInspect` in this process, its output captured. */
async function inspectHere(
  folder: string,
  options: { json?: boolean; color?: boolean } = {},
  isTTY = false,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runInspect(folder, options, {
    out: (text) => (out += `${text}\n`),
    err: (text) => (err += `${text}\n`),
    isTTY,
  });
  return { code, out, err };
}

const ESC = '\u001b[';

void describe('plugboard inspect', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-inspect-'));
    // Capabilities: a list, an explicit empty list (in the export only), no list at all.
    const caps = join(dir, 'caps');
    await writePluginFolder(
      join(caps, 'listed'),
      {
        name: 'listed-plugin',
        version: '1.0.0',
        dependencies: { 'quiet-plugin': '^2.0.0' },
        plugboard: { permissions: ['events:publish:user.*', 'cache:write:user:*'] },
      },
      {
        // Activating would leave a mark: inspect must not activate.
        'index.js':
          "import { writeFileSync } from 'node:fs';\n" +
          "export default { activate() { writeFileSync(new URL('./activated', import.meta.url), 'yes'); } };\n",
      },
    );
    await writePluginFolder(
      join(caps, 'quiet'),
      { name: 'quiet-plugin', version: '2.3.0' },
      { 'index.js': 'export default { permissions: [], activate() {} };\n' },
    );
    await writePluginFolder(join(caps, 'trusted'), { name: 'trusted-plugin', version: '0.1.0' });
    // A definePlugin object without a list (its definition may fill in a default).
    await writePluginFolder(
      join(caps, 'defined'),
      { name: 'defined-plugin', version: '1.0.0', type: 'module' },
      {
        'index.js':
          `import { definePlugin } from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/index.ts')).href)};\n` +
          "export default definePlugin({ name: 'defined-plugin', version: '1.0.0', activate() {} });\n",
      },
    );

    const cycle = join(dir, 'cycle', 'plugins');
    await writePluginFolder(join(cycle, 'a'), {
      name: 'a-plugin',
      version: '1.0.0',
      dependencies: { 'b-plugin': '^1.0.0' },
    });
    await writePluginFolder(join(cycle, 'b'), {
      name: 'b-plugin',
      version: '1.0.0',
      dependencies: { 'c-plugin': '^1.0.0' },
    });
    await writePluginFolder(join(cycle, 'c'), {
      name: 'c-plugin',
      version: '1.0.0',
      dependencies: { 'a-plugin': '^1.0.0' },
    });

    const missing = join(dir, 'missing');
    await writePluginFolder(join(missing, 'app'), {
      name: 'app-plugin',
      version: '1.0.0',
      dependencies: { 'auth-plugin': '^1.0.0', 'base-plugin': '^3.0.0' },
    });
    await writePluginFolder(join(missing, 'base'), { name: 'base-plugin', version: '2.0.0' });
  });
  after(() => cleanup());

  void it('prints every plugin of the shop with its capabilities, dependencies and levels', async () => {
    const run = await cli(['inspect', 'examples/shop']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.ok(!run.stdout.includes(ESC), 'no colours on a pipe');
    assert.match(run.stdout, /^plugboard: 10 plugins in examples\/shop\/plugins$/m);
    assert.match(run.stdout, /^orders-plugin 1\.0\.0 {2}\(level 2\)$/m);
    assert.match(run.stdout, /^ {2}source: examples\/shop\/plugins\/orders$/m);
    assert.match(run.stdout, /^ {4}rpc:call:payments$/m);
    assert.match(run.stdout, /^ {4}payments-plugin \^2\.0\.0 → 2\.1\.0$/m);
    assert.match(
      run.stdout,
      /^ {2}level 0: audit-plugin, auth-plugin, newsletter-plugin, payments-plugin, stock-plugin$/m,
    );
    assert.match(run.stdout, /^ {2}level 3: fulfilment-plugin$/m);
    assert.match(run.stdout, /^ {2}level 4: storefront-plugin$/m);
  });

  void it('--json prints the documented shape', async () => {
    const run = await cli(['inspect', SHOP, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as InspectReport;
    assert.equal(report.format, 1);
    assert.equal(report.ok, true);
    assert.equal(report.error, null);
    assert.equal(report.folder, join(SHOP, 'plugins'));
    assert.deepEqual(report.levels, [
      ['audit-plugin', 'auth-plugin', 'newsletter-plugin', 'payments-plugin', 'stock-plugin'],
      ['users-plugin'],
      ['email-plugin', 'orders-plugin'],
      ['fulfilment-plugin'],
      ['storefront-plugin'],
    ]);
    const users = report.plugins.find((p) => p.name === 'users-plugin')!;
    assert.deepEqual(users, {
      name: 'users-plugin',
      version: '1.2.0',
      source: join(SHOP, 'plugins', 'users'),
      permissions: [
        'rpc:register:users',
        'rpc:call:auth',
        'events:publish:user.*',
        'sync:write:users',
      ],
      level: 1,
      dependencies: [{ name: 'auth-plugin', range: '^1.0.0', resolved: '1.0.0', status: 'ok' }],
      npmDependencies: {},
      dependents: ['email-plugin', 'orders-plugin', 'storefront-plugin'],
    });
    assert.deepEqual(
      report.plugins.map((p) => p.name),
      [...report.plugins.map((p) => p.name)].sort(),
    );
  });

  void it('tells a list, an empty list and no list apart, and activates nothing', async () => {
    const { code, out } = await inspectHere(join(dir, 'caps'), { json: true });
    assert.equal(code, 0);
    const report = JSON.parse(out) as InspectReport;
    const permissions = Object.fromEntries(report.plugins.map((p) => [p.name, p.permissions]));
    assert.deepEqual(permissions, {
      'defined-plugin': null,
      'listed-plugin': ['events:publish:user.*', 'cache:write:user:*'],
      'quiet-plugin': [],
      'trusted-plugin': null,
    });
    assert.equal(existsSync(join(dir, 'caps', 'listed', 'activated')), false);

    const text = await inspectHere(join(dir, 'caps'));
    assert.match(
      text.out,
      /^trusted-plugin 0\.1\.0 {2}\(level 0\)\n {2}source: .*\n {2}capabilities: none declared — trusted unless --strict-permissions \/ strictPermissions$/m,
    );
    assert.match(text.out, /^quiet-plugin 2\.3\.0 .*\n.*\n {2}capabilities: \[\] /m);
    assert.match(text.out, /^ {4}quiet-plugin \^2\.0\.0 → 2\.3\.0$/m);
  });

  void it('colours only on a terminal, and never with --no-color', async () => {
    const folder = join(dir, 'caps');
    assert.ok((await inspectHere(folder, {}, true)).out.includes(ESC));
    assert.ok(!(await inspectHere(folder, {}, false)).out.includes(ESC));
    assert.ok(!(await inspectHere(folder, { color: false }, true)).out.includes(ESC));
    assert.ok(!(await inspectHere(folder, { json: true }, true)).out.includes(ESC));
  });

  void it('reports a cycle with exit code 1', async () => {
    const run = await cli(['inspect', join(dir, 'cycle')]);
    assert.equal(run.code, 1);
    const cycle = 'a-plugin -> b-plugin -> c-plugin -> a-plugin';
    assert.ok(run.stdout.includes(`✗ Plugins depend on each other in a cycle: ${cycle}`));
    assert.match(
      run.stderr,
      /cycle: a-plugin -> b-plugin -> c-plugin -> a-plugin.*\[PB_DEPENDENCY_CYCLE\]/,
    );
    // Each plugin is still listed, with its dependency resolved.
    assert.match(run.stdout, /^ {4}b-plugin \^1\.0\.0 → 1\.0\.0$/m);

    const json = await cli(['inspect', join(dir, 'cycle'), '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as InspectReport;
    assert.equal(report.ok, false);
    assert.equal(report.levels, null);
    assert.equal(report.error?.code, 'PB_DEPENDENCY_CYCLE');
    assert.deepEqual(report.error?.details['cycle'], [
      'a-plugin',
      'b-plugin',
      'c-plugin',
      'a-plugin',
    ]);
    assert.deepEqual(
      report.plugins.map((p) => [p.name, p.level, p.dependents]),
      [
        ['a-plugin', null, null],
        ['b-plugin', null, null],
        ['c-plugin', null, null],
      ],
    );
  });

  void it('reports a missing plugin and a version outside the range with exit code 1', async () => {
    const { code, out, err } = await inspectHere(join(dir, 'missing'));
    assert.equal(code, 1);
    assert.match(
      out,
      /^ {4}auth-plugin \^1\.0\.0 ✗ missing: no plugin of that name in this folder$/m,
    );
    assert.match(out, /^ {4}base-plugin \^3\.0\.0 ✗ 2\.0\.0 is installed, outside the range$/m);
    assert.match(
      err,
      /Plugin "app-plugin" depends on plugin "auth-plugin".*\[PB_MISSING_DEPENDENCY\]/,
    );

    const json = JSON.parse(
      (await inspectHere(join(dir, 'missing'), { json: true })).out,
    ) as InspectReport;
    assert.equal(json.error?.code, 'PB_MISSING_DEPENDENCY');
    assert.deepEqual(json.error?.details, {
      plugin: 'app-plugin',
      dependency: 'auth-plugin',
      range: '^1.0.0',
    });
    assert.deepEqual(json.plugins[0]!.dependencies, [
      { name: 'auth-plugin', range: '^1.0.0', resolved: null, status: 'missing' },
      { name: 'base-plugin', range: '^3.0.0', resolved: '2.0.0', status: 'version' },
    ]);
  });

  void it('refuses a folder without plugins, naming a plugin folder given by mistake', async () => {
    const { code, err } = await inspectHere(join(dir, 'caps', 'trusted'));
    assert.equal(code, 1);
    assert.match(err, /it is itself a plugin .* run `plugboard inspect` on its parent folder/);
    assert.equal((await inspectHere(join(dir, 'nowhere'))).code, 1);
  });

  void it('--help describes the command and the JSON shape', async () => {
    const run = await cli(['inspect', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: plugboard inspect \[options\] <folder>/);
    assert.match(run.stdout, /--json/);
    assert.match(run.stdout, /permissions: string\[\] \| null/);
  });
});
