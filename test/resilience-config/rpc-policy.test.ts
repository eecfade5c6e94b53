/**
 * `resilience.services`: the RPC calls this host's plugins make to a configured service run
 * through its policy (in-process and across an in-process cluster).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import { createRuntime } from '../../src/context/runtime.js';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import {
  appHost,
  assertBillingBreaker,
  BILLING_POLICY,
  billingProvider,
  probePlugin,
  until,
} from './policy-support.js';
import { createHost, type PluginContext } from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';

describe('RPC policies by configuration', () => {
  it('opens the rpc:<service> breaker of the calling node; other services and hosts are untouched', async () => {
    const network = new MemoryNetwork();
    let provider!: ReturnType<typeof billingProvider>;
    let bystander!: PluginContext;
    const providerHost = await createHost({
      nodeId: 'provider',
      logger: silentLogger,
      backend: { memory: network },
      plugins: [
        probePlugin('billing-plugin', (c) => {
          provider = billingProvider(c);
          c.rpcServer.register('echo', { say: (text: string) => text });
        }),
        probePlugin('bystander', (c) => (bystander = c)),
      ],
    });
    await providerHost.start();
    await provider.ready;
    const { host, app } = await appHost({
      backend: { memory: network },
      nodeId: 'caller',
      resilience: BILLING_POLICY,
    });
    try {
      await assertBillingBreaker(app, bystander, provider.state);
      assert.equal(await app.rpcClient.call('echo', 'say', ['hi']), 'hi');
      assert.equal(app.circuitBreakerFactory.get('rpc:echo'), undefined);
    } finally {
      await Promise.all([host.stop(), providerHost.stop()]);
    }
  });

  it('retries an idempotent method by configuration, and a local provider is guarded too', async () => {
    let failures = 2;
    let calls = 0;
    const { host, app } = await appHost({
      // Its handlers never settle: the stop waits for them this long, not the default 5 s.
      deactivateTimeout: 200,
      resilience: {
        services: {
          flaky: { retry: { maxAttempts: 3, backoff: 'fixed', delay: 1, jitter: 'none' } },
        },
      },
    });
    try {
      app.rpcServer.register(
        'flaky',
        {
          run() {
            calls++;
            if (failures-- > 0) throw new Error('transient');
            return 'done';
          },
        },
        { idempotent: ['run'] },
      );
      assert.equal(await app.rpcClient.call('flaky', 'run'), 'done');
      assert.equal(calls, 3);
      failures = 5;
      await assert.rejects(app.rpcClient.call('flaky', 'run'), { message: 'transient' });
      assert.equal(calls, 6, 'three attempts in all');
    } finally {
      await host.stop();
    }
  });

  it('never runs a non-idempotent method twice: only a call that never reached a provider is retried', async () => {
    let calls = 0;
    const { host, app } = await appHost({
      // Its handlers never settle: the stop waits for them this long, not the default 5 s.
      deactivateTimeout: 200,
      resilience: {
        services: {
          charge: { retry: { maxAttempts: 3, backoff: 'fixed', delay: 1, jitter: 'none' } },
          hang: {
            timeout: 50,
            retry: { maxAttempts: 3, backoff: 'fixed', delay: 1, jitter: 'none' },
          },
          wait: {
            timeout: 50,
            retry: { maxAttempts: 3, backoff: 'fixed', delay: 1, jitter: 'none' },
          },
        },
      },
    });
    try {
      // No provider yet: never sent, so every attempt is made.
      await assert.rejects(app.rpcClient.call('charge', 'run'), { code: 'PB_SERVICE_UNAVAILABLE' });
      app.rpcServer.register('charge', {
        run() {
          calls++;
          throw new Error('declined');
        },
      });
      await assert.rejects(app.rpcClient.call('charge', 'run'), { message: 'declined' });
      assert.equal(calls, 1, 'the method ran once: its own error is not retried');
      let hangs = 0;
      app.rpcServer.register('hang', {
        run: () => {
          hangs++;
          return new Promise<never>(() => undefined);
        },
      });
      await assert.rejects(app.rpcClient.call('hang', 'run'), { code: 'PB_TIMEOUT' });
      assert.equal(hangs, 1, 'a timed-out call may have run: not retried');
      let waits = 0;
      app.rpcServer.register(
        'wait',
        {
          run: () => {
            waits++;
            return new Promise<never>(() => undefined);
          },
        },
        { idempotent: ['run'] },
      );
      await assert.rejects(app.rpcClient.call('wait', 'run'), { code: 'PB_TIMEOUT' });
      assert.equal(waits, 3, "an idempotent method is retried after the policy's timeout");
    } finally {
      await host.stop();
    }
  });

  it("the policy's timeout also bounds the call's own deadline, so the provider side gives up too", async () => {
    // A runtime (not a host) to read the provider node's calls in flight.
    const network = new MemoryNetwork();
    const limits = { rpcTimeout: 60_000 };
    const providerRuntime = createRuntime({
      backend: new MemoryBackend({ nodeId: 'slow-provider', network }),
      logger: silentLogger,
      limits,
    });
    const callerRuntime = createRuntime({
      backend: new MemoryBackend({ nodeId: 'slow-caller', network }),
      logger: silentLogger,
      limits,
      resilience: { services: { slow: { timeout: 100 } } },
    });
    await Promise.all([providerRuntime.start(), callerRuntime.start()]);
    const identity = { version: '1.0.0', permissions: undefined, options: {} };
    const provider = providerRuntime.createContext({ name: 'slow-plugin', ...identity });
    const caller = callerRuntime.createContext({ name: 'caller', ...identity });
    try {
      await provider.context.rpcServer.register('slow', {
        hang: () => new Promise<never>(() => undefined),
      }).ready;
      const started = Date.now();
      await assert.rejects(caller.context.rpcClient.call('slow', 'hang'), {
        name: 'TimeoutError',
        code: 'PB_TIMEOUT',
      });
      assert.ok(Date.now() - started < 30_000, 'not the 60 s rpcTimeout');
      assert.equal(providerRuntime.stats().inFlightCalls, 1);
      // The provider got the policy's deadline (100 ms), not the caller's 60 s.
      await until(
        () => providerRuntime.stats().inFlightCalls === 0,
        'the provider to give up',
        30_000,
      );
    } finally {
      await Promise.all([provider.release(1000), caller.release(1000)]);
      await Promise.all([providerRuntime.close(), callerRuntime.close()]);
    }
  });
});
