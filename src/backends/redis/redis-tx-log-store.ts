import { BackendUnavailableError, ValidationError } from '../../errors/errors.js';
import type { TransactionLogStore, TxDecision, TxLogRecord } from '../ports.js';
import { BudgetedScripts } from './budgeted-scripts.js';
import { txPartition, type TxPartitionKeys } from './keys.js';
import { sendScript, type ScriptName } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';
import { parseTxRecord } from './tx-record.js';

/** Reasons recorded when `decide` finds no record at all. */
const PRESUMED_ABORT = JSON.stringify(['presumed abort: nothing was logged for this transaction']);

/**
 * The coordinator log of two-phase commit on Redis. Each transaction is one HASH (fields in
 * tx-record.ts) in one of a fixed number of partitions, each under its own hash tag
 * `{<ns>:tx:<p>}` with two indexes of its unfinished records (by lease end, by resource), so
 * every transition is one script on one Cluster slot, and partitions spread over the slots.
 * Times are Redis TIME, read inside the scripts. Finished records expire after their retention.
 */
export class RedisTxLogStore implements TransactionLogStore {
  private closed = false;
  private readonly budgeted: BudgetedScripts;
  /** Where the next scan over partitions starts, so none is always served last. */
  private nextStart = 0;

  constructor(readonly deps: RedisStoreDeps) {
    this.budgeted = new BudgetedScripts(deps.runner, deps.budget);
  }

