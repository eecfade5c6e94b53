import type { TxOp } from './tx-log-ops.js';
import { MemoryTxLogState } from './tx-log-state.js';

/**
 * The coordinator log of one memory network: its state, and (when configured) the file that
 * makes it durable. Every call runs against the state atomically and resolves once what it
 * changed is durable.
 */
export class MemoryTxLog {
  readonly state: MemoryTxLogState;

  constructor() {
    this.state = new MemoryTxLogState((op) => this.written(op));
  }

  /** Run `fn` on the state (with the clock's now); rejects with whatever it throws. */
  run<T>(fn: (state: MemoryTxLogState, now: number) => T): Promise<T> {
    try {
      return Promise.resolve(fn(this.state, Date.now()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Let go of the log once no node uses it any more. */
  release(): Promise<void> {
    return Promise.resolve();
  }

  private written(_op: TxOp): void {}
}
