import type { LockAttempt, LockStore, LockWakeListener, PortSubscription } from '../ports.js';
import { rejectClosed } from './closed.js';

/** One resource: its holder (if any) and its line of waiters. */
interface LockEntry {
  owner: string | undefined;
  /** When the holder's lock lapses (monotonic ms). */
  expiresAt: number;
  token: number;
  /** Waiter → when its place lapses (monotonic ms); a Map keeps arrival order. */
  readonly line: Map<string, number>;
}

/** Sweep lapsed entries once the map grew this much past its size after the last sweep. */
const SWEEP_SLACK = 1024;

/** Monotonic time in ms (never goes back, unlike the wall clock). */
function monotonicMs(): number {
  return performance.now();
}

/** Epoch µs from the monotonic clock (the base of fencing tokens). */
function epochMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * State shared by every node of one in-process network (a server's worth). Bounded: a resource
 * nobody holds and nobody waits for has no entry (free entries are dropped when touched and by a
 * sweep as the map grows). Tokens come from one counter for all resources, `max(last + 1, µs)`,
 * so dropping an entry never lets a resource's token go back.
 */
export class MemoryLockState {
  readonly entries = new Map<string, LockEntry>();
  readonly watchers = new Map<string, Set<LockWakeListener>>();
  private lastToken = 0;
  private sweptSize = 0;

  nextToken(): number {
    this.lastToken = Math.max(this.lastToken + 1, epochMicros());
    return this.lastToken;
  }

  /** The entry of `resource` with lapsed waiters pruned and a lapsed holder cleared. */
  entry(resource: string, now: number): LockEntry | undefined {
    const entry = this.entries.get(resource);
    if (entry === undefined) return undefined;
    for (const [waiter, until] of entry.line) if (until <= now) entry.line.delete(waiter);
    if (entry.owner !== undefined && entry.expiresAt <= now) entry.owner = undefined;
    return entry;
  }

  /** Drop the entry of `resource` if nobody holds it and nobody waits. */
  dropIfFree(resource: string, entry: LockEntry): void {
    if (entry.owner === undefined && entry.line.size === 0) this.entries.delete(resource);
  }

  created(resource: string, entry: LockEntry): void {
    this.entries.set(resource, entry);
    if (this.entries.size < this.sweptSize + SWEEP_SLACK) return;
    const now = monotonicMs();
    for (const name of [...this.entries.keys()]) {
      const e = this.entry(name, now);
      if (e !== undefined) this.dropIfFree(name, e);
    }
    this.sweptSize = this.entries.size;
  }

  /**
   * Wake the watchers of `resource`, naming the first waiter in its line; with `holderTtlMs`
   * (a grant from the line) that waiter only learns the new holder's TTL.
   */
  notify(resource: string, entry: LockEntry, holderTtlMs?: number): void {
    const listeners = this.watchers.get(resource);
    const next = entry.line.keys().next().value;
    if (listeners === undefined || next === undefined) return;
    // After the caller's state change settled, like a message from a server.
    queueMicrotask(() => {
      for (const listener of [...listeners]) listener(next, holderTtlMs);
    });
  }
}

/** {@link LockStore} over a {@link MemoryLockState} shared by the nodes of one network. */
export class MemoryLockStore implements LockStore {
  private closed = false;
  private readonly subscriptions = new Set<() => void>();

  constructor(
    readonly nodeId: string,
    readonly state: MemoryLockState,
  ) {}

  acquire(resource: string, owner: string, ttlMs: number, lineMs: number): Promise<LockAttempt> {
    if (this.closed) return rejectClosed();
    const now = monotonicMs();
    let entry = this.state.entry(resource, now);
    if (entry?.owner === owner) {
      entry.expiresAt = now + ttlMs;
      return Promise.resolve({ granted: true, fencingToken: entry.token });
    }
    const head = entry?.line.keys().next().value;
    if (
      entry !== undefined &&
      (entry.owner !== undefined || (head !== undefined && head !== owner))
    ) {
      // Busy, or free but someone arrived first: keep (or take) a place in the line.
      const headUntil = head === undefined ? now : entry.line.get(head)!;
      if (lineMs > 0) entry.line.set(owner, now + lineMs);
      const holderTtlMs = entry.owner !== undefined ? entry.expiresAt - now : headUntil - now;
      return Promise.resolve({ granted: false, holderTtlMs: Math.max(1, Math.ceil(holderTtlMs)) });
    }
    if (entry === undefined) {
      entry = { owner: undefined, expiresAt: 0, token: 0, line: new Map() };
      this.state.created(resource, entry);
    }
    // Taken from the line: the waiter now first in it learns the new holder's TTL (no attempt).
    const fromLine = entry.line.delete(owner);
    entry.owner = owner;
    entry.expiresAt = now + ttlMs;
    entry.token = this.state.nextToken();
    if (fromLine) this.state.notify(resource, entry, ttlMs);
    return Promise.resolve({ granted: true, fencingToken: entry.token });
  }

  leave(resource: string, owner: string): Promise<void> {
    if (this.closed) return rejectClosed();
    const entry = this.state.entry(resource, monotonicMs());
    if (entry?.line.delete(owner) === true) {
      this.state.dropIfFree(resource, entry);
      if (entry.owner === undefined) this.state.notify(resource, entry);
    }
    return Promise.resolve();
  }

  release(resource: string, owner: string): Promise<boolean> {
    if (this.closed) return rejectClosed();
    const entry = this.state.entry(resource, monotonicMs());
    if (entry === undefined || entry.owner !== owner) return Promise.resolve(false);
    entry.owner = undefined;
    this.state.dropIfFree(resource, entry);
    this.state.notify(resource, entry);
    return Promise.resolve(true);
  }

  extend(resource: string, owner: string, ttlMs: number): Promise<boolean> {
    if (this.closed) return rejectClosed();
    const now = monotonicMs();
    const entry = this.state.entry(resource, now);
    if (entry === undefined || entry.owner !== owner) return Promise.resolve(false);
    entry.expiresAt = now + ttlMs;
    return Promise.resolve(true);
  }

  watch(resource: string, listener: LockWakeListener): Promise<PortSubscription> {
    if (this.closed) return rejectClosed();
    let listeners = this.state.watchers.get(resource);
    if (listeners === undefined) this.state.watchers.set(resource, (listeners = new Set()));
    const set = listeners;
    // Wrapped so the same function watched twice is two listeners.
    const entry: LockWakeListener = (next, holderTtlMs) => listener(next, holderTtlMs);
    set.add(entry);
    const remove = (): void => {
      this.subscriptions.delete(remove);
      set.delete(entry);
      if (set.size === 0 && this.state.watchers.get(resource) === set)
        this.state.watchers.delete(resource);
    };
    this.subscriptions.add(remove);
    return Promise.resolve({ close: () => Promise.resolve(remove()) });
  }

  close(): void {
    this.closed = true;
    for (const remove of [...this.subscriptions]) remove();
  }
}
