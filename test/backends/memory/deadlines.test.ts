import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MemoryQueueState,
  MemoryQueueStore,
} from '../../../src/backends/memory/memory-queue-store.js';
import { MemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import { MemoryTransport } from '../../../src/backends/memory/memory-transport.js';
import { Deadlines } from '../../../src/util/deadlines.js';

void describe('memory transport request deadlines', () => {
  void it("keeps each request's deadline in the scheduler, not in a timer per request", async () => {
    const network = new MemoryNetwork();
    const deadlines = new Deadlines();
    const caller = new MemoryTransport('a', network, network.join('a'), { deadlines });
    const callee = new MemoryTransport('b', network, network.join('b'));
    const answers: Array<() => void> = [];
    await callee.respond(
      'svc',
      () => new Promise<Uint8Array>((resolve) => answers.push(() => resolve(Uint8Array.of(7)))),
    );
    try {
      const answered = caller.request('b', 'svc', Uint8Array.of(1), Date.now() + 60_000);
      const late = caller.request('b', 'svc', Uint8Array.of(2), Date.now() + 30);
      assert.equal(deadlines.size, 2);
      await assert.rejects(late, (e: { code?: string }) => e.code === 'PB_TIMEOUT');
      assert.equal(deadlines.size, 1);
      answers[0]!();
      assert.deepEqual([...(await answered)], [7]);
      assert.equal(deadlines.size, 0, 'an answered request cancels its deadline');
      // The timed-out request's late answer changes nothing.
      answers[1]!();
    } finally {
      deadlines.close();
      caller.close();
      callee.close();
    }
  });

  void it('queue store: a claim waits on a deadline in the scheduler, and work wakes it', async () => {
    const deadlines = new Deadlines();
    const store = new MemoryQueueStore(new MemoryQueueState(), { deadlines });
    try {
      const claim = store.claim('q', 'c1', { count: 1, leaseMs: 1000, waitMs: 60_000 });
      // The queue is empty: the claim waits (from its first, synchronous look).
      await Promise.resolve();
      assert.equal(deadlines.size, 1);
      await store.enqueue('q', Uint8Array.of(1));
      assert.equal((await claim).length, 1);
      assert.equal(deadlines.size, 0, 'the woken wait cancelled its deadline');
      const empty = await store.claim('q', 'c1', { count: 1, leaseMs: 1000, waitMs: 20 });
      assert.deepEqual(empty, []);
      assert.equal(deadlines.size, 0);
    } finally {
      store.close();
      deadlines.close();
    }
  });
});
