import { ValidationError } from '../../errors/errors.js';
import type { TxDecision, TxLogRecord } from '../ports.js';
import { IndexedHeap, type HeapItem } from './indexed-heap.js';
import type { TxOp, TxOpParticipant } from './tx-log-ops.js';

/** One record as the state keeps it (mutable; callers only ever get copies). */
interface TxEntry extends HeapItem {
  readonly id: string;
  coordinator: string;
  createdAt: number;
  decision: TxDecision | undefined;
  reasons: readonly string[];
  participants: TxOpParticipant[];
  leaseOwner: string;
  leaseUntil: number;
  /** Finite once finished: when the record goes. */
  removeAt: number;
}

/** A copy a caller may keep and mutate without touching the log. */
function toRecord(e: TxEntry): TxLogRecord {
  return {
    id: e.id,
    coordinator: e.coordinator,
    createdAt: e.createdAt,
    decision: e.decision,
    reasons: [...e.reasons],
    participants: e.participants.map((p) => ({
      resource: p.resource,
      work: p.work.slice(),
      done: p.done,
    })),
    leaseOwner: e.leaseOwner,
    leaseUntil: e.leaseUntil,
    finished: e.removeAt !== Infinity,
  };
}

/**
 * The coordinator log's records and the rules of the port, applied synchronously (so each call
 * is atomic, as a server-side script would be). Every change is an op handed to `sink` (the file
 * log appends it; in memory it is dropped). Bounded: a finished record leaves at its removal
 * time (lazily on every call, and by one unref'd timer); unfinished ones stay until finished.
 */
