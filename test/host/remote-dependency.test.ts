import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import { createHost } from '../../src/host/host.js';
import type { BackendOption } from '../../src/backends/resolve.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';

const auth = definePlugin({ name: 'auth-plugin', version: '1.2.0', activate() {} });
const web = definePlugin({
  name: 'web-plugin',
  version: '1.0.0',
  dependencies: { 'auth-plugin': '^1.0.0' },
  activate() {},
});

void describe('a dependency missing in this host', () => {
  void it('says which node runs it when another node of the cluster has it', async () => {
    const network = new MemoryNetwork();
    const authHost = await createHost({
      backend: { memory: network },
      nodeId: 'node-auth',
      plugins: [auth],
      logger: false,
    });
    await authHost.start();
    const webHost = await createHost({
      backend: { memory: network },
      nodeId: 'node-web',
      plugins: [web],
      logger: false,
    });
    try {
      await assert.rejects(webHost.start(), (error: any) => {
        assert.equal(error.code, 'PB_MISSING_DEPENDENCY');
        assert.equal(error.details.plugin, 'web-plugin');
        assert.equal(error.details.dependency, 'auth-plugin');
        assert.deepEqual(error.details.runsOn, ['node-auth']);
        assert.ok(
          error.message.includes(
            '"auth-plugin" runs on node "node-auth", but dependencies must be in the same host',
          ),
          error.message,
        );
        return true;
      });
      // The failed host left the cluster; the other keeps its entry until it stops.
      assert.deepEqual([...network.nodes.keys()], ['node-auth']);
    } finally {
      await webHost.stop();
      await authHost.stop();
    }
    assert.equal(network.nodes.size, 0);
  });

  void it('says which node runs it on Redis too', async () => {
    const namespace = uniqueNamespace('remote-dep');
    const backend: BackendOption = { redis: SHARED_REDIS_URL, namespace };
    const authHost = await createHost({
      backend,
      nodeId: 'redis-auth',
      plugins: [auth],
      logger: false,
    });
    const webHost = await createHost({
      backend,
      nodeId: 'redis-web',
      plugins: [web],
      logger: false,
    });
    try {
      await authHost.start();
      await assert.rejects(webHost.start(), (error: any) => {
        assert.equal(error.code, 'PB_MISSING_DEPENDENCY');
        assert.deepEqual(error.details.runsOn, ['redis-auth']);
        return true;
      });
    } finally {
      await webHost.stop();
      await authHost.stop();
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    }
  });

  void it('keeps the plain message when no node runs it, clustered or not', async () => {
    const network = new MemoryNetwork();
    for (const backend of [{ memory: network }, 'memory'] as const) {
      const host = await createHost({ backend, plugins: [web], logger: false });
      await assert.rejects(host.start(), (error: any) => {
        assert.equal(error.code, 'PB_MISSING_DEPENDENCY');
        assert.equal(error.details.runsOn, undefined);
        assert.match(error.message, /which is not installed in this host/);
        return true;
      });
      await host.stop();
    }
  });
});
