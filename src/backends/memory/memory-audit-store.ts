import type { AuditHead, AuditRecord, AuditStore } from '../ports.js';

// BASE STUB (issue 11): per-instance state only; the audit helper replaces this file.
export class MemoryAuditStore implements AuditStore {
  private readonly records: AuditRecord[] = [];
  private checkpoint: Uint8Array | undefined;

  head(): Promise<AuditHead> {
    const last = this.records.at(-1);
    return Promise.resolve({
      seq: last?.seq ?? 0,
      hash: last?.hash ?? '',
      checkpoint: this.checkpoint,
    });
  }

  append(
    expected: { seq: number; hash: string },
    records: readonly AuditRecord[],
    checkpoint: Uint8Array,
  ): Promise<boolean> {
    const last = this.records.at(-1);
    if ((last?.seq ?? 0) !== expected.seq || (last?.hash ?? '') !== expected.hash)
      return Promise.resolve(false);
    this.records.push(...records);
    this.checkpoint = checkpoint;
    return Promise.resolve(true);
  }

  read(fromSeq: number, limit: number): Promise<AuditRecord[]> {
    return Promise.resolve(this.records.filter((r) => r.seq >= fromSeq).slice(0, limit));
  }

  close(): void {}
}
