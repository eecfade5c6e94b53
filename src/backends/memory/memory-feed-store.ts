import type { ChangeFeedStore, FeedEntry, FeedRetention, PortSubscription } from '../ports.js';
import { rejectClosed } from './closed.js';

/** One collection's log: kept entries are `entries[head..]`, seqs contiguous. */
interface MemoryFeed {
  entries: FeedEntry[];
  head: number;
  lastSeq: number;
  lastTimestamp: number;
  readonly listeners: Set<(entry?: FeedEntry) => void>;
  readonly cursors: Map<string, number>;
}

/** State shared by every node of one in-process network (a server's worth). */
export class MemoryFeedState {
  readonly feeds = new Map<string, MemoryFeed>();

  feed(collection: string): MemoryFeed {
    let feed = this.feeds.get(collection);
    if (feed === undefined) {
      feed = {
        entries: [],
        head: 0,
        lastSeq: 0,
        lastTimestamp: 0,
        listeners: new Set(),
        cursors: new Map(),
      };
      this.feeds.set(collection, feed);
    }
    return feed;
  }

  /** Forget `collection` if it only ever had watchers (no change, no cursor, none watching). */
  dropIfUnused(collection: string, feed: MemoryFeed): void {
    if (feed.lastSeq === 0 && feed.cursors.size === 0 && feed.listeners.size === 0)
      if (this.feeds.get(collection) === feed) this.feeds.delete(collection);
  }
}

/** Entries dropped from the front before the array is compacted (amortised O(1) trimming). */
const COMPACT_AFTER = 1024;

/** Change feeds of an in-process network: bounded by each append's retention. */
export class MemoryFeedStore implements ChangeFeedStore {
  private readonly subscriptions = new Set<() => void>();
  private closed = false;

  constructor(
    readonly nodeId: string,
    readonly state: MemoryFeedState,
  ) {}

  append(collection: string, data: Uint8Array, retention: FeedRetention): Promise<FeedEntry> {
    if (this.closed) return rejectClosed();
    const feed = this.state.feed(collection);
    const timestamp = Math.max(Date.now(), feed.lastTimestamp);
    const entry: FeedEntry = { seq: ++feed.lastSeq, timestamp, data };
    feed.lastTimestamp = timestamp;
    feed.entries.push(entry);
    trim(feed, retention, timestamp);
    // Delivered after this call returns, as a network would.
    const listeners = [...feed.listeners];
    queueMicrotask(() => {
      for (const listener of listeners) listener(entry);
    });
    return Promise.resolve(entry);
  }

  read(collection: string, afterSeq: number, limit: number): Promise<FeedEntry[]> {
    if (this.closed) return rejectClosed();
    const feed = this.state.feeds.get(collection);
    if (feed === undefined || feed.head >= feed.entries.length) return Promise.resolve([]);
    const first = (feed.entries[feed.head] as FeedEntry).seq;
    const from = feed.head + Math.max(0, afterSeq + 1 - first);
    return Promise.resolve(feed.entries.slice(from, from + Math.max(0, limit)));
  }

  seqBefore(collection: string, timestampMs: number): Promise<number> {
    if (this.closed) return rejectClosed();
    const feed = this.state.feeds.get(collection);
    if (feed === undefined) return Promise.resolve(0);
    // Timestamps never decrease along a feed: binary search the first at or after the time.
    let low = feed.head;
    let high = feed.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((feed.entries[mid] as FeedEntry).timestamp < timestampMs) low = mid + 1;
      else high = mid;
    }
    const found = feed.entries[low];
    return Promise.resolve(found === undefined ? feed.lastSeq : found.seq - 1);
  }

  lastSeq(collection: string): Promise<number> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.state.feeds.get(collection)?.lastSeq ?? 0);
  }

  watch(collection: string, listener: (entry?: FeedEntry) => void): Promise<PortSubscription> {
    if (this.closed) return rejectClosed();
    const feed = this.state.feed(collection);
    const wrapped = (entry?: FeedEntry): void => listener(entry);
    feed.listeners.add(wrapped);
    const remove = (): void => {
      feed.listeners.delete(wrapped);
      this.subscriptions.delete(remove);
      this.state.dropIfUnused(collection, feed);
    };
    this.subscriptions.add(remove);
    return Promise.resolve({
      close: () => {
        remove();
        return Promise.resolve();
      },
    });
  }

  saveCursor(collection: string, name: string, seq: number): Promise<void> {
    if (this.closed) return rejectClosed();
    this.state.feed(collection).cursors.set(name, seq);
    return Promise.resolve();
  }

  loadCursor(collection: string, name: string): Promise<number | undefined> {
    if (this.closed) return rejectClosed();
    return Promise.resolve(this.state.feeds.get(collection)?.cursors.get(name));
  }

  /** Drop this node's listeners (the feeds themselves outlive nodes). */
  close(): void {
    this.closed = true;
    for (const remove of [...this.subscriptions]) remove();
  }
}

function trim(feed: MemoryFeed, retention: FeedRetention, now: number): void {
  const cutoff = now - retention.maxAgeMs;
  while (
    feed.head < feed.entries.length &&
    (feed.entries.length - feed.head > retention.maxChanges ||
      (feed.entries[feed.head] as FeedEntry).timestamp < cutoff)
  )
    feed.head++;
  if (feed.head >= COMPACT_AFTER && feed.head * 2 >= feed.entries.length) {
    feed.entries = feed.entries.slice(feed.head);
    feed.head = 0;
  }
}
