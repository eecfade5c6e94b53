import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server/dashboard.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/types.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
  waitFor,
} from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';
import { StreamReader } from './support.js';

interface Overview {
  nodes: Array<{ nodeId: string; self: boolean }>;
  services: Array<{ name: string; instances: Array<{ nodeId: string; pluginId?: string }> }>;
  queues: Array<{ name: string; dead: number }>;
}

describe('dashboard API (two hosts on Redis)', () => {
  const namespace = uniqueNamespace('dash');
  const backend = { redis: SHARED_REDIS_URL, namespace };
  let hostA: Host;
  let hostB: Host;
  let a!: PluginContext;
  let b!: PluginContext;
  let dashboard: Dashboard;
  let failing = true;
  const processed: unknown[] = [];

  const overview = async (): Promise<Overview> =>
    (await (await fetch(`http://127.0.0.1:${dashboard.port}/api/overview`)).json()) as Overview;

  before(async () => {
    hostA = await createHost({
      logger: silentLogger,
      backend,
      nodeId: 'dash-node-a',
      plugins: [
        definePlugin({
          name: 'alpha',
          version: '1.0.0',
          activate: (c) => {
            a = c;
            c.rpcServer.register('alpha-service', { ping: () => 'a' });
          },
        }),
      ],
    });
    hostB = await createHost({
      logger: silentLogger,
      backend,
      nodeId: 'dash-node-b',
      plugins: [
        definePlugin({
          name: 'beta',
          version: '1.0.0',
          activate: (c) => {
            b = c;
            c.rpcServer.register('beta-service', { ping: () => 'b' });
          },
        }),
      ],
    });
    await Promise.all([hostA.start(), hostB.start()]);
    dashboard = await startDashboard(hostA, { port: 0, uiDirectory: '/nonexistent' });
  });

  after(async () => {
    await dashboard.close();
    await Promise.all([hostA.stop(), hostB.stop()]);
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('shows both nodes and the services of each', async () => {
    await waitFor(
      async () => (await overview()).services.length === 2,
      5000,
      'both services in the overview',
    );
    const view = await overview();
    assert.deepEqual(view.nodes, [
      { nodeId: 'dash-node-a', self: true },
      { nodeId: 'dash-node-b', self: false },
    ]);
    assert.deepEqual(
      view.services.map((s) => [s.name, s.instances.map((i) => [i.nodeId, i.pluginId])]),
      [
        ['alpha-service', [['dash-node-a', 'alpha']]],
        ['beta-service', [['dash-node-b', 'beta']]],
      ],
    );
  });

  it("streams the other node's events", async () => {
    const reader = new StreamReader(dashboard.port, '/api/events?pattern=beta.**');
    assert.equal(await reader.opened(), 200);
    try {
      await a.eventBus.publish('alpha.said', { hello: 'a' });
      await b.eventBus.publish('beta.said', { hello: 'b' });
      await reader.until((events) => events.length >= 1);
      const [event] = reader.events;
      assert.equal(event!.name, 'beta.said');
      assert.equal(event!.nodeId, 'dash-node-b');
      assert.equal(event!.source, 'beta');
      assert.deepEqual(event!.data, { hello: 'b' });
    } finally {
      reader.close();
    }
  });

  it("replays a dead letter from one node's dashboard to a consumer on the other", async () => {
    b.messageQueue.receive('jobs', (message) => {
      if (failing) throw new Error('not yet');
      processed.push(message.data);
    });
    await a.messageQueue.send('jobs', { job: 'x' });
    await waitFor(
      async () => (await overview()).queues.find((q) => q.name === 'jobs')?.dead === 1,
      5000,
      'dead letter',
    );
    const base = `http://127.0.0.1:${dashboard.port}/api/queues/jobs/dead`;
    const [dead] = (await (await fetch(base)).json()) as Array<{ id: string; data: unknown }>;
    assert.deepEqual(dead!.data, { job: 'x' });
    failing = false;
    const replayed = await fetch(`${base}/${dead!.id}/replay`, { method: 'POST' });
    assert.deepEqual(await replayed.json(), { replayed: 1 });
    await waitFor(() => processed.length === 1, 5000, 'replayed message processed on node b');
    assert.deepEqual(processed, [{ job: 'x' }]);
  });
});
