/** `resilience.queues`: this host's consumers of a configured queue run through its policy. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginErrorEvent } from '../../src/index.js';
import { appHost, assertQueueBreaker, queueBreakerPolicy, until } from './policy-support.js';

describe('queue policies by configuration', () => {
  it('an open breaker holds deliveries back without spending attempts or dead-lettering', async () => {
    const { host, app } = await appHost({ resilience: queueBreakerPolicy('emails') });
    try {
      await assertQueueBreaker(app, 'emails');
    } finally {
      await host.stop();
    }
  });

  it('deliveries a full bulkhead refuses wait in the consumer, uncounted, and all run once', async () => {
    const { host, app } = await appHost({
      resilience: { queues: { reports: { bulkhead: { maxConcurrent: 1 } } } },
    });
    try {
      // Sent first, so the consumer's first claim holds all three at once.
      for (const n of [1, 2, 3]) await app.messageQueue.send('reports', n);
      const seen: Array<{ data: unknown; attempt: number }> = [];
      let running = 0;
      let most = 0;
      app.messageQueue.receive(
        'reports',
        async (message) => {
          most = Math.max(most, ++running);
          seen.push({ data: message.data, attempt: message.attempt });
          await new Promise((resolve) => setImmediate(resolve));
          running--;
        },
        { concurrency: 3 },
      );
      await until(() => seen.length === 3, 'three deliveries');
      assert.equal(most, 1, 'one at a time: the bulkhead refused the others');
      assert.deepEqual(
        seen.map((s) => s.attempt),
        [1, 1, 1],
      );
      assert.deepEqual(seen.map((s) => s.data).sort(), [1, 2, 3]);
      assert.equal((await app.messageQueue.stats('reports')).dead, 0);
    } finally {
      await host.stop();
    }
  });

  it('retries inside one delivery, and times out each attempt through the message signal', async () => {
    const { host, app } = await appHost({
      resilience: {
        queues: {
          flaky: { retry: { maxAttempts: 3, backoff: 'fixed', delay: 1, jitter: 'none' } },
          slow: { timeout: 50 },
        },
      },
    });
    const errors: PluginErrorEvent[] = [];
    app.eventBus.subscribe('plugin.error', (e) => void errors.push(e as PluginErrorEvent));
    try {
      const calls: number[] = [];
      let failures = 2;
      app.messageQueue.receive('flaky', (message) => {
        calls.push(message.attempt);
        if (failures-- > 0) throw new Error('transient');
      });
      await app.messageQueue.send('flaky', 1);
      await until(() => calls.length === 3, 'three handler calls');
      // One delivery, retried inside the policy: the same attempt, no failure reported.
      assert.deepEqual(calls, [1, 1, 1]);

      const aborted: unknown[] = [];
      app.messageQueue.receive('slow', (message) => {
        message.signal.addEventListener('abort', () => aborted.push(message.signal.reason));
        return new Promise<void>(() => undefined);
      });
      const id = await app.messageQueue.send('slow', 'never done');
      await until(() => errors.some((e) => e.event === 'queue.slow'), 'the timeout reported');
      assert.equal((aborted[0] as Error).name, 'TimeoutError');
      const report = errors.find((e) => e.event === 'queue.slow')!;
      assert.equal(report.code, 'PB_TIMEOUT');
      assert.equal(report.traceId, id);
      assert.equal(errors.filter((e) => e.event === 'queue.flaky').length, 0);
      // A plain send has no retries: the timed-out delivery is dead-lettered.
      await until(async () => (await app.messageQueue.stats('slow')).dead === 1, 'the dead letter');
      const dead = await app.messageQueue.deadLetters('slow');
      assert.deepEqual(
        dead.map((d) => d.id),
        [id],
      );
    } finally {
      await host.stop();
    }
  });
});
