import type { Logger } from 'pino';
import type { PortSubscription, RegistryListener, RegistryRecord } from '../ports.js';
import { decodeChangeHint } from './entry-codec.js';
import type { BackendFaults } from './faults.js';
import type { SubscriptionHub } from './subscriptions.js';

interface WatchedKind {
  readonly listeners: Set<RegistryListener>;
  /** What this node's watchers were told the kind holds: id → record. */
  readonly mirror: Map<string, RegistryRecord>;
  /** Ids named by change frames and not confirmed yet → the last change type named. */
  readonly hints: Map<string, 'put' | 'delete'>;
  /** A confirmation round is scheduled or running. */
  confirming: boolean;
  /** Settles once the channel is subscribed and the mirror seeded. */
  ready?: Promise<void>;
  unsubscribe?: () => Promise<void>;
}

/** Ids confirmed per script call at most. */
const CONFIRM_BATCH = 500;
/** Wait before confirming again after a failed confirmation (Redis slow or away). */
const CONFIRM_RETRY_MS = 250;

/**
 * The watched kinds of one node: one change-channel subscription per kind, however many
 * listeners, plus a mirror of what the listeners were told.
 *
 * Watch events always agree with what Redis holds. A change frame is only a hint that an entry
 * changed: its id is confirmed against Redis (`read`: the entry, well formed, with a live
 * owner, in one script call for all hints of a tick) and the listeners get the difference
 * between that state and the mirror. A forged or stale frame therefore changes nothing (it is
 * counted as `unconfirmedChange`), and a frame that cannot be parsed is dropped and counted
 * (`malformedChange`). Pub/sub drops whatever passes while the subscriber connection is down,
 * so after every reconnect {@link resync} lists each watched kind and delivers the difference
 * the same way: watchers converge on Redis's state even across outages and Redis restarts.
 */
export class RegistryWatches {
  private readonly kinds = new Map<string, WatchedKind>();

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly channel: (kind: string) => string,
    private readonly list: (kind: string) => Promise<RegistryRecord[]>,
    /** The current entries of these ids (undefined: absent or not live), in order. */
    private readonly read: (kind: string, ids: string[]) => Promise<Array<RegistryRecord | undefined>>,
    private readonly logger: Logger,
    private readonly faults: BackendFaults,
  ) {}

  /** Add a listener of `kind`; resolves once changes are flowing. */
  async watch(kind: string, listener: RegistryListener): Promise<PortSubscription> {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      const created: WatchedKind = {
        listeners: new Set(),
        mirror: new Map(),
        hints: new Map(),
        confirming: false,
      };
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
          this.reconcile(state, record.id, record);
        }
        for (const id of [...state.mirror.keys()]) {
          if (!seen.has(id)) this.reconcile(state, id, undefined);
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
    let hint: ReturnType<typeof decodeChangeHint>;
    try {
      hint = decodeChangeHint(message);
      if (hint.kind !== kind) throw new RangeError('Change frame of another kind.');
    } catch (error) {
      this.faults.record('malformedChange', { kind, bytes: message.length }, error);
      return;
    }
    state.hints.set(hint.id, hint.type);
    if (state.confirming) return;
    state.confirming = true;
    // Every hint of this tick is confirmed in one script call.
    setImmediate(() => void this.confirm(kind, state));
  }

  /** Read the hinted ids from Redis and tell listeners what really changed. */
  private async confirm(kind: string, state: WatchedKind): Promise<void> {
    while (state.hints.size > 0 && this.kinds.get(kind) === state) {
      const hints = [...state.hints].slice(0, CONFIRM_BATCH);
      for (const [id] of hints) state.hints.delete(id);
      let records: Array<RegistryRecord | undefined>;
      try {
        records = await this.read(
          kind,
          hints.map(([id]) => id),
        );
      } catch (error) {
        if (this.kinds.get(kind) !== state) return;
        // Not confirmed: look again shortly (newer hints of the same ids win).
        for (const [id, type] of hints) if (!state.hints.has(id)) state.hints.set(id, type);
        this.logger.debug({ err: error, kind }, 'Could not confirm registry changes; retrying');
        setTimeout(() => void this.confirm(kind, state), CONFIRM_RETRY_MS).unref();
        return;
      }
      if (this.kinds.get(kind) !== state) return;
      hints.forEach(([id, type], i) => {
        const record = records[i];
        const changed = this.reconcile(state, id, record);
        // A frame Redis does not back up: forged, or overtaken by a later change.
        if (!changed && (type === 'put') !== (record !== undefined))
          this.faults.record('unconfirmedChange', { kind, id, type });
      });
    }
    state.confirming = false;
  }

  /** Bring the mirror of `id` to `record` (undefined: absent); true when listeners were told. */
  private reconcile(state: WatchedKind, id: string, record: RegistryRecord | undefined): boolean {
    const known = state.mirror.get(id);
    if (record === undefined) {
      if (known === undefined) return false;
      state.mirror.delete(id);
      this.tell(state, { type: 'delete', kind: known.kind, id, nodeId: known.nodeId });
      return true;
    }
    if (
      known !== undefined &&
      known.nodeId === record.nodeId &&
      Buffer.from(known.value).equals(record.value)
    )
      return false;
    state.mirror.set(id, record);
    this.tell(state, { type: 'put', record });
    return true;
  }

  private tell(state: WatchedKind, change: Parameters<RegistryListener>[0]): void {
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