export class MemoryTxLogState {
  private readonly entries = new Map<string, TxEntry>();
  private readonly unfinished = new Map<string, TxEntry>();
  private readonly removals = new IndexedHeap<TxEntry>((a, b) => a.removeAt < b.removeAt);
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly sink: (op: TxOp) => void = () => undefined) {}

  /** Records held (finished ones within their retention included). */
  get size(): number {
    return this.entries.size;
  }

  open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
    now: number,
  ): void {
    this.sweep(now);
    if (this.entries.has(id)) {
      throw new ValidationError(`Transaction "${id}" is already in the transaction log.`, {
        details: { field: 'id', id },
      });
    }
    this.change({
      o: 'open',
      id,
      owner,
      at: now,
      until: now + leaseMs,
      participants: participants.map((p) => ({
        resource: p.resource,
        work: p.work.slice(),
        done: false,
      })),
    });
  }

  decide(id: string, decision: TxDecision, reasons: readonly string[], now: number): TxDecision {
    this.sweep(now);
    const entry = this.entries.get(id);
    if (entry?.decision !== undefined) return entry.decision;
    // No record at all: presumed abort, whatever was asked.
    const d = entry === undefined ? 'abort' : decision;
    this.change({ o: 'decide', id, decision: d, reasons: [...reasons], at: now });
    return d;
  }

  /** Out-of-range `index` on a record throws ValidationError. */
  markDone(id: string, index: number, now: number): boolean {
    this.sweep(now);
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    const participant = entry.participants[index];
    if (participant === undefined) {
      throw new ValidationError(
        `Transaction "${id}" has ${entry.participants.length} participants; no index ${index}.`,
        { details: { field: 'index', id, index } },
      );
    }
    if (participant.done) return false;
    this.change({ o: 'done', id, index });
    return true;
  }

  finish(id: string, retentionMs: number, now: number): void {
    this.sweep(now);
    const entry = this.entries.get(id);
    if (entry === undefined || entry.removeAt !== Infinity) return;
    this.change({ o: 'finish', id, removeAt: now + retentionMs });
    this.sweep(now);
  }

  get(id: string, now: number): TxLogRecord | undefined {
    this.sweep(now);
    const entry = this.entries.get(id);
    return entry === undefined ? undefined : toRecord(entry);
  }

  renew(id: string, owner: string, leaseMs: number, now: number): boolean {
    this.sweep(now);
    const entry = this.entries.get(id);
    if (entry === undefined || entry.leaseOwner !== owner) return false;
    if (entry.removeAt === Infinity) this.change({ o: 'lease', id, owner, until: now + leaseMs });
    return true;
  }

  claimExpired(owner: string, leaseMs: number, limit: number, now: number): TxLogRecord[] {
    this.sweep(now);
    const lapsed: TxEntry[] = [];
    for (const entry of this.unfinished.values()) {
      if (lapsed.length >= limit) break;
      if (entry.leaseUntil <= now) lapsed.push(entry);
    }
    return lapsed.map((entry) => {
      this.change({ o: 'lease', id: entry.id, owner, until: now + leaseMs });
      return toRecord(entry);
    });
  }

  unfinishedFor(resource: string, limit: number, now: number): TxLogRecord[] {
    this.sweep(now);
    const found: TxLogRecord[] = [];
    for (const entry of this.unfinished.values()) {
      if (found.length >= limit) break;
      if (entry.participants.some((p) => p.resource === resource)) found.push(toRecord(entry));
    }
    return found;
  }

  /** Every record as one op each: what a compacted file holds. */
  snapshot(now: number): TxOp[] {
    this.sweep(now);
    return [...this.entries.values()].map((e) => ({
      o: 'rec',
      id: e.id,
      coordinator: e.coordinator,
      createdAt: e.createdAt,
      decision: e.decision,
      reasons: e.reasons,
      participants: e.participants,
      leaseOwner: e.leaseOwner,
      leaseUntil: e.leaseUntil,
      removeAt: e.removeAt === Infinity ? undefined : e.removeAt,
    }));
  }

  /** Apply an op read back from the file (no sink: it is already there). */
  replay(op: TxOp): void {
    this.apply(op);
  }

  /**
   * Lapse every lease now: read back from a file this network locks, they were held by hosts
   * that are gone (a dead or stopped process), so recovery need not wait them out.
   */
  voidLeases(now: number): void {
    for (const entry of this.unfinished.values())
      entry.leaseUntil = Math.min(entry.leaseUntil, now);
  }

  /** Forget everything (the file holds it; it is read again when next opened). */
  clear(): void {
    this.entries.clear();
    this.unfinished.clear();
    this.removals.clear();
    this.schedule();
  }

  private change(op: TxOp): void {
    this.apply(op);
    this.sink(op);
  }

  private apply(op: TxOp): void {
    const entry = this.entries.get(op.id);
    switch (op.o) {
      case 'open':
        if (entry === undefined) {
          this.add(op.id, op.owner, op.at, undefined, [], op.participants, op.owner, op.until);
        }
        return;
      case 'decide':
        if (entry === undefined) this.add(op.id, '', op.at, op.decision, op.reasons, [], '', op.at);
        else if (entry.decision === undefined) {
          entry.decision = op.decision;
          entry.reasons = op.reasons;
        }
        return;
      case 'done': {
        const p = entry?.participants[op.index];
        if (p !== undefined && !p.done) entry!.participants[op.index] = { ...p, done: true };
        return;
      }
      case 'finish':
        if (entry !== undefined && entry.removeAt === Infinity) this.finished(entry, op.removeAt);
        return;
      case 'lease':
        if (entry !== undefined) {
          entry.leaseOwner = op.owner;
          entry.leaseUntil = op.until;
          // To the back of the line: records that keep failing do not starve the others.
          if (this.unfinished.delete(op.id)) this.unfinished.set(op.id, entry);
        }
        return;
      case 'rec': {
        if (entry !== undefined) this.remove(entry);
        const e = this.add(op.id, op.coordinator, op.createdAt, op.decision, op.reasons, [
          ...op.participants,
        ]);
        e.leaseOwner = op.leaseOwner;
        e.leaseUntil = op.leaseUntil;
        if (op.removeAt !== undefined) this.finished(e, op.removeAt);
        return;
      }
    }
  }

  private add(
    id: string,
    coordinator: string,
    createdAt: number,
    decision: TxDecision | undefined,
    reasons: readonly string[],
    participants: readonly TxOpParticipant[],
    leaseOwner = coordinator,
    leaseUntil = createdAt,
  ): TxEntry {
    const entry: TxEntry = {
      id,
      coordinator,
      createdAt,
      decision,
      reasons,
      participants: [...participants],
      leaseOwner,
      leaseUntil,
      removeAt: Infinity,
      heapIndex: -1,
    };
    this.entries.set(id, entry);
    this.unfinished.set(id, entry);
    return entry;
  }

  private finished(entry: TxEntry, removeAt: number): void {
    entry.removeAt = removeAt;
    this.unfinished.delete(entry.id);
    this.removals.push(entry);
    this.schedule();
  }

  private remove(entry: TxEntry): void {
    this.entries.delete(entry.id);
    this.unfinished.delete(entry.id);
    this.removals.remove(entry);
  }

  /** Drop finished records whose retention lapsed. */
  sweep(now: number): void {
    let top = this.removals.peek();
    if (top === undefined || top.removeAt > now) return;
    while (top !== undefined && top.removeAt <= now) {
      this.remove(top);
      top = this.removals.peek();
    }
    this.schedule();
  }

  /** One unref'd timer at the next removal, so an idle log still lets go of finished records. */
  private schedule(): void {
    const next = this.removals.peek()?.removeAt ?? Infinity;
    if (next === this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.sweep(Date.now());
        this.schedule();
      },
      Math.max(0, next - Date.now()),
    );
    this.timer.unref();
  }
}
