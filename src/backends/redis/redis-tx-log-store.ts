import { ValidationError } from '../../errors/errors.js';
import type { TransactionLogStore, TxDecision, TxLogRecord } from '../ports.js';
import { closedError } from './closed.js';
import { HeldWrites } from './held-writes.js';
import { txPartition, type TxPartitionKeys } from './keys.js';
import { evalScript, sendScript, type ScriptName } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';
import { parseTxRecord } from './tx-record.js';

/** Longest id, owner or resource name the log takes (part of key names and index members). */
const MAX_NAME = 1024;

/**
 * The coordinator log of two-phase commit on Redis. Each transaction is one HASH (fields in
 * tx-record.ts) in one of a fixed number of partitions, each under its own hash tag
 * `{<ns>:tx:<p>}` with two indexes of its unfinished records (by lease end, by resource), so
 * every transition is one script on one Cluster slot, and partitions spread over the slots.
 * Times are Redis TIME, read inside the scripts. Finished records expire after their retention.
 */
export class RedisTxLogStore implements TransactionLogStore {
  private closed = false;
  private readonly held: HeldWrites;
  /** Where the next scan over partitions starts, so none is always served last. */
  private nextStart = 0;

  constructor(readonly deps: RedisStoreDeps) {
    this.held = new HeldWrites(deps.runner, deps.budget);
  }

  async open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
  ): Promise<void> {
    const p = this.partitionOf(id);
    const args: (string | Buffer | number)[] = [id, validName('owner', owner), leaseArg(leaseMs)];
    if (!Array.isArray(participants)) throw invalid('participants', 'an array');
    let bytes = 0;
    for (const participant of participants) {
      const { resource, work } = (participant ?? {}) as { resource: string; work: Uint8Array };
      validateResource(resource);
      if (!(work instanceof Uint8Array)) throw invalid('work', 'bytes (a Uint8Array)');
      args.push(resource, Buffer.from(work.buffer, work.byteOffset, work.byteLength));
      bytes += work.byteLength + resource.length;
    }
    const what = `open transaction ${id}`;
    const keys = [p.record(id), p.unfinished, p.byResource];
    const script = this.deps.scripts.openTx;
    // The work bytes count against the byte budget until Redis answers.
    const reply = await this.held.run(what, bytes, (client, caller) =>
      evalScript(client, script, keys, args, caller),
    );
    if (reply !== 1)
      throw new ValidationError(`Transaction "${id}" is already in the log.`, {
        details: { field: 'id', id },
      });
  }

  async decide(id: string, decision: TxDecision, reasons: readonly string[]): Promise<TxDecision> {
    const p = this.partitionOf(id);
    if (decision !== 'commit' && decision !== 'abort')
      throw invalid('decision', `'commit' or 'abort', got "${String(decision)}"`);
    if (!Array.isArray(reasons) || !reasons.every((r) => typeof r === 'string'))
      throw invalid('reasons', 'an array of strings');
    const reply = await this.script('decideTx', `decide transaction ${id}`, 2, [
      p.record(id),
      p.unfinished,
      id,
      decision,
      JSON.stringify(reasons),
    ]);
    return String(reply) === 'commit' ? 'commit' : 'abort';
  }

  async markDone(id: string, index: number): Promise<boolean> {
    const p = this.partitionOf(id);
    const reply = await this.script('markTxDone', `mark transaction ${id} done`, 1, [
      p.record(id),
      validCount('index', index),
    ]);
    if (reply === -1)
      throw new ValidationError(`Transaction "${id}" has no participant ${index}.`, {
        details: { field: 'index', id, index },
      });
    return reply === 1;
  }

  async finish(id: string, retentionMs: number): Promise<void> {
    const p = this.partitionOf(id);
    if (!Number.isFinite(retentionMs) || retentionMs < 0)
      throw invalid('retentionMs', `a number of ms >= 0, got ${retentionMs}`);
    const retention = Math.ceil(retentionMs);
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
      validName('owner', owner),
      leaseArg(leaseMs),
    ]);
    return reply === 1;
  }

  async claimExpired(owner: string, leaseMs: number, limit: number): Promise<TxLogRecord[]> {
    this.assertOpen();
    validName('owner', owner);
    const lease = leaseArg(leaseMs);
    const max = validCount('limit', limit);
    if (max === 0) return [];
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
    const max = validCount('limit', limit);
    if (max === 0) return [];
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
    return this.deps.keys.txPartitions[txPartition(validName('id', id))]!;
  }

  /** Script `name` on its `nkeys` keys, then its arguments (callers checked the store is open). */
  private script(
    name: ScriptName,
    what: string,
    nkeys: number,
    keysAndArgs: (string | number)[],
  ): Promise<unknown> {
    return sendScript(this.deps.runner, this.deps.scripts[name], what, nkeys, keysAndArgs);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}

function invalid(field: string, expected: string): ValidationError {
  return new ValidationError(`Transaction log: "${field}" must be ${expected}.`, {
    details: { field },
  });
}

/** An id, owner or resource name: 1 to {@link MAX_NAME} characters. */
function validName(field: string, value: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME)
    throw invalid(field, `a string of 1 to ${MAX_NAME} characters`);
  return value;
}

/** An index or a limit: an integer >= 0. */
function validCount(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(field, 'an integer >= 0');
  return value;
}

/** A lease in whole ms (>= 1). */
function leaseArg(leaseMs: number): number {
  if (!Number.isFinite(leaseMs) || leaseMs < 1)
    throw invalid('leaseMs', `a number of ms >= 1, got ${leaseMs}`);
  return Math.ceil(leaseMs);
}

/** A resource name is stored in `<resource>\0<id>` index members: it cannot hold NUL. */
function validateResource(resource: string): void {
  validName('resource', resource);
  if (resource.includes('\0')) throw invalid('resource', 'free of NUL characters');
}
