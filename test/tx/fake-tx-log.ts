import type { TransactionLogStore, TxDecision, TxLogRecord } from '../../src/backends/ports.js';
import { ValidationError } from '../../src/errors/errors.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

/**
 * A coordinator log in this process with a controllable clock, for unit tests that need to
 * pause or fail one operation (the backends' stores are tested by the conformance suite).
 */
export class FakeTxLog implements TransactionLogStore {
  readonly records = new Map<string, Mutable<TxLogRecord>>();
  /** Added to the clock: lets a test make leases lapse without waiting. */
  skew = 0;
  /** Runs before each call (may throw or wait): fault injection. */
  before: ((operation: keyof TransactionLogStore, id: string) => void | Promise<void>) | undefined;
  readonly calls: string[] = [];

  private now(): number {
    return Date.now() + this.skew;
  }

  private async hook(operation: keyof TransactionLogStore, id: string): Promise<void> {
    this.calls.push(`${operation}:${id}`);
    await this.before?.(operation, id);
  }

  async open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
  ): Promise<void> {
    await this.hook('open', id);
    if (this.records.has(id)) throw new ValidationError(`transaction ${id} is recorded already`);
    this.records.set(id, {
      id,
      coordinator: owner,
      createdAt: this.now(),
      decision: undefined,
      reasons: [],
      participants: participants.map((p) => ({ ...p, done: false })),
      leaseOwner: owner,
      leaseUntil: this.now() + leaseMs,
      finished: false,
    });
  }

  async decide(id: string, decision: TxDecision, reasons: readonly string[]): Promise<TxDecision> {
    await this.hook('decide', id);
    const record = this.records.get(id);
    if (record === undefined) return 'abort';
    if (record.decision === undefined) {
      record.decision = decision;
      record.reasons = decision === 'abort' ? [...reasons] : [];
    }
    return record.decision;
  }

  async markDone(id: string, index: number): Promise<boolean> {
    await this.hook('markDone', id);
    const p = this.records.get(id)?.participants[index];
    if (p === undefined || p.done) return false;
    this.records.get(id)!.participants[index] = { ...p, done: true };
    return true;
  }

  async finish(id: string): Promise<void> {
    await this.hook('finish', id);
    const record = this.records.get(id);
    if (record !== undefined) record.finished = true;
  }

  async get(id: string): Promise<TxLogRecord | undefined> {
    await this.hook('get', id);
    const record = this.records.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    await this.hook('renew', id);
    const record = this.records.get(id);
    if (record === undefined || record.leaseOwner !== owner || record.finished) return false;
    record.leaseUntil = this.now() + leaseMs;
    return true;
  }

  async claimExpired(owner: string, leaseMs: number, limit: number): Promise<TxLogRecord[]> {
    await this.hook('claimExpired', '*');
    const claimed: TxLogRecord[] = [];
    for (const record of this.records.values()) {
      if (claimed.length >= limit) break;
      if (record.finished || record.leaseUntil > this.now()) continue;
      record.leaseOwner = owner;
      record.leaseUntil = this.now() + leaseMs;
      claimed.push(structuredClone(record));
    }
    return claimed;
  }

  async unfinishedFor(resource: string, limit: number): Promise<TxLogRecord[]> {
    await this.hook('unfinishedFor', resource);
    return [...this.records.values()]
      .filter((r) => !r.finished && r.participants.some((p) => p.resource === resource))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  close(): void {}
}
