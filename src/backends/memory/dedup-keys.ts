import { IndexedHeap } from './indexed-heap.js';

interface DedupEntry {
  readonly key: string;
  readonly id: string;
  readonly expiresAt: number;
  heapIndex: number;
}

/**
 * A queue's idempotency keys, each remembered until its window ends. Expired keys are dropped in
 * expiry order whenever the queue is used (a heap, so a key with a short window is not stuck
 * behind a long one): what is kept is bounded by the keys of the windows still open.
 */
export class DedupKeys {
  private readonly entries = new Map<string, DedupEntry>();
  private readonly expiries = new IndexedHeap<DedupEntry>((a, b) => a.expiresAt < b.expiresAt);

  get size(): number {
    return this.entries.size;
  }

  /** The id first enqueued with `key`, while its window is open. */
  get(key: string, now: number): string | undefined {
    this.sweep(now);
    return this.entries.get(key)?.id;
  }

  put(key: string, id: string, expiresAt: number): void {
    const old = this.entries.get(key);
    if (old !== undefined) this.expiries.remove(old);
    const entry: DedupEntry = { key, id, expiresAt, heapIndex: -1 };
    this.entries.set(key, entry);
    this.expiries.push(entry);
  }

  sweep(now: number): void {
    for (let top = this.expiries.peek(); top !== undefined && top.expiresAt <= now;) {
      this.expiries.pop();
      this.entries.delete(top.key);
      top = this.expiries.peek();
    }
  }
}
