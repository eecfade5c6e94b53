import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tempDir, writePluginFolder } from '../host/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
/** Bound on each wait for a line of output. */
const WAIT_MS = 20_000;

/** The greeter's code: at activation it says its greeting and the counter's next value. */
const greeter = (greeting: string): string =>
  `export default {
  async activate(context) {
    const count = await context.rpcClient.call('counter', 'next', []);
    console.log('greeting=${greeting} count=' + count);
  },
};
`;

void describe('plugboard start --watch', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-watch-'));
    // The counter keeps state in memory: a restart would start it again at 1.
    await writePluginFolder(
      join(dir, 'plugins', 'counter'),
      { name: 'counter-plugin', version: '1.0.0', type: 'module' },
      {
        'index.js': `let activations = 0;
export default {
  activate(context) {
    console.log('counter activated ' + ++activations);
    let calls = 0;
    context.rpcServer.register('counter', { next: () => ++calls });
  },
};
`,
      },
    );
    // No declared dependency on the counter: reloading the greeter must not touch it.
    await writePluginFolder(
      join(dir, 'plugins', 'greeter'),
      { name: 'greeter-plugin', version: '1.0.0', type: 'module' },
      {
        'index.js': greeter('hello'),
        // Not the plugin's code: changes here are not watched.
        'node_modules/some-package/index.js': 'export {};\n',
      },
    );
  });
  after(() => cleanup());

  it('reloads the changed plugin only, keeps the old code on a syntax error, and stops cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', dir, '--watch'], {
      cwd: ROOT,
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const waiters: { test: () => boolean; resolve: () => void }[] = [];
    const check = (): void => {
      for (const waiter of [...waiters]) {
        if (!waiter.test()) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    };
    child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), check()));
    child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk.toString()), check()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const waitFor = (what: string, pattern: RegExp, stream: () => string = () => stdout) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${what} within ${WAIT_MS} ms:\n${stdout}\n${stderr}`)),
          WAIT_MS,
        );
        waiters.push({
          test: () => pattern.test(stream()),
          resolve: () => (clearTimeout(timer), resolve()),
        });
        check();
      });
    try {
      await waitFor('watch line', /watching 2 plugin folders/);
      assert.match(stdout, /greeting=hello count=1/);

      await writeFile(
        join(dir, 'plugins', 'greeter', 'node_modules', 'some-package', 'index.js'),
        'export const changed = true;\n',
      );
      // Longer than the debounce: a reload it caused would have begun (and be in stdout first).
      await new Promise((resolve) => setTimeout(resolve, 500));
      await writeFile(join(dir, 'plugins', 'greeter', 'index.js'), greeter('bonjour'));
      await waitFor('new greeting', /greeting=bonjour count=\d+/);
      // The counter kept its state: the new greeter got the next value, not 1 again.
      assert.match(stdout, /greeting=bonjour count=2/);
      await waitFor('reload line', /reloaded greeter-plugin\./);
      assert.deepEqual(
        stdout.match(/\S+ changed, reloading \S+/g),
        ['index.js changed, reloading greeter-plugin...'],
        'one reload, for index.js (node_modules is not watched)',
      );

      await writeFile(
        join(dir, 'plugins', 'greeter', 'index.js'),
        'export default { activate( };\n',
      );
      await waitFor(
        'error line',
        /greeter-plugin was not reloaded, the running version is kept: .*syntax error in .*index\.js:1:/,
        () => stderr,
      );

      await writeFile(join(dir, 'plugins', 'greeter', 'index.js'), greeter('hallo'));
      await waitFor('third greeting', /greeting=hallo count=3/);
      assert.equal(stdout.match(/counter activated/g)?.length, 1, 'the counter never restarted');
      assert.equal(stdout.match(/■ counter-plugin stopped/g), null);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /■ counter-plugin stopped/);
  });
});
