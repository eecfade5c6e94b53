// What a user gets from `npm install plugboard`: this test copies the repository's tracked files
// (a clean clone: no dist/) to a scratch folder, runs `npm pack` there (its `prepack` builds
// dist/), installs the tarball into a fresh project, then runs a folder plugin with
// `npx plugboard start <folder> --once` and imports the package from an .mjs file.
//
// The install needs no network: the scratch project's lockfile is the tarball plus the
// production entries of the repository's own lockfile, whose tarballs `npm ci` left in the npm
// cache, so `npm ci --offline` installs exactly the versions the suite ran against.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir, writePluginFolder } from '../host/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Bound of one step (the build inside `npm pack` is the slow one: ~15 s on an idle machine). */
const STEP_BOUND = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Our environment without what `npm test` adds (npm_config_*, npm_lifecycle_*, ...), and without
 * NODE_TEST_CONTEXT, which would make a `node --test` run here report to this runner.
 */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.toLowerCase().startsWith('npm_') && key !== 'NODE_TEST_CONTEXT',
  ),
);

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: STEP_BOUND,
        killSignal: 'SIGKILL',
        maxBuffer: 16 << 20,
        env: {
          ...cleanEnv,
          PLUGBOARD_LOG_LEVEL: 'warn',
          npm_config_audit: 'false',
          npm_config_fund: 'false',
          npm_config_update_notifier: 'false',
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr: stderr + (error && code === null ? error.message : '') });
      },
    );
  });
}

const ok = (what: string, result: Run): void =>
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);

interface PackedFile {
  path: string;
}

/** What a clean clone lacks: installed and generated folders. */
const NOT_IN_A_CLONE = /(^|\/)(node_modules|dist|\.git|coverage|\.tmp)(\/|$)|^bench\/results\//;

/**
 * The files of a clean clone: tracked plus new files not ignored by .gitignore; without git
 * (no checkout, or one git refuses to read), every file but installed and generated ones.
 */
async function cloneFiles(): Promise<string[]> {
  const listed = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    ROOT,
  );
  const files =
    listed.code === 0
      ? listed.stdout.split('\0')
      : (await readdir(ROOT, { recursive: true, withFileTypes: true }))
          .filter((entry) => entry.isFile())
          .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
  // --cached also lists files deleted from the working tree but not from the index.
  const clone = files.filter(
    (f) => f !== '' && !NOT_IN_A_CLONE.test(f) && existsSync(join(ROOT, f)),
  );
  assert.ok(clone.includes('package.json'), 'the repository files are listed');
  return clone;
}

/** The scratch project's lockfile: the tarball, and the production tree of our lockfile. */
async function scratchLock(tarball: string): Promise<object> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; dependencies?: Record<string, string> }>;
  };
  const ours = lock.packages[''];
  assert.ok(ours !== undefined);
  const packages: Record<string, unknown> = {
    '': { name: 'scratch-app', dependencies: { plugboard: `file:${tarball}` } },
    'node_modules/plugboard': {
      version: JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version as string,
      resolved: `file:${tarball}`,
      dependencies: ours.dependencies ?? {},
      bin: { plugboard: 'dist/cli/main.js' },
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && entry.dev !== true) packages[path] = entry;
  }
  return { name: 'scratch-app', lockfileVersion: 3, requires: true, packages };
}

