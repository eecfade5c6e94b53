// `plugboard queues dead <queue>` prints a dead letter's reason (a handler's error message: any
// text, written by whoever made the message fail) to the operator's terminal. Control
// characters in it must not reach the terminal as is: an escape sequence could retitle the
// window, clear the screen or hide the lines around it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHost, definePlugin, type Host, type PluginContext } from '../../src/index.js';
import { runCall } from '../../src/cli/commands/call-command.js';
import { runDeadLetters } from '../../src/cli/commands/queues-command.js';
import type { CommandEnv } from '../../src/cli/cluster-command.js';
import { styleFor, type Progress } from '../../src/cli/terminal.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
  waitFor,
} from '../backends/redis/support.js';

void describe('dead letters on a terminal', () => {
  const namespace = uniqueNamespace('deadtty');
  let host: Host;
  let context!: PluginContext;
  before(async () => {
    host = await createHost({
      backend: { redis: SHARED_REDIS_URL, namespace },
      logLevel: 'silent',
      plugins: [
        definePlugin({
          name: 'evil',
          version: '1.0.0',
          activate(ctx) {
            context = ctx;
            ctx.rpcServer.register('evil', {
              fail: () => {
                throw new Error('\u001b[2Jcall failed\u009b31m');
              },
              give: () => ({ text: 'ok\u009b31m\u001b[0m' }),
            });
          },
        }),
      ],
    });
    await host.start();
  });
  after(async () => {
    await host.stop();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  function recorder(): { out: string[]; err: string[]; env: CommandEnv } {
    const out: string[] = [];
    const err: string[] = [];
    const env: CommandEnv = {
      env: { PLUGBOARD_REDIS: SHARED_REDIS_URL, PLUGBOARD_NAMESPACE: namespace },
      cwd: process.cwd(),
      terminal: {
        out: (text) => void out.push(text),
        err: (text) => void err.push(text),
        style: styleFor(false),
        progress: (): Progress => ({ update() {}, stop() {} }),
        onSignal: () => () => undefined,
      },
    };
    return { out, err, env };
  }

  void it('call shows a remote error message and a result with control characters escaped', async () => {
    const failed = recorder();
    assert.equal(await runCall('evil', 'fail', undefined, {}, failed.env), 1);
    assert.match(failed.err.join('\n'), /call failed/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(failed.err.join('\n'), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const given = recorder();
    assert.equal(await runCall('evil', 'give', undefined, {}, given.env), 0);
    assert.match(given.out.join('\n'), /"text": "ok/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(given.out.join('\n'), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  void it('shows control characters of the reason escaped, not raw', async () => {
    const consumer = context.messageQueue.receive('fragile', () => {
      throw new Error('\u001b]0;pwned\u0007\u001b[2Jscreen cleared\u009b31m');
    });
    await context.messageQueue.send('fragile', { n: 1 });
    await waitFor(
      async () => (await context.messageQueue.stats('fragile')).dead === 1,
      10_000,
      'a dead letter',
    );
    await consumer.stop();
    const out: string[] = [];
    const err: string[] = [];
    const env: CommandEnv = {
      env: { PLUGBOARD_REDIS: SHARED_REDIS_URL, PLUGBOARD_NAMESPACE: namespace },
      cwd: process.cwd(),
      terminal: {
        out: (text) => void out.push(text),
        err: (text) => void err.push(text),
        style: styleFor(false),
        progress: (): Progress => ({ update() {}, stop() {} }),
        onSignal: () => () => undefined,
      },
    };
    assert.equal(await runDeadLetters('fragile', {}, env), 0, err.join('\n'));
    const text = out.join('\n');
    assert.match(text, /screen cleared/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});
