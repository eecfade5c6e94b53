import type { Logger } from 'pino';
import type { LockWakeListener, PortSubscription } from '../ports.js';
import type { SubscriptionHub } from './subscriptions.js';

/** How long a resource's channel stays subscribed after its last watcher left, ms. */
export const LINGER_MS = 5000;
/** At most this many channels linger without a watcher; the oldest is unsubscribed first. */
export const MAX_LINGERING = 64;

type Listener = LockWakeListener;
/** A message as the listener's arguments. */
export type WakeDecoder = (message: Buffer) => Parameters<LockWakeListener>;

interface Channel {
  readonly listeners: Set<Listener>;
  /** Settles once Redis confirmed the SUBSCRIBE (rejects if it could not). */
  readonly ready: Promise<void>;
  /** True once `ready` resolved: a new watcher takes effect without a round trip. */
  live: boolean;
  /** Set while the channel lingers without watchers. */
  linger: NodeJS.Timeout | undefined;
  unsubscribe: (() => Promise<void>) | undefined;
}

/**
 * The wake-up channels of lock resources on one node, kept subscribed for {@link LINGER_MS}
 * after their last watcher left: under contention every waiting acquire watches its resource,
 * and a SUBSCRIBE/UNSUBSCRIBE pair per acquire would put a round trip into each hand-over.
 * Bounded: at most {@link MAX_LINGERING} idle channels (the oldest idle one is dropped first);
 * {@link close} drops them all.
 */
export class LockChannels {
  private readonly channels = new Map<string, Channel>();
  /** Idle (lingering) channels, oldest first. */
  private readonly idle = new Set<string>();
  private closed = false;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly logger: Logger,
  ) {}

  /** True when `channel` is subscribed already: a watch of it needs no round trip. */
  isLive(channel: string): boolean {
    return this.channels.get(channel)?.live === true;
  }

  /** Channels subscribed without a watcher (for tests and health). */
  get lingering(): number {
    return this.idle.size;
  }

  async watch(channel: string, listener: Listener, decode: WakeDecoder): Promise<PortSubscription> {
    const state = this.channels.get(channel) ?? this.open(channel, decode);
    this.wanted(channel, state);
    // Wrapped so the same function watched twice is two listeners.
    const entry: Listener = (next, holderTtlMs) => listener(next, holderTtlMs);
    state.listeners.add(entry);
    try {
      await state.ready;
    } catch (error) {
      this.leave(channel, state, entry);
      throw error;
    }
    return { close: () => Promise.resolve(this.leave(channel, state, entry)) };
  }

  /**
   * The subscriber connection dropped: wake every watcher (a wake-up may have been lost), and no
   * longer count the channels as live (until they are dropped and subscribed afresh, watchers
   * try once more after watching, as on a first SUBSCRIBE).
   */
  wakeAll(): void {
    for (const state of this.channels.values()) {
      state.live = false;
      for (const listener of [...state.listeners]) queueMicrotask(() => listener());
    }
  }

  close(): void {
    this.closed = true;
    for (const [channel, state] of [...this.channels]) this.drop(channel, state);
  }

  private open(channel: string, decode: WakeDecoder): Channel {
    const state: Channel = {
      listeners: new Set(),
      ready: Promise.resolve(),
      live: false,
      linger: undefined,
      unsubscribe: undefined,
    };
    const ready = this.hub
      .add(channel, (message) => {
        const wake = decode(message);
        for (const listener of [...state.listeners]) listener(...wake);
      })
      .then((remove) => {
        state.unsubscribe = remove;
        // Dropped (closed, or evicted) before Redis confirmed: give the subscription back.
        if (this.channels.get(channel) !== state) void this.quietly(channel, remove);
        else state.live = true;
      });
    // A failed SUBSCRIBE forgets the channel: the next watcher tries again.
    ready.catch(() => {
      if (this.channels.get(channel) === state) this.drop(channel, state);
    });
    (state as { ready: Promise<void> }).ready = ready;
    this.channels.set(channel, state);
    return state;
  }

  private wanted(channel: string, state: Channel): void {
    if (state.linger === undefined) return;
    clearTimeout(state.linger);
    state.linger = undefined;
    this.idle.delete(channel);
  }

  private leave(channel: string, state: Channel, entry: Listener): void {
    state.listeners.delete(entry);
    if (state.listeners.size > 0 || this.channels.get(channel) !== state) return;
    if (this.closed || !state.live) return this.drop(channel, state);
    state.linger = setTimeout(() => this.drop(channel, state), LINGER_MS);
    state.linger.unref();
    this.idle.add(channel);
    if (this.idle.size > MAX_LINGERING) {
      const oldest = this.idle.values().next().value as string;
      const victim = this.channels.get(oldest);
      if (victim !== undefined) this.drop(oldest, victim);
    }
  }

  private drop(channel: string, state: Channel): void {
    if (state.linger !== undefined) clearTimeout(state.linger);
    state.linger = undefined;
    this.idle.delete(channel);
    if (this.channels.get(channel) === state) this.channels.delete(channel);
    state.live = false;
    for (const listener of [...state.listeners]) queueMicrotask(() => listener());
    state.listeners.clear();
    if (state.unsubscribe !== undefined) void this.quietly(channel, state.unsubscribe);
  }

  private quietly(channel: string, remove: () => Promise<void>): Promise<void> {
    return remove().catch((error: unknown) => {
      this.logger.debug({ err: error, channel }, 'could not unsubscribe a lock channel');
    });
  }
}
