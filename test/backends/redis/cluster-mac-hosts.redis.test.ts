import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createHost, definePlugin, type Host, type PluginContext } from '../../../src/index.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace, waitFor } from './support.js';

const SECRET = 'hosts of one cluster share this secret (32+ bytes)';
const OTHER = 'a host outside the cluster has this one instead!!';

/** Hosts with `clusterSecret`: events, RPC and discovery between members; an outsider is deaf and mute. */
describe('hosts with a cluster secret', () => {
  const namespace = uniqueNamespace('mac-hosts');
  const hosts: Host[] = [];
  after(async () => {
    for (const host of hosts.reverse()) await host.stop();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  /** A started host with one plugin, whose context is returned. */
  const member = async (name: string, secret: string): Promise<PluginContext> => {
    let context!: PluginContext;
    const host = await createHost({
      backend: { redis: SHARED_REDIS_URL, namespace, clusterSecret: secret },
      nodeId: name,
      logger: false,
      plugins: [definePlugin({ name, version: '1.0.0', activate: (c) => void (context = c) })],
    });
    hosts.push(host);
    await host.start();
    return context;
  };

  it('publish, call and discover between members; not with an outsider', async () => {
    const billing = await member('billing', SECRET);
    const shop = await member('shop', SECRET);
    const outsider = await member('outsider', OTHER);

    await billing.rpcServer.register('invoices', { total: (n: number) => n * 10 }).ready;
    await billing.serviceRegistry.register('invoice-api', {
      name: 'invoices',
      version: '1.0.0',
      endpoint: 'http://billing:8080',
    }).ready;
    const heard: Array<[string, unknown]> = [];
    await billing.eventBus.subscribe('order.*', (data) => void heard.push(['billing', data])).ready;
    await outsider.eventBus.subscribe('order.*', (data) => void heard.push(['outsider', data]))
      .ready;

    assert.equal(await shop.rpcClient.call('invoices', 'total', [4]), 40);
    const found = await shop.serviceRegistry.discover('invoice-api');
    assert.deepEqual(
      found.map((s) => `${s.nodeId} ${s.endpoint}`),
      ['billing http://billing:8080'],
    );
    await shop.eventBus.publish('order.created', { id: 1 });
    await waitFor(() => heard.length > 0, 3000, 'the event');

    // The outsider sees no service of the cluster, cannot call it, and hears nothing.
    assert.deepEqual(await outsider.serviceRegistry.discover('invoice-api'), []);
    await assert.rejects(outsider.rpcClient.call('invoices', 'total', [1], { timeout: 500 }), {
      code: 'PB_SERVICE_UNAVAILABLE',
    });
    await outsider.eventBus.publish('order.created', { id: 2 });
    await shop.eventBus.publish('order.created', { id: 3 });
    await waitFor(() => heard.length === 3, 3000, 'the third event');
    // Each side hears only its own: the outsider's event stays in its host.
    assert.deepEqual(heard.map(([who, data]) => `${who} ${JSON.stringify(data)}`).sort(), [
      'billing {"id":1}',
      'billing {"id":3}',
      'outsider {"id":2}',
    ]);
  });
});
