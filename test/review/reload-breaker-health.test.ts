// After host.reload(), a plugin's health reflects the breakers the running version uses: a
// breaker only the old version created (left open, shared on the node) must not keep the new
// version degraded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost, definePlugin, type CircuitBreaker } from '../../src/index.js';

void describe('reload and breaker health', () => {
  void it('a breaker of the old version does not keep the reloaded plugin degraded', async () => {
    let breaker: CircuitBreaker | undefined;
    const v1 = definePlugin({
      name: 'payments',
      version: '1.0.0',
      activate(context) {
        breaker = context.circuitBreakerFactory.create('legacy-gateway', {
          failureThreshold: 50,
          minimumCalls: 2,
          timeout: 60_000,
        });
      },
    });
    const v2 = definePlugin({ name: 'payments', version: '2.0.0', activate() {} });
    const host = await createHost({ plugins: [v1], logLevel: 'silent' });
    await host.start();
    try {
      for (let i = 0; i < 2; i++)
        await assert.rejects(breaker!.execute(() => Promise.reject(new Error('down'))));
      assert.equal(host.health().plugins['payments']?.degraded, true);
      await host.reload('payments', v2);
      const health = host.health().plugins['payments'];
      assert.equal(health?.state, 'active');
      assert.deepEqual(health?.openBreakers, []);
      assert.equal(health?.degraded, false);
    } finally {
      await host.stop();
    }
  });
});
