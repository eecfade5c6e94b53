import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startRuntime, type TestRuntime } from '../support/runtime.js';

describe('registering a service name twice', () => {
  let rt: TestRuntime;
  beforeEach(async () => (rt = await startRuntime()));
  afterEach(() => rt.close());

  it('refuses a second registration by the same plugin while the first is active', async () => {
    const server = rt.ctx('billing').rpcServer;
    const first = server.register('invoices', { total: () => 1 });
    assert.throws(
      () => server.register('invoices', { total: () => 2 }),
      (error: any) => {
        assert.equal(error.code, 'PB_VALIDATION');
        assert.equal(error.details.service, 'invoices');
        assert.equal(error.details.pluginId, 'billing');
        assert.match(error.message, /"billing" already provides service "invoices"/);
        return true;
      },
    );
    // The first registration still answers, alone.
    assert.equal(await rt.ctx('c').rpcClient.call('invoices', 'total'), 1);
    await first.unregister();
    // Once unregistered, the name may be registered again.
    server.register('invoices', { total: () => 3 });
    assert.equal(await rt.ctx('c').rpcClient.call('invoices', 'total'), 3);
  });

  it('still lets two plugins provide the same service', async () => {
    rt.ctx('a').rpcServer.register('echo', { who: () => 'a' });
    rt.ctx('b').rpcServer.register('echo', { who: () => 'b' });
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add(await rt.ctx('c').rpcClient.call('echo', 'who'));
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });
});