  async open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
  ): Promise<void> {
    this.assertOpen();
    const p = this.partitionOf(id);
    const args: (string | Buffer | number)[] = [id, owner, leaseArg(leaseMs)];
    let bytes = 0;
    for (const { resource, work } of participants) {
      validateResource(resource);
      args.push(resource, Buffer.from(work.buffer, work.byteOffset, work.byteLength));
      bytes += work.byteLength + resource.length;
    }
    const what = `open transaction ${id}`;
    const keys = [p.record(id), p.unfinished, p.byResource];
    const reply = await this.budgeted.run(what, this.deps.scripts.openTx, keys, args, bytes);
    if (reply !== 1)
      throw new ValidationError(`Transaction "${id}" is already in the log.`, {
        details: { field: 'id', id },
      });
  }

  async decide(id: string, decision: TxDecision, reasons: readonly string[]): Promise<TxDecision> {
    if (decision !== 'commit' && decision !== 'abort')
      throw new ValidationError(`A decision is 'commit' or 'abort', got "${String(decision)}".`, {
        details: { field: 'decision' },
      });
    const p = this.partitionOf(id);
    const reply = await this.script('decideTx', `decide transaction ${id}`, 2, [
      p.record(id),
      p.unfinished,
      id,
      decision,
      JSON.stringify(reasons),
      PRESUMED_ABORT,
    ]);
    return String(reply) === 'commit' ? 'commit' : 'abort';
  }

  async markDone(id: string, index: number): Promise<boolean> {
    if (!Number.isSafeInteger(index) || index < 0) return false;
    const p = this.partitionOf(id);
    const reply = await this.script('markTxDone', `mark transaction ${id} done`, 1, [
      p.record(id),
      index,
    ]);
    return reply === 1;
  }

  async finish(id: string, retentionMs: number): Promise<void> {
    const retention = Number.isFinite(retentionMs) ? Math.max(0, Math.ceil(retentionMs)) : NaN;
    if (Number.isNaN(retention))
      throw new ValidationError(`A retention is a number of ms, got ${retentionMs}.`, {
        details: { field: 'retentionMs' },
      });
    const p = this.partitionOf(id);
    await this.script('finishTx', `finish transaction ${id}`, 3, [
      p.record(id),
      p.unfinished,
      p.byResource,
      id,
      retention,
    ]);
  }

  async get(id: string): Promise<TxLogRecord | undefined> {
    const p = this.partitionOf(id);
    return this.read(id, p);
  }

  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const p = this.partitionOf(id);
    const reply = await this.script('renewTx', `renew the lease of transaction ${id}`, 2, [
      p.record(id),
      p.unfinished,
      id,
      owner,
      leaseArg(leaseMs),
    ]);
    return reply === 1;
  }

  async claimExpired(owner: string, leaseMs: number, limit: number): Promise<TxLogRecord[]> {
    this.assertOpen();
    const lease = leaseArg(leaseMs);
    if (!(limit >= 1)) return [];
    const max = Math.floor(limit);
    const order = this.partitionOrder();
    // One read per partition (sent together): ids whose lease lapsed, at most `max` each.
    const lists = await Promise.all(
      order.map((p) =>
        this.script('listLapsedTx', 'list lapsed transactions', 1, [p.unfinished, max]),
      ),
    );
    const candidates: [TxPartitionKeys, string][] = [];
    lists.forEach((ids, i) => {
      for (const id of ids as Buffer[]) candidates.push([order[i]!, id.toString('utf8')]);
    });
    const claimed: TxLogRecord[] = [];
    let next = 0;
    // Another node may take some first: try further candidates until `max` or none is left.
    while (claimed.length < max && next < candidates.length) {
      const batch = candidates.slice(next, next + max - claimed.length);
      next += batch.length;
      const replies = await Promise.all(
        batch.map(([p, id]) =>
          this.script('claimTx', `take over transaction ${id}`, 2, [
            p.record(id),
            p.unfinished,
            id,
            owner,
            lease,
          ]),
        ),
      );
      replies.forEach((reply, i) => {
        if (!Array.isArray(reply)) return;
        const record = this.parse(batch[i]![1], reply);
        if (record !== undefined) claimed.push(record);
      });
    }
    return claimed;
  }

  async unfinishedFor(resource: string, limit: number): Promise<TxLogRecord[]> {
    this.assertOpen();
    validateResource(resource);
    if (!(limit >= 1)) return [];
    const max = Math.floor(limit);
    const order = this.partitionOrder();
    // Members are `<resource>\0<id>`: the ones of this resource sort between these two bounds.
    const from = `[${resource}\0`;
    const to = `(${resource}\u0001`;
    const prefix = Buffer.byteLength(resource) + 1;
    const lists = await Promise.all(
      order.map((p) =>
        this.deps.runner.send(`list unfinished transactions of ${resource}`, 'zrangebylex', [
          p.byResource,
          from,
          to,
          'LIMIT',
          0,
          max,
        ]),
      ),
    );
    const candidates: [TxPartitionKeys, string][] = [];
    lists.forEach((members, i) => {
      for (const member of members as Buffer[])
        candidates.push([order[i]!, member.subarray(prefix).toString('utf8')]);
    });
    const records = await Promise.all(candidates.slice(0, max).map(([p, id]) => this.read(id, p)));
    // Finished between the two reads: no longer unfinished.
    return records.filter((r): r is TxLogRecord => r !== undefined && !r.finished);
  }

  close(): void {
    this.closed = true;
  }

  private async read(id: string, p: TxPartitionKeys): Promise<TxLogRecord | undefined> {
    this.assertOpen();
    const reply = await this.deps.runner.send(`read transaction ${id}`, 'hgetall', [p.record(id)]);
    // HGETALL of a missing key: an empty reply.
    const empty = reply === null || (typeof reply === 'object' && Object.keys(reply).length === 0);
    return empty ? undefined : this.parse(id, reply);
  }

  private parse(id: string, reply: unknown): TxLogRecord | undefined {
    const record = parseTxRecord(id, reply);
    if (record === undefined) this.deps.faults.record('malformedTxRecord', { id });
    return record;
  }

  /** Every partition once, from a start that moves on with each call. */
  private partitionOrder(): TxPartitionKeys[] {
    const all = this.deps.keys.txPartitions;
    const start = this.nextStart;
    this.nextStart = (start + 1) % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  private partitionOf(id: string): TxPartitionKeys {
    this.assertOpen();
    if (typeof id !== 'string' || id === '')
      throw new ValidationError('A transaction id is a non-empty string.', {
        details: { field: 'id' },
      });
    return this.deps.keys.txPartitions[txPartition(id)]!;
  }

  private script(
    name: ScriptName,
    what: string,
    nkeys: number,
    keysAndArgs: (string | number)[],
  ): Promise<unknown> {
    this.assertOpen();
    return sendScript(this.deps.runner, this.deps.scripts[name], what, nkeys, keysAndArgs);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new BackendUnavailableError('The Redis backend of this host is closed.', {
        details: { sent: false },
      });
  }
}

/** A lease in whole ms, at least 1. */
function leaseArg(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0)
    throw new ValidationError(`A lease is a positive number of ms, got ${leaseMs}.`, {
      details: { field: 'leaseMs' },
    });
  return Math.max(1, Math.ceil(leaseMs));
}

/** A resource name is stored in `<resource>\0<id>` index members: it cannot hold `\0`. */
function validateResource(resource: string): void {
  if (typeof resource !== 'string' || resource === '' || resource.includes('\0'))
    throw new ValidationError(
      `A transaction resource name is a non-empty string without NUL, got "${String(resource).slice(0, 64)}".`,
      { details: { field: 'resource' } },
    );
}
