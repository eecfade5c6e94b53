// `plugboard new <name>` writes a plugin folder that passes its own test. The test here runs the
// scaffold's test for real, with `plugboard` resolved the way an application resolves it: a
// `node_modules/plugboard` above the plugin folder. When the package is built (dist/, as in
// `npm test`), that is this repository itself and the scaffold runs under plain `node --test`;
// without a build, it is a package whose entry re-exports the source, run under tsx.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../host/helpers.js';
import { runNode, type NodeRun } from '../helpers/run-node.js';
import { runNew, type NewOptions } from '../../src/cli/new-command.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href;
const BUILT = existsSync(join(ROOT, 'dist/index.js'));

function run(args: string[], cwd: string): Promise<NodeRun> {
  // Without NODE_TEST_CONTEXT, which would make a nested `node --test` report to this runner.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  return runNode(args, {
    cwd,
    env: { ...env, NODE_OPTIONS: '', PLUGBOARD_LOG_LEVEL: 'silent' },
    killAfterMs: 60_000,
  });
}

const plugboard = (args: string[], cwd: string): Promise<NodeRun> =>
  run(['--import', TSX, MAIN, ...args], cwd);

void describe('plugboard new', () => {
  let app: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir('plugboard-new-'));
    app = join(dir, 'app');
    await mkdir(join(app, 'plugins'), { recursive: true });
    const installed = join(app, 'node_modules', 'plugboard');
    if (BUILT) {
      await mkdir(join(app, 'node_modules'));
      await symlink(ROOT, installed, 'dir');
    } else {
      await mkdir(installed, { recursive: true });
      await writeFile(
        join(installed, 'package.json'),
        JSON.stringify({ name: 'plugboard', type: 'module', exports: './index.ts' }),
      );
      await writeFile(
        join(installed, 'index.ts'),
        `export * from ${JSON.stringify(join(ROOT, 'src/index.ts'))};\n`,
      );
    }
  });
  after(() => cleanup());

  it('scaffolds a plugin into ./plugins that passes its own test and runs in the app', async () => {
    const made = await plugboard(['new', 'greeter-plugin'], app);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created plugin greeter-plugin in plugins\/greeter-plugin/);
    assert.doesNotMatch(made.stdout, /not installed/);
    const folder = join(app, 'plugins', 'greeter-plugin');
    assert.deepEqual((await readdir(folder)).sort(), [
      'README.md',
      'index.js',
      'index.test.js',
      'package.json',
    ]);
    const pkg = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as {
      plugboard: { permissions: string[] };
    };
    assert.deepEqual(pkg.plugboard.permissions, [
      'rpc:register:greeter',
      'events:publish:greeter.*',
    ]);

    const tested = await run(BUILT ? ['--test'] : ['--import', TSX, '--test'], folder);
    assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
    assert.match(tested.stdout, /# pass 2/);
    assert.match(tested.stdout, /# fail 0/);

    const started = await plugboard(['start', '.', '--once'], app);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /✓ greeter-plugin@0\.1\.0 activated/);
  });

  it('refuses to overwrite, refuses a bad name, and answers --json and --help', async () => {
    // In this process: the command's own function with its output captured.
    const call = async (name: string, options: NewOptions = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runNew(name, options, {
        out: (line) => void out.push(line),
        err: (line) => void err.push(line),
        cwd: () => app,
      });
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    };
    const again = await call('greeter-plugin');
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /plugins\/greeter-plugin already exists and is not empty; nothing was written/,
    );

    const bad = await call('two words');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /"two words" is not a valid plugin name/);
    assert.match(bad.stderr, /hint: /);

    const elsewhere = join(app, 'elsewhere');
    const json = await call('@acme/stock:ledger', { dir: elsewhere, json: true });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: true,
      name: '@acme/stock:ledger',
      service: 'acme-stock-ledger',
      folder: join(elsewhere, 'acme-stock-ledger'),
      files: ['package.json', 'index.js', 'index.test.js', 'README.md'],
      plugboardInstalled: true,
    });
    const refused = await call('@acme/stock:ledger', { dir: elsewhere, json: true });
    assert.equal(refused.code, 1);
    assert.equal((JSON.parse(refused.stdout) as { ok: boolean }).ok, false);

    const help = await plugboard(['new', '--help'], app);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: plugboard new \[options\] <name>/);
  });
});
