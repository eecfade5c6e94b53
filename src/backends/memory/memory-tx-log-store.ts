import type { TransactionLogStore, TxDecision, TxLogRecord } from '../ports.js';

const notYet = (): Promise<never> =>
  Promise.reject(new Error('memory transaction log: not built yet (issue 10 base stub)'));

/** The embedded backend's coordinator log (in memory, or file-backed: its durable default). */
export class MemoryTxLogStore implements TransactionLogStore {
  constructor(readonly nodeId: string) {}
  open(
    _id: string,
    _owner: string,
    _p: readonly { resource: string; work: Uint8Array }[],
    _l: number,
  ): Promise<void> {
    return notYet();
  }
  decide(_id: string, _d: TxDecision, _r: readonly string[]): Promise<TxDecision> {
    return notYet();
  }
  markDone(_id: string, _i: number): Promise<boolean> {
    return notYet();
  }
  finish(_id: string, _r: number): Promise<void> {
    return notYet();
  }
  get(_id: string): Promise<TxLogRecord | undefined> {
    return notYet();
  }
  renew(_id: string, _o: string, _l: number): Promise<boolean> {
    return notYet();
  }
  claimExpired(_o: string, _l: number, _n: number): Promise<TxLogRecord[]> {
    return notYet();
  }
  unfinishedFor(_r: string, _n: number): Promise<TxLogRecord[]> {
    return notYet();
  }
  close(): void {}
}
