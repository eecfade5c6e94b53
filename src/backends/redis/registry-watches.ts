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

/**
 * A place in a kind's change log: the entry `<epoch>-<seq>`. The epoch names one life of the
 * log (a log created afresh, e.g. after Redis restarted empty, has another); '' and 0: no log.
 */
export interface LogPosition {
  readonly epoch: string;
  readonly seq: number;
}

/** Every live entry of a kind and the log position they stand at. */
export interface Snapshot extends LogPosition {
  readonly records: RegistryRecord[];
}

/** Where watchers read a kind's state and its changes (the registry store, over Redis). */
export interface ChangeSource {
  /** Every live entry of `kind` and the position of the newest logged change, atomically. */
  snapshot(kind: string): Promise<Snapshot>;
  /**
   * Logged changes after `after` (entries of a later epoch included), oldest first, at most
   * `count` (seq NaN: unparsable id).
   */
  changes(kind: string, after: LogPosition, count: number): Promise<LoggedChange[]>;
  /** Position of the newest logged change ('' and 0: none). */
  last(kind: string): Promise<LogPosition>;
  /**
   * The record a logged put really carries, or undefined when it fails the cluster's
   * authentication (forged; counted by the source). Absent: every record is taken as it is.
   */
  open?(record: RegistryRecord): RegistryRecord | undefined;
}

/** One entry of a kind's change log. */
export interface LoggedChange extends LogPosition {
  readonly frame: Buffer;
}

/** A change frame heard on the channel: its bytes (latin1) and its number in hearing order. */
interface Hint {
  readonly key: string;
  readonly n: number;
}

