import type { AuditHead, AuditRecord, AuditStore } from '../ports.js';
import { closedError } from './closed.js';
import { evalScript, rawCommand } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';

/** Length of a record's hash prefix in its stored value (hex SHA-256). */
const HASH_CHARS = 64;

const bytesOf = (value: unknown): Buffer | undefined =>
  Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value) : undefined;

/**
 * The audit chain on Redis: one HASH of records by seq and one HASH for the head, the
 * checkpoint and the trimmed start, both under the namespace's hash tag. An append is one
 * script that writes only if the head is still the expected one (append-audit-2.lua), so the
 * nodes of a cluster form one linear chain; the hashes are computed by the writer.
 */
export class RedisAuditStore implements AuditStore {
  private closed = false;

  constructor(private readonly deps: RedisStoreDeps) {}

  async head(): Promise<AuditHead> {
    this.assertOpen();
    const reply = (await this.deps.runner.run('read the audit head', (client) =>
      rawCommand(client, 'hmget', [this.deps.keys.audit.head, 's', 'h', 'c', 'ss', 'sh', 'sa']),
    )) as (Buffer | null)[];
    const [s, h, c, ss, sh, sa] = reply;
    return {
      seq: s === null || s === undefined ? 0 : Number(s.toString()),
      hash: h?.toString() ?? '',
      checkpoint: c ?? undefined,
      start: {
        seq: ss === null || ss === undefined ? 0 : Number(ss.toString()),
        hash: sh?.toString() ?? '',
        anchor: sa ?? undefined,
      },
    };
  }

  async append(
    expected: { seq: number; hash: string },
    records: readonly AuditRecord[],
    checkpoint: Uint8Array,
  ): Promise<boolean> {
    this.assertOpen();
    const values = records.map((r, i) => {
      if (r.seq !== expected.seq + 1 + i)
        throw new RangeError(
          `Audit record ${i} must have seq ${expected.seq + 1 + i}, got ${r.seq}.`,
        );
      return Buffer.concat([Buffer.from(r.hash), r.entry]);
    });
    const { head, records: recordsKey } = this.deps.keys.audit;
    const last = records.at(-1)?.hash ?? expected.hash;
    const reply = await this.deps.runner.run('append to the audit log', (client, caller) =>
      evalScript(
        client,
        this.deps.scripts.appendAudit,
        [head, recordsKey],
        [expected.seq, expected.hash, Buffer.from(checkpoint), last, ...values],
        caller,
      ),
    );
    return Number(reply) === 1;
  }

  async read(fromSeq: number, count: number): Promise<AuditRecord[]> {
    this.assertOpen();
    if (count <= 0) return [];
    const seqs = Array.from({ length: count }, (_, i) => fromSeq + i);
    const reply = (await this.deps.runner.run('read the audit log', (client) =>
      rawCommand(client, 'hmget', [this.deps.keys.audit.records, ...seqs]),
    )) as unknown[];
    const records: AuditRecord[] = [];
    reply.forEach((value, i) => {
      const bytes = bytesOf(value);
      if (bytes === undefined) return;
      records.push({
        seq: seqs[i]!,
        hash: bytes.toString('latin1', 0, HASH_CHARS),
        entry: bytes.subarray(HASH_CHARS),
      });
    });
    return records;
  }

  async trim(start: { seq: number; hash: string }, anchor: Uint8Array): Promise<number> {
    this.assertOpen();
    const { head, records } = this.deps.keys.audit;
    const reply = await this.deps.runner.run('trim the audit log', (client, caller) =>
      evalScript(
        client,
        this.deps.scripts.trimAudit,
        [head, records],
        [start.seq, start.hash, Buffer.from(anchor)],
        caller,
      ),
    );
    return Number(reply);
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
