import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStart, type StartIo } from '../../src/cli/start-command.js';
import { tempDir, writePluginFolder } from './helpers.js';

/** An io that records lines; a signal handler is never called, so an empty host would hang. */
function recordingIo(): StartIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return {
    outLines,
    errLines,
    out: (line) => void outLines.push(line),
    err: (line) => void errLines.push(line),
    onSignal: () => () => {},
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
  };
}

void describe('plugboard start <folder> without plugins', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('plugboard-start-')));
  after(() => cleanup());

  void it(
    'fails with exit code 1 when the folder is itself a plugin, saying so',
    { timeout: 20_000 },
    async () => {
      const plugin = await writePluginFolder(join(dir, 'x'), {
        name: 'x-plugin',
        version: '1.0.0',
        main: 'index.js',
      });
      const io = recordingIo();
      assert.equal(await runStart(plugin, { logLevel: 'silent' }, io), 1);
      assert.deepEqual(io.errLines, [
        `plugboard: No plugins found in ${plugin}: it is itself a plugin (it has a package.json with main); ` +
          'run `plugboard start` on its parent folder, which holds plugin folders.',
      ]);
      assert.deepEqual(io.outLines, []);
    },
  );

  void it(
    'says "a package.json" when the plugin relies on the default main',
    { timeout: 20_000 },
    async () => {
      const plugin = await writePluginFolder(join(dir, 'y'), {
        name: 'y-plugin',
        version: '1.0.0',
      });
      const io = recordingIo();
      assert.equal(await runStart(plugin, { logLevel: 'silent' }, io), 1);
      assert.match(io.errLines[0]!, /it is itself a plugin \(it has a package\.json\);/);
    },
  );

  void it(
    'fails with exit code 1 for an empty folder and an empty plugins/ folder',
    { timeout: 20_000 },
    async () => {
      const empty = join(dir, 'empty');
      await mkdir(join(empty, 'assets'), { recursive: true });
      await writeFile(join(empty, 'README.md'), 'no plugins here');
      const io = recordingIo();
      assert.equal(await runStart(empty, { logLevel: 'silent' }, io), 1);
      assert.match(
        io.errLines[0]!,
        /^plugboard: No plugins found in .*empty: a plugin is a subfolder with a package\.json/,
      );

      const app = join(dir, 'app');
      await mkdir(join(app, 'plugins'), { recursive: true });
      const io2 = recordingIo();
      assert.equal(await runStart(app, { logLevel: 'silent' }, io2), 1);
      assert.ok(
        io2.errLines[0]!.startsWith(`plugboard: No plugins found in ${join(app, 'plugins')}:`),
      );
    },
  );

  void it('still starts a folder that holds plugins', async () => {
    const app = join(dir, 'good');
    await writePluginFolder(join(app, 'plugins', 'one'), { name: 'one', version: '1.0.0' });
    const io = recordingIo();
    assert.equal(await runStart(app, { logLevel: 'silent', once: true }, io), 0);
    assert.deepEqual(io.errLines, []);
  });
});
