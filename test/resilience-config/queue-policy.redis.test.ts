/** `resilience.queues` on the shared Redis (own namespace, deleted after). */
import { after, describe, it } from 'node:test';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { appHost, assertQueueBreaker, queueBreakerPolicy } from './policy-support.js';

describe('queue policies by configuration on Redis', () => {
  const namespace = uniqueNamespace('qpol');
  after(() => deleteNamespace(SHARED_REDIS_URL, namespace));

  it('an open breaker holds deliveries back without spending attempts or dead-lettering', async () => {
    const { host, app } = await appHost({
      backend: { redis: SHARED_REDIS_URL, namespace },
      resilience: queueBreakerPolicy('emails'),
    });
    try {
      await assertQueueBreaker(app, 'emails');
    } finally {
      await host.stop();
    }
  });
});
