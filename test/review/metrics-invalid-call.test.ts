// RPC metrics label calls by service and method. A call refused before it goes anywhere
// (an invalid service name: empty, too long, wrong characters) must not become a label value:
// a plugin looping over bad names would otherwise fill the 500 labels with garbage, long values
// included, and push every real service past the cap into `_other`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost, definePlugin, type PluginContext } from '../../src/index.js';

void describe('RPC metrics and invalid calls', () => {
  void it('a call with an invalid service name is refused and leaves no label', async () => {
    let context: PluginContext | undefined;
    const plugin = definePlugin({
      name: 'caller-plugin',
      version: '1.0.0',
      activate(ctx) {
        context = ctx;
      },
    });
    const host = await createHost({ plugins: [plugin], logLevel: 'silent' });
    await host.start();
    try {
      const long = 'x'.repeat(100_000);
      await assert.rejects(context!.rpcClient.call(long, 'm'));
      await assert.rejects(context!.rpcClient.call('bad name with spaces', 'm'));
      const snapshot = await host.metrics();
      assert.deepEqual(Object.keys(snapshot.rpc), []);
      assert.doesNotMatch(await host.metrics({ format: 'prometheus' }), /xxxxxxxxxx|bad name/);
    } finally {
      await host.stop();
    }
  });
});
