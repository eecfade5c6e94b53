// `plugboard start --namespace <ns>` with the Redis URL from the environment (PLUGBOARD_REDIS):
// flags > env > file, so the flag's namespace applies to the env's Redis.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStart, type StartIo } from '../../src/cli/start-command.js';
import { SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { tempDir, writePluginFolder } from '../host/helpers.js';

void describe('plugboard start: --namespace with the Redis URL from PLUGBOARD_REDIS', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const saved = process.env['PLUGBOARD_REDIS'];
  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-precedence-'));
    await writePluginFolder(join(dir, 'plugins', 'ok'), { name: 'ok-plugin', version: '1.0.0' });
    process.env['PLUGBOARD_REDIS'] = SHARED_REDIS_URL;
  });
  after(async () => {
    if (saved === undefined) delete process.env['PLUGBOARD_REDIS'];
    else process.env['PLUGBOARD_REDIS'] = saved;
    await cleanup();
  });

  void it('starts on the env Redis under the flag namespace instead of refusing the flag', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: StartIo = {
      out: (line) => void out.push(line),
      err: (line) => void err.push(line),
      onSignal: () => () => undefined,
      exit: (code) => {
        throw new Error(`exit ${code}`);
      },
    };
    const code = await runStart(
      dir,
      { once: true, namespace: uniqueNamespace('prec'), logLevel: 'silent' },
      io,
    );
    assert.equal(code, 0, err.join('\n'));
    assert.match(out.join('\n'), /backend redis/);
  });
});
