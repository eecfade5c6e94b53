/** `resilience.services` across two hosts on the shared Redis (own namespace, deleted after). */
import { after, describe, it } from 'node:test';
import { createHost, type PluginContext } from '../../src/index.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';
import {
  appHost,
  assertBillingBreaker,
  BILLING_POLICY,
  billingProvider,
  probePlugin,
} from './policy-support.js';

describe('RPC policies by configuration on Redis', () => {
  const namespace = uniqueNamespace('rpcpol');
  after(() => deleteNamespace(SHARED_REDIS_URL, namespace));

  it("opens the calling node's rpc:billing breaker; the provider's host is not governed by it", async () => {
    const backend = { redis: SHARED_REDIS_URL, namespace };
    let provider!: ReturnType<typeof billingProvider>;
    let bystander!: PluginContext;
    const providerHost = await createHost({
      logger: silentLogger,
      backend,
      plugins: [
        probePlugin('billing-plugin', (c) => (provider = billingProvider(c))),
        probePlugin('bystander', (c) => (bystander = c)),
      ],
    });
    await providerHost.start();
    await provider.ready;
    const { host, app } = await appHost({ backend, resilience: BILLING_POLICY });
    try {
      await assertBillingBreaker(app, bystander, provider.state);
    } finally {
      await Promise.all([host.stop(), providerHost.stop()]);
    }
  });
});
