import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MemoryQueueState,
  MemoryQueueStore,
} from '../../../src/backends/memory/memory-queue-store.js';
import { MemoryQueue } from '../../../src/backends/memory/memory-queue.js';
import { Deadlines, type DeadlineEntry } from '../../../src/util/deadlines.js';

/**
 * A scheduler whose claim waits never end by themselves: whatever wakes a waiting claim is
 * then the queue's own due-time timer (or new work), never the 10 ms sweeper.
 */
class SilentDeadlines extends Deadlines {
  pending = 0;
  calls = 0;
  override at(_epochMs: number, _onExpire: () => void): DeadlineEntry {
    this.pending++;
    this.calls++;
    let live = true;
    return {
      cancel: () => {
        if (!live) return false;
        live = false;
        this.pending--;
        return true;
      },
    };
  }
}

/** `promise`, or a failure after `ms` (a ref'd timer: it keeps the process alive meanwhile, as a claim's own deadline does). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('memory queue: precise due-time wake-ups and lease tokens', () => {
  it("a message falling due between the claim's look and its wait still wakes the claim", async () => {
    // The clock ticks past the due time right after the claim found nothing due: the timer
    // must be armed from the time of that look, not from a later reading.
    const realNow = Date.now;
    const take = Object.getOwnPropertyDescriptor(MemoryQueue.prototype, 'take')!;
    let clock = realNow();
    Date.now = () => clock;
    const original = take.value as MemoryQueue['take'];
    MemoryQueue.prototype.take = function (this: MemoryQueue, ...args) {
      const taken = original.apply(this, args);
      if (taken.length === 0) clock += 1;
      return taken;
    };
    const deadlines = new SilentDeadlines();
    const store = new MemoryQueueStore(new MemoryQueueState(), { deadlines });
    try {
      await store.enqueue('q', Uint8Array.of(7), { notBefore: clock + 1 });
      const claimed = await withTimeout(
        store.claim('q', 'c1', { count: 1, leaseMs: 60_000, waitMs: 60_000 }),
        2_000,
        'message due between look and wait',
      );
      assert.equal(claimed[0]?.payload[0], 7);
    } finally {
      Object.defineProperty(MemoryQueue.prototype, 'take', take);
      Date.now = realNow;
      store.close();
      deadlines.close();
    }
  });

  it('a waiting claim gets a delayed message when it falls due, not on a sweeper tick', async () => {
    const state = new MemoryQueueState();
    const deadlines = new SilentDeadlines();
    const store = new MemoryQueueStore(state, { deadlines });
    try {
      const lateness: number[] = [];
      for (let i = 0; i < 5; i++) {
        const due = Date.now() + 40;
        await store.enqueue('q', Uint8Array.of(i), { notBefore: due });
        const claimed = await withTimeout(
          store.claim('q', 'c1', { count: 1, leaseMs: 60_000, waitMs: 60_000 }),
          5_000,
          'delayed message delivered',
        );
        lateness.push(Date.now() - due);
        assert.equal(claimed.length, 1);
        assert.equal(claimed[0]!.payload[0], i);
        await store.ack('q', claimed[0]!.id, claimed[0]!.lease);
      }
      assert.ok(
        lateness.every((ms) => ms >= 0),
        `never early: ${lateness.join(', ')}`,
      );
      // One timer per due time: on an idle machine 0-1 ms late; the bound leaves room for load.
      const sorted = [...lateness].sort((a, b) => a - b);
      assert.ok(sorted[2]! <= 5, `median lateness ${sorted[2]} ms (${lateness.join(', ')})`);
      assert.equal(state.queues.get('q')!.hasDueTimer, false, 'no timer once nobody waits');
      assert.equal(deadlines.pending, 0);
    } finally {
      store.close();
      deadlines.close();
    }
  });

  it('the timer is dropped when the waiting claim stops, and follows an earlier due time', async () => {
    const state = new MemoryQueueState();
    const deadlines = new SilentDeadlines();
    const store = new MemoryQueueStore(state, { deadlines });
    try {
      await store.enqueue('q', Uint8Array.of(1), { delayMs: 60_000 });
      const q = state.queues.get('q')!;
      assert.equal(q.hasDueTimer, false, 'nobody waits: no timer');
      const stop = new AbortController();
      const waiting = store.claim('q', 'c1', {
        count: 1,
        leaseMs: 1000,
        waitMs: 60_000,
        signal: stop.signal,
      });
      await Promise.resolve();
      assert.equal(q.hasDueTimer, true, 'a claim waits for the message due in a minute');
      stop.abort();
      assert.deepEqual(await waiting, []);
      assert.equal(q.hasDueTimer, false, 'the claim stopped waiting: timer cleared');

      // A message due sooner than the one armed for wakes the waiting claim at its own time.
      const claim = store.claim('q', 'c1', { count: 1, leaseMs: 1000, waitMs: 60_000 });
      await Promise.resolve();
      await store.enqueue('q', Uint8Array.of(2), { delayMs: 30 });
      const got = await withTimeout(claim, 5_000, 'sooner message delivered');
      assert.equal(got[0]!.payload[0], 2);
    } finally {
      store.close();
      deadlines.close();
    }
  });

  it('no timer for a message already due that a rate limit holds back (the claim waits for the window)', async () => {
    const state = new MemoryQueueState();
    const deadlines = new SilentDeadlines();
    const store = new MemoryQueueStore(state, { deadlines });
    try {
      const rateLimit = { max: 1, intervalMs: 60_000 };
      await store.enqueue('q', Uint8Array.of(1));
      const options = { count: 1, leaseMs: 60_000, waitMs: 60_000, rateLimit };
      const [first] = await store.claim('q', 'c1', options);
      // Given back, due at once, but the window is used up: a redelivery held back by the limit.
      assert.equal(await store.release('q', first!.id, first!.lease, 0), true);
      const stop = new AbortController();
      const held = store.claim('q', 'c1', { ...options, signal: stop.signal });
      await Promise.resolve();
      const waits = deadlines.calls;
      assert.equal(deadlines.pending, 1, 'the claim waits for the window to end');
      assert.equal(state.queues.get('q')!.hasDueTimer, false);
      // (A timer for the past due time would wake the claim every millisecond.)
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(deadlines.calls, waits, 'the claim did not look again');
      stop.abort();
      assert.deepEqual(await held, []);
    } finally {
      store.close();
      deadlines.close();
    }
  });

  it('lease tokens: unique per delivery, one random prefix per claim', async () => {
    const store = new MemoryQueueStore(new MemoryQueueState());
    try {
      for (let i = 0; i < 40; i++) await store.enqueue('q', Uint8Array.of(i));
      const first = await store.claim('q', 'c1', { count: 20, leaseMs: 60_000, waitMs: 0 });
      const second = await store.claim('q', 'c1', { count: 20, leaseMs: 60_000, waitMs: 0 });
      const tokens = [...first, ...second].map((m) => m.lease);
      assert.equal(new Set(tokens).size, 40, 'every delivery has its own token');
      const prefix = (t: string): string => t.slice(0, t.lastIndexOf('.'));
      assert.equal(new Set(first.map((m) => prefix(m.lease))).size, 1);
      assert.notEqual(prefix(first[0]!.lease), prefix(second[0]!.lease));
      assert.ok(prefix(first[0]!.lease).length >= 16, 'a 96-bit random prefix');
      // A token of one delivery settles nothing of another, even in the same claim.
      assert.equal(await store.ack('q', first[0]!.id, first[1]!.lease), false);
      assert.equal(await store.ack('q', first[0]!.id, first[0]!.lease), true);
    } finally {
      store.close();
    }
  });
});
