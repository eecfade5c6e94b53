import type { Logger } from 'pino';
import type {
  PortSubscription,
  RegistryChange,
  RegistryListener,
  RegistryRecord,
} from '../ports.js';
import { decodeChange, decodeChangeHint } from './entry-codec.js';
import type { BackendFaults } from './faults.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Where watchers read a kind's state and its changes (the registry store, over Redis). */
export interface ChangeSource {
  /** Every live entry of `kind` and the number of the newest logged change, atomically. */
  snapshot(kind: string): Promise<{ records: RegistryRecord[]; seq: number }>;
  /** Logged changes after `after`, oldest first, at most `count` (seq NaN: unparsable id). */
  changes(kind: string, after: number, count: number): Promise<LoggedChange[]>;
  /** Number of the newest logged change (0: none). */
  lastSeq(kind: string): Promise<number>;
}

/** One entry of a kind's change log. */
export interface LoggedChange {
  readonly seq: number;
  readonly frame: Buffer;
}

interface WatchedKind {
  readonly listeners: Set<RegistryListener>;
  /** What this node's watchers were told the kind holds: id → record. */
  readonly mirror: Map<string, RegistryRecord>;
  /** Number of the last logged change applied. */
  seq: number;
  /** Change frames heard before the mirror was seeded (latin1), read once it is. */
  early: string[];
  /** Frames applied from the log whose channel copy has not arrived yet (latin1 → count). */
  readonly applied: Map<string, number>;
  /** Subscribed and seeded: changes may be applied. */
  opened: boolean;
  /** Settles once the channel is subscribed and the mirror seeded. */
  ready?: Promise<void>;
  unsubscribe?: () => Promise<void>;
}

/** Log entries read per command at most. */
const READ_BATCH = 500;
/** Wait before reading the log again after a failed read (Redis slow or away). */
const RETRY_MS = 250;
/** Frames remembered per kind while their channel copy is on its way. */
const MAX_APPLIED = 4096;

/**
 * The watched kinds of one node: one change-channel subscription per kind, however many
 * listeners, plus a mirror of what the listeners were told.
 *
 * Watch events always agree with what Redis holds. Every change is written, in the same
 * script that makes it, to the kind's change log (`{ns}:log:<kind>`, numbered `0-<n>`); the
 * frame published on the kind's channel is only a hint to read that log. Listeners get the
 * logged changes, in order, after the snapshot (`list-entries-3` gives the entries and the log
 * position atomically), read as soon as a frame is heard. A frame on the channel that the log does not back (forged) changes
 * nothing and is counted (`unconfirmedChange`); one that cannot be parsed is dropped and
 * counted (`malformedChange`). A gap in the log (trimmed, or restarted) and every reconnect of
 * the subscriber ({@link resync}) list the kind again and deliver the difference as puts and
 * deletes: watchers converge on Redis's state even across outages and Redis restarts.
 */
export class RegistryWatches {
  private readonly kinds = new Map<string, WatchedKind>();

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly channel: (kind: string) => string,
    private readonly source: ChangeSource,
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
        seq: 0,
        early: [],
        applied: new Map(),
        opened: false,
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
      [...this.kinds].filter(([, s]) => s.opened).map(([kind, s]) => this.relist(kind, s)),
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
    const { records, seq } = await this.source.snapshot(kind);
    for (const record of records) state.mirror.set(record.id, record);
    state.seq = seq;
    state.opened = true;
    if (state.early.length > 0) void this.read(kind, state, state.early.splice(0));
  }

  private receive(kind: string, state: WatchedKind, message: Buffer): void {
    try {
      if (decodeChangeHint(message).kind !== kind)
        throw new RangeError('Change frame of another kind.');
    } catch (error) {
      this.faults.record('malformedChange', { kind, bytes: message.length }, error);
      return;
    }
    const key = message.toString('latin1');
    if (take(state.applied, key)) return; // its log entry was applied already
    if (state.opened) void this.read(kind, state, [key]);
    else state.early.push(key);
  }

  /**
   * Apply the logged changes after `state.seq`, then judge `hints` (frames heard) that the log
   * did not back. Called synchronously on each hint, so the read is written to Redis before
   * anything this node sends in answer to later messages (a cluster barrier's reply): by the
   * time another node hears that reply, this node has the read's answer. Reads may overlap;
   * their answers come in order and entries already applied are skipped.
   */
  private async read(kind: string, state: WatchedKind, hints: string[]): Promise<void> {
    const live = (): boolean => this.kinds.get(kind) === state;
    try {
      for (;;) {
        const batch = await this.source.changes(kind, state.seq, READ_BATCH);
        if (!live()) return;
        let more = batch.length === READ_BATCH;
        for (const change of batch) {
          if (change.seq <= state.seq) continue; // applied by an earlier, overlapping read
          if (change.seq !== state.seq + 1) {
            // Missed changes (log trimmed past us, restarted, or forged): list again.
            await this.relist(kind, state);
            hints = [];
            more = false;
            break;
          }
          state.seq = change.seq;
          this.applyLogged(kind, state, change.frame);
        }
        if (!more || !live()) break;
      }
      const unmatched = hints.filter((hint) => !take(state.applied, hint));
      if (unmatched.length > 0 && live()) {
        // The log may have restarted below us (keys lost): then list again. Else: forged.
        if ((await this.source.lastSeq(kind)) < state.seq) await this.relist(kind, state);
        else this.faults.record('unconfirmedChange', { kind }, undefined, unmatched.length);
      }
    } catch (error) {
      if (!live()) return;
      this.logger.debug({ err: error, kind }, 'Could not read registry changes; retrying');
      setTimeout(() => {
        if (live()) void this.read(kind, state, hints);
      }, RETRY_MS).unref();
    }
  }

  private applyLogged(kind: string, state: WatchedKind, frame: Buffer): void {
    let change: RegistryChange;
    try {
      change = decodeChange(frame);
      const changed = change.type === 'put' ? change.record.kind : change.kind;
      if (changed !== kind) throw new RangeError('Logged change of another kind.');
    } catch (error) {
      this.faults.record('malformedChange', { kind, logged: true }, error);
      return;
    }
    if (state.applied.size >= MAX_APPLIED) state.applied.clear();
    const key = frame.toString('latin1');
    state.applied.set(key, (state.applied.get(key) ?? 0) + 1);
    if (change.type === 'put') state.mirror.set(change.record.id, change.record);
    else state.mirror.delete(change.id);
    this.tell(state, change);
  }

  /** List the kind again and tell listeners the difference to what they were told. */
  private async relist(kind: string, state: WatchedKind): Promise<void> {
    const { records, seq } = await this.source.snapshot(kind);
    if (this.kinds.get(kind) !== state) return;
    state.seq = seq;
    state.applied.clear();
    const seen = new Set<string>();
    for (const record of records) {
      seen.add(record.id);
      const known = state.mirror.get(record.id);
      if (
        known === undefined ||
        known.nodeId !== record.nodeId ||
        !Buffer.from(known.value).equals(record.value)
      ) {
        state.mirror.set(record.id, record);
        this.tell(state, { type: 'put', record });
      }
    }
    for (const known of [...state.mirror.values()]) {
      if (seen.has(known.id)) continue;
      state.mirror.delete(known.id);
      this.tell(state, { type: 'delete', kind, id: known.id, nodeId: known.nodeId });
    }
  }

  private tell(state: WatchedKind, change: RegistryChange): void {
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

/** Take one `key` out of a multiset; true when it was there. */
function take(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key);
  if (n === undefined) return false;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}
