import type { Logger } from 'pino';
import type {
  PortSubscription,
  RegistryChange,
  RegistryListener,
  RegistryRecord,
} from '../ports.js';
import { decodeChange } from './entry-codec.js';
import type { SubscriptionHub } from './subscriptions.js';

interface WatchedKind {
  readonly listeners: Set<RegistryListener>;
  /** What this node believes the kind holds: id → record. Used to repair missed changes. */
  readonly mirror: Map<string, RegistryRecord>;
  /** Settles once the channel is subscribed and the mirror seeded. */
  ready?: Promise<void>;
  unsubscribe?: () => Promise<void>;
}

/**
 * The watched kinds of one node: one change-channel subscription per kind, however many
 * listeners, plus a mirror of the kind's entries. Pub/sub drops whatever passes while the
 * subscriber connection is down, so after every reconnect {@link resync} lists each watched
 * kind and delivers the difference to the mirror as ordinary puts and deletes: watchers end up
 * consistent with Redis even across outages and Redis restarts.
 */
export class RegistryWatches {
  private readonly kinds = new Map<string, WatchedKind>();

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly channel: (kind: string) => string,
    private readonly list: (kind: string) => Promise<RegistryRecord[]>,
    private readonly logger: Logger,
  ) {}

  /** Add a listener of `kind`; resolves once changes are flowing. */
  async watch(kind: string, listener: RegistryListener): Promise<PortSubscription> {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      const created: WatchedKind = { listeners: new Set(), mirror: new Map() };
      created.ready = this.open(kind, created);
      this.kinds.set(kind, (state = created));
    }
    const entry: RegistryListener = (change) => listener(change);
    state.listeners.add(entry);
    const watched = state;
    try {
      await watched.ready;
    } catch (error) {
      // Let the next watch of this kind try afresh.
      if (this.kinds.get(kind) === watched) this.kinds.delete(kind);
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        await this.drop(kind, watched, entry);
      },
    };
  }

  /** After a reconnect: deliver whatever changed while changes could not arrive. */
  async resync(): Promise<void> {
    await Promise.all(
      [...this.kinds].map(async ([kind, state]) => {
        const current = await this.list(kind);
        if (this.kinds.get(kind) !== state) return;
        const seen = new Set<string>();
        for (const record of current) {
          seen.add(record.id);
          const known = state.mirror.get(record.id);
          if (
            known === undefined ||
            known.nodeId !== record.nodeId ||
            !Buffer.from(known.value).equals(record.value)
          ) {
            this.apply(state, { type: 'put', record });
          }
        }
        for (const known of [...state.mirror.values()]) {
          if (!seen.has(known.id))
            this.apply(state, { type: 'delete', kind, id: known.id, nodeId: known.nodeId });
        }
      }),
    );
  }

  /** Forget every listener (the backend is closing). */
  close(): void {
    this.kinds.clear();
  }

  private async open(kind: string, state: WatchedKind): Promise<void> {
    state.unsubscribe = await this.hub.add(this.channel(kind), (message) =>
      this.receive(kind, state, message),
    );
    for (const record of await this.list(kind)) state.mirror.set(record.id, record);
  }

  private receive(kind: string, state: WatchedKind, message: Buffer): void {
    let change: RegistryChange;
    try {
      change = decodeChange(message);
    } catch (error) {
      this.logger.warn({ err: error, kind }, 'Dropped a malformed registry change');
      return;
    }
    this.apply(state, change);
  }

  private apply(state: WatchedKind, change: RegistryChange): void {
    if (change.type === 'put') state.mirror.set(change.record.id, change.record);
    else state.mirror.delete(change.id);
    for (const listener of state.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'Registry listener threw');
      }
    }
  }

  private async drop(kind: string, state: WatchedKind, entry: RegistryListener): Promise<void> {
    state.listeners.delete(entry);
    if (state.listeners.size > 0 || this.kinds.get(kind) !== state) return;
    this.kinds.delete(kind);
    await state.ready?.catch(() => undefined);
    await state.unsubscribe?.();
  }
}
