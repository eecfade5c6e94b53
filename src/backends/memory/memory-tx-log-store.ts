import { ValidationError } from '../../errors/errors.js';
import type { TransactionLogStore, TxDecision, TxLogRecord } from '../ports.js';
import { rejectClosed } from './closed.js';
import type { MemoryNetwork } from './memory-network.js';

/** Longest id, owner or resource name the log takes (a record key, not a payload). */
const MAX_NAME = 1024;

function invalid(field: string, message: string): Promise<never> {
  return Promise.reject(new ValidationError(message, { details: { field } }));
}

const isName = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;
const isMs = (v: unknown, min: number): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function validParticipants(list: readonly { resource: string; work: Uint8Array }[]): boolean {
  if (!Array.isArray(list)) return false;
  for (const p of list as readonly unknown[]) {
    const entry = p as { resource?: unknown; work?: unknown } | null;
    if (entry === null || !isName(entry.resource) || !(entry.work instanceof Uint8Array)) {
      return false;
    }
  }
  return true;
}

/** The first field of `checks` that fails, as a rejected promise; undefined when all pass. */
function check(checks: Record<string, boolean>): Promise<never> | undefined {
  for (const [field, ok] of Object.entries(checks)) {
    if (!ok) return invalid(field, `Transaction log: invalid "${field}".`);
  }
  return undefined;
}

/**
 * The embedded backend's coordinator log, over the log of its {@link MemoryNetwork} (shared by
 * the network's nodes; in memory, or file-backed: the host's durable default).
 */
export class MemoryTxLogStore implements TransactionLogStore {
  private closed = false;

  constructor(
    readonly nodeId: string,
    private readonly network: MemoryNetwork,
  ) {}

  open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
  ): Promise<void> {
    return (
      this.refused() ??
      check({
        id: isName(id),
        owner: isName(owner),
        participants: validParticipants(participants),
        leaseMs: isMs(leaseMs, 1),
      }) ??
      this.network.txLog.run(true, (s, now) => s.open(id, owner, participants, leaseMs, now))
    );
  }

  decide(id: string, decision: TxDecision, reasons: readonly string[]): Promise<TxDecision> {
    return (
      this.refused() ??
      check({
        id: isName(id),
        decision: decision === 'commit' || decision === 'abort',
        reasons: Array.isArray(reasons) && reasons.every((r) => typeof r === 'string'),
      }) ??
      this.network.txLog.run(true, (s, now) => s.decide(id, decision, reasons, now))
    );
  }

  markDone(id: string, index: number): Promise<boolean> {
    return (
      this.refused() ??
      check({ id: isName(id), index: isCount(index) }) ??
      this.network.txLog.run(true, (s, now) => s.markDone(id, index, now))
    );
  }

  finish(id: string, retentionMs: number): Promise<void> {
    return (
      this.refused() ??
      check({ id: isName(id), retentionMs: isMs(retentionMs, 0) }) ??
      this.network.txLog.run(true, (s, now) => s.finish(id, retentionMs, now))
    );
  }

  get(id: string): Promise<TxLogRecord | undefined> {
    return (
      this.refused() ??
      check({ id: isName(id) }) ??
      this.network.txLog.run(false, (s, now) => s.get(id, now))
    );
  }

  renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    return (
      this.refused() ??
      check({ id: isName(id), owner: isName(owner), leaseMs: isMs(leaseMs, 1) }) ??
      this.network.txLog.run(true, (s, now) => s.renew(id, owner, leaseMs, now))
    );
  }

  claimExpired(owner: string, leaseMs: number, limit: number): Promise<TxLogRecord[]> {
    return (
      this.refused() ??
      check({ owner: isName(owner), leaseMs: isMs(leaseMs, 1), limit: isCount(limit) }) ??
      this.network.txLog.run(false, (s, now) => s.claimExpired(owner, leaseMs, limit, now))
    );
  }

  unfinishedFor(resource: string, limit: number): Promise<TxLogRecord[]> {
    return (
      this.refused() ??
      check({ resource: isName(resource), limit: isCount(limit) }) ??
      this.network.txLog.run(false, (s, now) => s.unfinishedFor(resource, limit, now))
    );
  }

  close(): void {
    this.closed = true;
  }

  /** A closed store, or a crashed node (a dead process writes nothing), refuses every call. */
  private refused(): Promise<never> | undefined {
    return this.closed || this.network.crashed(this.nodeId) ? rejectClosed() : undefined;
  }
}
