/** The two-host `plugin.error` trace scenario on the shared Redis (own namespace, deleted after). */
import { after, describe, it } from 'node:test';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { assertRemoteTraces, startTwoHosts } from './trace-support.js';

describe('plugin.error trace ids on Redis', () => {
  const namespace = uniqueNamespace('trace');
  after(() => deleteNamespace(SHARED_REDIS_URL, namespace));

  it('a subscriber on another host sees the failing plugin, its node and the trace', async () => {
    const hosts = await startTwoHosts(() => ({ redis: SHARED_REDIS_URL, namespace }), 'shipments');
    try {
      await assertRemoteTraces(hosts);
    } finally {
      await hosts.stop();
    }
  });
});
