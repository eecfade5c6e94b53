import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { bytes, type BackendHarness, type HarnessFactory } from './harness.js';

/**
 * Lease tokens (QueueStore port): unique per delivery and opaque, so no token but the current
 * delivery's settles a message: not another message's, not an earlier delivery's, and not a
 * token guessed from the attempt number.
 */
export function queueLeaseConformance(name: string, factory: HarnessFactory): void {
  describe(`QueueStore lease tokens: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let q: string;
    beforeEach(async () => {
      harness = await factory();
      a = await harness.create();
      await a.start();
      q = `q.lease${Math.random().toString(36).slice(2, 8)}`;
    });
    afterEach(() => harness.cleanup());

    const lease = { count: 10, leaseMs: 5000, waitMs: 0 };

    it('gives every delivery its own token, and only that token settles it', async () => {
      await a.queues.enqueue(q, bytes('one'));
      await a.queues.enqueue(q, bytes('two'));
      const [one, two] = await a.queues.claim(q, 'c', lease);
      assert.ok(one && two);
      assert.equal(one.attempt, two.attempt);
      assert.notEqual(one.lease, two.lease, 'two messages, two tokens');
      // Neither another message's token nor the attempt number settles a message.
      assert.equal(await a.queues.ack(q, one.id, two.lease), false);
      assert.equal(await a.queues.extend(q, two.id, one.lease, 5000), false);
      assert.equal(await a.queues.ack(q, one.id, String(one.attempt)), false);
      assert.equal(await a.queues.deadLetter(q, two.id, String(two.attempt), 'guess'), false);

      // Released and claimed again: a new token; the earlier delivery's token settles nothing.
      assert.equal(await a.queues.release(q, one.id, one.lease, 0), true);
      const [again] = await a.queues.claim(q, 'c', lease);
      assert.ok(again && again.id === one.id && again.attempt === one.attempt + 1);
      assert.notEqual(again.lease, one.lease);
      assert.equal(await a.queues.ack(q, again.id, one.lease), false);
      assert.equal(await a.queues.ack(q, again.id, again.lease), true);
      assert.equal(await a.queues.ack(q, two.id, two.lease), true);
      assert.deepEqual(await a.queues.counts(q), { ready: 0, delayed: 0, leased: 0, dead: 0 });
    });
  });
}
