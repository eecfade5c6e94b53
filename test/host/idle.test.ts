import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost, definePlugin } from '../../src/host/index.js';
import { silentLogger } from '../support/runtime.js';

describe('host.idle()', () => {
  it('resolves true once background work started in activate has finished', async () => {
    let finished = false;
    const host = await createHost({
      logger: silentLogger,
      plugins: [
        definePlugin({
          name: 'worker',
          version: '1.0.0',
          activate(context) {
            context.background.run('warm-up', async () => {
              await new Promise((resolve) => setTimeout(resolve, 50));
              finished = true;
            });
          },
        }),
      ],
    });
    await host.start();
    assert.equal(await host.idle(5000), true);
    assert.equal(finished, true);
    await host.stop();
  });

  it('resolves false at its bound when work never ends', async () => {
    const host = await createHost({
      logger: silentLogger,
      deactivateTimeout: 100,
      plugins: [
        definePlugin({
          name: 'stuck',
          version: '1.0.0',
          activate(context) {
            context.background.run('forever', () => new Promise(() => undefined));
          },
        }),
      ],
    });
    await host.start();
    const started = Date.now();
    assert.equal(await host.idle(100), false);
    assert.ok(Date.now() - started < 2000);
    await host.stop();
  });
});
