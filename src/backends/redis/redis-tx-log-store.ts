import type { TransactionLogStore, TxDecision, TxLogRecord } from '../ports.js';
import type { RedisStoreDeps } from './store-deps.js';

const notYet = (): Promise<never> =>
  Promise.reject(new Error('Redis transaction log: not built yet (issue 10 base stub)'));

/** The Redis backend's coordinator log. */
export class RedisTxLogStore implements TransactionLogStore {
  constructor(readonly deps: RedisStoreDeps) {}
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
