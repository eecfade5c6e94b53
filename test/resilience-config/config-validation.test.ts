/** `createHost({ resilience })` is checked when the host is created, naming the field. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createHost,
  definePlugin,
  type PluginContext,
  type ResilienceOptions,
} from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';

/** createHost must throw a ValidationError whose details.field is `field`. */
async function refused(resilience: unknown, field: string): Promise<void> {
  await assert.rejects(
    async () => createHost({ logger: silentLogger, resilience: resilience as ResilienceOptions }),
    (error: Error & { code?: string; details?: { field?: string } }) => {
      assert.equal(error.name, 'ValidationError');
      assert.equal(error.code, 'PB_VALIDATION');
      assert.equal(error.details?.field, field, error.message);
      assert.ok(error.message.includes(field), error.message);
      return true;
    },
  );
}

describe('resilience host option validation', () => {
  it('refuses a malformed option, naming the field', async () => {
    await refused('fast', 'resilience');
    await refused({ servcies: {} }, 'resilience.servcies');
    await refused({ services: [] }, 'resilience.services');
    await refused({ services: { 'bad name!': {} } }, 'resilience.services.bad name!');
    await refused(
      { services: { billing: { timeout: -1 } } },
      'resilience.services.billing.timeout',
    );
    await refused({ services: { billing: { timout: 100 } } }, 'resilience.services.billing.timout');
    await refused(
      { services: { billing: { breaker: { failureThreshold: 150 } } } },
      'resilience.services.billing.breaker.failureThreshold',
    );
    await refused(
      { services: { billing: { breaker: { name: 'b', minimumCalls: 0.5 } } } },
      'resilience.services.billing.breaker.minimumCalls',
    );
    await refused(
      { services: { billing: { breaker: '' } } },
      'resilience.services.billing.breaker',
    );
    await refused(
      { services: { billing: { retry: { maxAttempts: 0 } } } },
      'resilience.services.billing.retry.maxAttempts',
    );
    await refused(
      { queues: { emails: { retry: { backoff: 'linear' } } } },
      'resilience.queues.emails.retry.backoff',
    );
    await refused(
      { queues: { emails: { bulkhead: { maxQueue: 3 } } } },
      'resilience.queues.emails.bulkhead.maxConcurrent',
    );
  });

  it('refuses two entries that would share one breaker with different options', async () => {
    await refused(
      {
        services: {
          billing: { breaker: { name: 'payments', failureThreshold: 50 } },
          refunds: { breaker: { name: 'payments', failureThreshold: 20 } },
        },
      },
      'resilience.services.refunds.breaker.failureThreshold',
    );
  });

  it("accepts a valid option; the breakers are the node's, named rpc:<service> unless named", async () => {
    let context!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      resilience: {
        services: {
          billing: { timeout: 200, breaker: { failureThreshold: 50, minimumCalls: 5 } },
          shipping: { breaker: { name: 'carrier', timeout: 1000 }, retry: { maxAttempts: 2 } },
          // A breaker by name alone: created with the defaults unless some plugin made it.
          tax: { breaker: 'tax-api' },
        },
        queues: { emails: { bulkhead: { maxConcurrent: 2 }, breaker: {} } },
      },
      plugins: [
        definePlugin({ name: 'app', version: '1.0.0', activate: (c) => void (context = c) }),
      ],
    });
    await host.start();
    try {
      const names = context.circuitBreakerFactory
        .list()
        .map((b) => b.name)
        .sort();
      assert.deepEqual(names, ['carrier', 'queue:emails', 'rpc:billing', 'tax-api']);
      assert.equal(context.circuitBreakerFactory.get('rpc:billing')!.state, 'closed');
    } finally {
      await host.stop();
    }
  });
});
