import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ActivityKind, ActivityRing } from '../../../src/backends/memory/activity-ring.js';
import { DedupKeys } from '../../../src/backends/memory/dedup-keys.js';
import { IndexedHeap } from '../../../src/backends/memory/indexed-heap.js';
import {
  MemoryQueueState,
  MemoryQueueStore,
} from '../../../src/backends/memory/memory-queue-store.js';
import { ReadyQueue } from '../../../src/backends/memory/ready-queue.js';

interface Item {
  key: number;
  heapIndex: number;
}

describe('memory queue structures', () => {
  it('IndexedHeap: pops in key order after removals and re-keys anywhere in the heap', () => {
    const heap = new IndexedHeap<Item>((a, b) => a.key < b.key);
    const items = [50, 10, 40, 30, 20, 60, 0, 70].map((key) => ({ key, heapIndex: -1 }));
    for (const item of items) heap.push(item);
    assert.equal(heap.remove(items[2]!), true); // 40, from the middle
    assert.equal(heap.remove(items[2]!), false, 'removed already');
    assert.equal(items[2]!.heapIndex, -1);
    items[6]!.key = 65; // 0 -> 65: from the top to near the bottom
    heap.update(items[6]!);
    items[7]!.key = 5; // 70 -> 5: from a leaf to the top
    heap.update(items[7]!);
    const out: number[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item.key);
    assert.deepEqual(out, [5, 10, 20, 30, 50, 60, 65]);
    assert.equal(heap.size, 0);
  });

  it('ReadyQueue: higher priority first, FIFO within one, empty buckets dropped', () => {
    const ready = new ReadyQueue<{ priority: number; name: string }>();
    const m = (name: string, priority: number) => ({ name, priority });
    const gone = m('gone', 3);
    for (const item of [m('a0', 0), m('b5', 5), gone, m('c-2', -2), m('d5', 5), m('e0', 0)])
      ready.push(item);
    assert.equal(ready.remove(gone), true);
    assert.equal(ready.remove(gone), false);
    assert.equal(ready.size, 5);
    const out: string[] = [];
    for (let item = ready.shift(); item !== undefined; item = ready.shift()) out.push(item.name);
    assert.deepEqual(out, ['b5', 'd5', 'a0', 'e0', 'c-2']);
    assert.equal(ready.size, 0);
    // A bucket drained and filled again keeps working (its priority is back in the order).
    ready.push(m('x', 5));
    ready.push(m('y', 9));
    assert.deepEqual([ready.shift()?.name, ready.shift()?.name], ['y', 'x']);
  });

  it('ActivityRing: counts the last 60 s, forgets older seconds, reuses buckets', () => {
    const ring = new ActivityRing();
    const t0 = 1_700_000_000_000;
    ring.record(ActivityKind.Enqueued, t0);
    ring.record(ActivityKind.Enqueued, t0 + 999);
    ring.record(ActivityKind.Completed, t0 + 30_000);
    ring.record(ActivityKind.Failed, t0 + 59_000);
    assert.deepEqual(ring.totals(t0 + 59_500), { enqueued: 2, completed: 1, failed: 1 });
    // One minute on, t0's second has left the window.
    assert.deepEqual(ring.totals(t0 + 60_000), { enqueued: 0, completed: 1, failed: 1 });
    // t0's bucket comes round again: reset before it is reused.
    ring.record(ActivityKind.Failed, t0 + 60_000);
    assert.deepEqual(ring.totals(t0 + 60_000), { enqueued: 0, completed: 1, failed: 2 });
    assert.deepEqual(ring.totals(t0 + 10 * 60_000), { enqueued: 0, completed: 0, failed: 0 });
  });

  it('DedupKeys: a key is remembered for its window only, and expired keys are dropped', () => {
    const keys = new DedupKeys();
    keys.put('long', 'id-1', 10_000);
    keys.put('short', 'id-2', 1_000);
    assert.equal(keys.get('short', 999), 'id-2');
    assert.equal(keys.get('short', 1_000), undefined);
    assert.equal(keys.size, 1, 'the short key went, though the long one is older');
    keys.put('long', 'id-3', 20_000); // replaced: its old expiry no longer drops it
    keys.sweep(15_000);
    assert.equal(keys.get('long', 15_000), 'id-3');
    keys.sweep(20_000);
    assert.equal(keys.size, 0);
  });

  it('store: idempotency keys of a busy queue do not pile up past their window', async () => {
    const state = new MemoryQueueState();
    const store = new MemoryQueueStore(state);
    try {
      // A window long enough for a loaded machine to enqueue all 50 inside it.
      const windowMs = 1_000;
      const expired = Date.now() + windowMs;
      for (let i = 0; i < 50; i++)
        await store.enqueue('q', Uint8Array.of(i), { dedupKey: `k${i}`, dedupMs: windowMs });
      const lastAt = Date.now();
      if (lastAt < expired) assert.equal(state.queues.get('q')!.dedup.size, 50);
      // Until the last key's window ended (a clock wait: the window is the thing under test).
      while (Date.now() <= lastAt + windowMs) await new Promise((r) => setTimeout(r, 50));
      await store.enqueue('q', Uint8Array.of(0)); // any use of the queue drops expired keys
      assert.equal(state.queues.get('q')!.dedup.size, 0);
      const activity = await store.activity('q');
      assert.equal(activity.enqueued, 51);
      assert.ok(activity.windowMs >= 1000 && activity.windowMs <= 60_000);
      // A queue nobody used has done nothing for the whole window.
      const never = await store.activity('never');
      assert.deepEqual(Object.values(never), [0, 0, 0, 0, 0, 0, 0, 60_000]);
      assert.equal(state.queues.has('never'), false, 'reading a queue does not create it');
    } finally {
      store.close();
    }
  });
});
