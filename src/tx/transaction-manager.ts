import type { Logger } from 'pino';
import type { TransactionLogStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import type { PluginScope } from '../context/plugin-scope.js';
import type { RpcCore } from '../rpc/rpc-core.js';
import type { Deadlines } from '../util/deadlines.js';
import type { TransactionManager } from './types.js';

/** Host-level settings of transactions (`createHost({ transactions })`). */
export interface TransactionSettings {
  /** Default bound on each participant's prepare, ms. Default 5000. */
  prepareTimeout: number;
  /** How long a coordinator's claim on a transaction lasts without renewal, ms. Default 10000. */
  leaseMs: number;
  /** Period of the recovery scan, ms. Default 5000. */
  recoveryInterval: number;
  /** How long finished records are kept for late lookups, ms. Default 24 h. */
  retentionMs: number;
}

export const DEFAULT_TRANSACTION_SETTINGS: TransactionSettings = {
  prepareTimeout: 5_000,
  leaseMs: 10_000,
  recoveryInterval: 5_000,
  retentionMs: 24 * 60 * 60 * 1000,
};

/** What the transaction block needs from the runtime (one per host). */
export interface TransactionEnv {
  readonly store: TransactionLogStore;
  readonly rpc: RpcCore;
  readonly codec: Codec;
  readonly logger: Logger;
  readonly deadlines: Deadlines;
  readonly nodeId: string;
  readonly settings: TransactionSettings;
}

/** A plugin's `context.transactionManager`. */
export function createTransactionManager(
  _env: TransactionEnv,
  _scope: PluginScope,
  _report: (what: string, error: unknown) => void,
): TransactionManager {
  const notYet = (): never => {
    throw new Error('transactionManager: not built yet (issue 10 base stub)');
  };
  return {
    begin: () => Promise.reject(new Error('transactionManager: not built yet')),
    registerResource: notYet,
    outcome: () => Promise.reject(new Error('transactionManager: not built yet')),
    runSaga: () => Promise.reject(new Error('transactionManager: not built yet')),
    recover: () => Promise.reject(new Error('transactionManager: not built yet')),
  };
}
