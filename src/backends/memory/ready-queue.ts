/** Something with a priority that waits in a {@link ReadyQueue}. */
export interface Prioritized {
  readonly priority: number;
}

/** One priority's messages in arrival order: an array with a moving head, compacted as it drains. */
class Fifo<T> {
  items: T[] = [];
  head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined as T; // let it be collected
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  remove(item: T): boolean {
    const index = this.items.indexOf(item, this.head);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }
}

/**
 * Ready messages by priority: higher first, arrival order within one priority. One FIFO per
 * priority in use and the priorities in use, sorted: claiming is O(1) however many messages
 * wait, and a priority's bucket goes away once it is empty.
 */
export class ReadyQueue<T extends Prioritized> {
  private readonly buckets = new Map<number, Fifo<T>>();
  /** Priorities that have a bucket, highest first. */
  private readonly order: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    let bucket = this.buckets.get(item.priority);
    if (bucket === undefined) {
      this.buckets.set(item.priority, (bucket = new Fifo()));
      let at = 0;
      while (at < this.order.length && this.order[at]! > item.priority) at++;
      this.order.splice(at, 0, item.priority);
    }
    bucket.items.push(item);
    this.count++;
  }

  shift(): T | undefined {
    const priority = this.order[0];
    if (priority === undefined) return undefined;
    const bucket = this.buckets.get(priority)!;
    const item = bucket.shift()!;
    this.count--;
    if (bucket.size === 0) this.drop(priority);
    return item;
  }

  remove(item: T): boolean {
    const bucket = this.buckets.get(item.priority);
    if (bucket?.remove(item) !== true) return false;
    this.count--;
    if (bucket.size === 0) this.drop(item.priority);
    return true;
  }

  clear(): void {
    this.buckets.clear();
    this.order.length = 0;
    this.count = 0;
  }

  private drop(priority: number): void {
    this.buckets.delete(priority);
    this.order.splice(this.order.indexOf(priority), 1);
  }
}