void describe('the packed package', { timeout: 4 * STEP_BOUND }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let app: string;
  let packed: PackedFile[];

  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-pack-'));
    // 1. A clean clone (the dependencies of the build come from our node_modules).
    const clone = join(dir, 'clone');
    for (const file of await cloneFiles()) {
      await cp(join(ROOT, file), join(clone, file), { recursive: true });
    }
    await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');

    // 2. npm pack: prepack builds dist/.
    const out = join(dir, 'out');
    await mkdir(out);
    const pack = await run('npm', ['pack', '--json', '--pack-destination', out], clone);
    ok('npm pack', pack);
    const json = pack.stdout.slice(pack.stdout.indexOf('['));
    const [info] = JSON.parse(json) as [{ filename: string; files: PackedFile[] }];
    packed = info.files;
    const tarball = join(out, info.filename);
    assert.deepEqual(await readdir(out), [info.filename]);

    // 3. A scratch project that installs it, offline.
    app = join(dir, 'app');
    await mkdir(app);
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'scratch-app',
        private: true,
        type: 'module',
        dependencies: { plugboard: `file:${tarball}` },
      }),
    );
    await writeFile(join(app, 'package-lock.json'), JSON.stringify(await scratchLock(tarball)));
    let install = await run('npm', ['ci', '--offline'], app);
    if (install.code !== 0) {
      // The cache lacks something (e.g. it was cleaned since `npm ci`): resolve as a user would.
      install = await run('npm', ['install', '--prefer-offline', tarball], app);
    }
    ok('npm install <tarball>', install);
  });
  after(() => cleanup());

  void it('holds the built package, its types, Lua scripts, the dashboard page and README, and nothing else', () => {
    const paths = packed.map((f) => f.path);
    for (const needed of [
      'package.json',
      'README.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
    ]) {
      assert.ok(paths.includes(needed), `${needed} is in the tarball`);
    }
    assert.ok(
      paths.some((p) => p.startsWith('dist/backends/redis/scripts/') && p.endsWith('.lua')),
      'the Lua scripts are in the tarball',
    );
    assert.ok(paths.includes('dist/dashboard/index.html'), 'the dashboard page is in the tarball');
    assert.ok(
      paths.some((p) => /^dist\/dashboard\/assets\/app-[\w-]+\.js$/.test(p)),
      'the dashboard bundle is in the tarball',
    );
    const unexpected = paths.filter(
      (p) =>
        !['package.json', 'README.md', 'LICENSE', 'dist/dashboard/index.html'].includes(p) &&
        !/^dist\/.+\.(js|d\.ts|lua)$/.test(p) &&
        !/^dist\/dashboard\/assets\/app-[\w-]+\.css$/.test(p),
    );
    assert.deepEqual(unexpected, [], 'no tests, sources, maps or other files');
  });

  void it('`npx plugboard start <folder> --once` runs a folder plugin', async () => {
    const plugins = join(app, 'plugins');
    await writePluginFolder(
      join(plugins, 'greeter'),
      { name: 'greeter-plugin', version: '1.0.0', type: 'module', main: 'index.js' },
      {
        'index.js':
          "import { definePlugin } from 'plugboard';\n" +
          'export default definePlugin({\n' +
          "  name: 'greeter-plugin',\n" +
          "  version: '1.0.0',\n" +
          '  async activate(context) {\n' +
          "    context.rpcServer.register('greeter', { hello: (name) => `hello ${name}` });\n" +
          "    const reply = await context.rpcClient.call('greeter', 'hello', ['packed world']);\n" +
          "    console.log('GREETER ' + reply);\n" +
          '  },\n' +
          '});\n',
      },
    );
    const started = await run(
      'npx',
      ['--no', '--', 'plugboard', 'start', 'plugins', '--once'],
      app,
    );
    ok('npx plugboard start', started);
    assert.match(started.stdout, /GREETER hello packed world/);
    assert.match(started.stdout, /greeter-plugin/);

    const version = await run('npx', ['--no', '--', 'plugboard', '--version'], app);
    ok('npx plugboard --version', version);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(version.stdout.trim(), pkg.version);
  });

  void it('`npx plugboard new <name>` scaffolds a plugin that passes its own test', async () => {
    const made = await run(
      'npx',
      ['--no', '--', 'plugboard', 'new', 'scaffolded-plugin', '--dir', 'scaffold'],
      app,
    );
    ok('npx plugboard new', made);
    assert.doesNotMatch(made.stdout, /not installed/);
    const tested = await run(
      process.execPath,
      ['--test'],
      join(app, 'scaffold', 'scaffolded-plugin'),
    );
    ok('node --test in the scaffold', tested);
    assert.match(tested.stdout, /# pass 2/);
  });

  void it('imports from an .mjs file: createHost, plugins, RPC and events', async () => {
    await writeFile(
      join(app, 'main.mjs'),
      "import { createHost, definePlugin } from 'plugboard';\n" +
        'const seen = [];\n' +
        'const host = await createHost({\n' +
        '  plugins: [\n' +
        '    definePlugin({\n' +
        "      name: 'math', version: '1.0.0',\n" +
        '      activate(context) {\n' +
        "        context.rpcServer.register('math', { add: (a, b) => a + b });\n" +
        "        context.eventBus.subscribe('sum.done', (data) => void seen.push(data.total));\n" +
        '      },\n' +
        '    }),\n' +
        '    definePlugin({\n' +
        "      name: 'client', version: '1.0.0', dependencies: { math: '^1.0.0' },\n" +
        '      async activate(context) {\n' +
        "        const total = await context.rpcClient.call('math', 'add', [2, 3]);\n" +
        "        await context.eventBus.publish('sum.done', { total });\n" +
        '      },\n' +
        '    }),\n' +
        '  ],\n' +
        '});\n' +
        'await host.start();\n' +
        'await host.stop();\n' +
        "console.log('RESULT ' + JSON.stringify(seen));\n",
    );
    const result = await run(process.execPath, ['main.mjs'], app);
    ok('node main.mjs', result);
    assert.match(result.stdout, /RESULT \[5\]/);
  });
});