interface WatchedKind {
  readonly listeners: Set<RegistryListener>;
  /** What this node's watchers were told the kind holds: id → record. */
  readonly mirror: Map<string, RegistryRecord>;
  /** Epoch of the log the mirror follows ('' before any change was logged). */
  epoch: string;
  /** Number of the last logged change applied. */
  seq: number;
  /** Frames heard so far (numbers the next hint). */
  heard: number;
  /** Hints numbered below this were heard before the last listing applied was asked for. */
  listedBefore: number;
  /** Listings applied so far: a read that sees this change reads again from the new position. */
  listings: number;
  /** Change frames heard before the mirror was seeded, read once it is. */
  early: Hint[];
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
 * script that makes it, to the kind's change log (`{ns}:log:<kind>`, ids `<epoch>-<n>`: n + 1
 * per change, the epoch new whenever the log is created afresh, e.g. after Redis restarted
 * empty); the frame published on the kind's channel is only a hint to read that log. Listeners
 * get the logged changes, in order, after the snapshot (`list-entries-3` gives the entries and
 * the log position atomically), read as soon as a frame is heard. A frame on the channel that
 * the log does not back (forged) changes nothing and is counted (`unconfirmedChange`); one that
 * cannot be parsed is dropped and counted (`malformedChange`). A gap in the log (trimmed), a log
 * of another epoch (restarted) and every reconnect of the subscriber ({@link resync}) list the
 * kind again and deliver the difference as puts and deletes: watchers converge on Redis's state
 * even across outages and Redis restarts. A read's answer is judged against the position it was
 * asked from, so a listing landing meanwhile never makes a real change look forged, and a
 * listing never moves the mirror back past changes already applied.
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
        epoch: '',
        seq: 0,
        heard: 0,
        listedBefore: 0,
        listings: 0,
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
    const heard = state.heard;
    const { records, epoch, seq } = await this.source.snapshot(kind);
    for (const record of records) state.mirror.set(record.id, record);
    state.epoch = epoch;
    state.seq = seq;
    state.listedBefore = heard;
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
    const hint: Hint = { key, n: state.heard++ };
    if (state.opened) void this.read(kind, state, [hint]);
    else state.early.push(hint);
  }

  /**
   * Apply the logged changes after the mirror's position, then judge `hints` (frames heard)
   * that the log did not back. Called synchronously on each hint, so the read is written to
   * Redis before anything this node sends in answer to later messages (a cluster barrier's
   * reply): by the time another node hears that reply, this node has the read's answer. Reads
   * may overlap; entries already applied are skipped. An answer is only judged against the
   * position it was asked from: when a listing lands meanwhile (it may be older than the
   * hints, and in another epoch), the read starts again from the listing's position, keeping
   * the hints the listing does not cover.
   */
  private async read(kind: string, state: WatchedKind, hints: Hint[]): Promise<void> {
    const live = (): boolean => this.kinds.get(kind) === state;
    try {
      for (;;) {
        const listings = state.listings;
        const relisted = (): boolean => state.listings !== listings;
        hints = hints.filter((hint) => hint.n >= state.listedBefore);
        let gap = false;
        for (let more = true; more && !gap && !relisted();) {
          const batch = await this.source.changes(kind, position(state), READ_BATCH);
          if (!live()) return;
          if (relisted()) break;
          more = batch.length === READ_BATCH;
          for (const change of batch) {
            if (change.epoch === state.epoch && change.seq <= state.seq) continue; // applied
            if (!follows(state, change)) {
              gap = true; // trimmed past us, another epoch (log restarted), or an odd id
              break;
            }
            this.applyLogged(kind, state, change);
          }
        }
        if (relisted()) continue;
        // A listing asked for after every hint was heard covers them all.
        if (gap) return await this.relist(kind, state);
        hints = hints.filter((hint) => !take(state.applied, hint.key));
        if (hints.length === 0) return;
        // Not in the log after the position read. The log may have restarted in an earlier
        // epoch (or shrunk): then list again. Else the frames are forged. Judged against that
        // position, not the mirror's when the answer comes: other reads may move it meanwhile.
        const read = position(state);
        const last = await this.source.last(kind);
        if (!live()) return;
        if (relisted()) continue;
        if (last.epoch !== read.epoch || last.seq < read.seq) return await this.relist(kind, state);
        this.faults.record('unconfirmedChange', { kind }, undefined, hints.length);
        return;
      }
    } catch (error) {
      if (!live()) return;
      this.logger.debug({ err: error, kind }, 'Could not read registry changes; retrying');
      setTimeout(() => {
        if (live()) void this.read(kind, state, hints);
      }, RETRY_MS).unref();
    }
  }

  private applyLogged(kind: string, state: WatchedKind, logged: LoggedChange): void {
    if (logged.epoch !== state.epoch) state.applied.clear(); // frames of the old log never come
    state.epoch = logged.epoch;
    state.seq = logged.seq;
    let change: RegistryChange;
    try {
      change = decodeChange(logged.frame);
      const changed = change.type === 'put' ? change.record.kind : change.kind;
      if (changed !== kind) throw new RangeError('Logged change of another kind.');
    } catch (error) {
      this.faults.record('malformedChange', { kind, logged: true }, error);
      return;
    }
    if (change.type === 'put' && this.source.open !== undefined) {
      const record = this.source.open(change.record);
      if (record === undefined) return;
      change = { type: 'put', record };
    }
    if (state.applied.size >= MAX_APPLIED) state.applied.clear();
    const key = logged.frame.toString('latin1');
    state.applied.set(key, (state.applied.get(key) ?? 0) + 1);
    if (change.type === 'put') state.mirror.set(change.record.id, change.record);
    else state.mirror.delete(change.id);
    this.tell(state, change);
  }

  /**
   * List the kind again and tell listeners the difference to what they were told. A listing
   * never moves the mirror back: one that answers after reads moved the mirror past it in the
   * same epoch is dropped, and one from another epoch than a mirror that moved meanwhile is
   * asked for again (which of the two is newer is unknown).
   */
  private async relist(kind: string, state: WatchedKind): Promise<void> {
    for (;;) {
      const heard = state.heard;
      const asked = position(state);
      const listings = state.listings;
      const { records, epoch, seq } = await this.source.snapshot(kind);
      if (this.kinds.get(kind) !== state) return;
      // Frames whose channel copy was lost would otherwise swallow identical later frames.
      state.applied.clear();
      const moved =
        state.listings !== listings || state.epoch !== asked.epoch || state.seq !== asked.seq;
      if (moved && epoch === state.epoch && seq <= state.seq) {
        // The mirror already stands at or past this listing, which covers the hints heard
        // before it was asked for: so does the mirror.
        state.listedBefore = Math.max(state.listedBefore, heard);
        return;
      }
      if (moved && epoch !== state.epoch) continue;
      state.epoch = epoch;
      state.seq = seq;
      state.listings++;
      state.listedBefore = Math.max(state.listedBefore, heard);
      this.applyListing(kind, state, records);
      return;
    }
  }

  private applyListing(kind: string, state: WatchedKind, records: RegistryRecord[]): void {
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

/** Where the mirror of `state` stands in the kind's log. */
function position(state: WatchedKind): LogPosition {
  return { epoch: state.epoch, seq: state.seq };
}

/**
 * Whether `change` is the log entry right after the mirror's position: the next number in the
 * same epoch, or the first entry of a log that did not exist when the mirror was seeded.
 */
function follows(state: WatchedKind, change: LogPosition): boolean {
  return (
    change.seq === state.seq + 1 &&
    (change.epoch === state.epoch || (state.epoch === '' && state.seq === 0))
  );
}

/** Take one `key` out of a multiset; true when it was there. */
function take(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key);
  if (n === undefined) return false;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}
