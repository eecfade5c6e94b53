import type { Logger } from 'pino';
import type { TransactionLogStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { createRpcServer } from '../context/facades.js';
import type { PluginScope } from '../context/plugin-scope.js';
import { ValidationError } from '../errors/errors.js';
import type { RpcCore } from '../rpc/rpc-core.js';
import type { Deadlines } from '../util/deadlines.js';
import { registerResource } from './resource-host.js';
import { runSaga } from './saga.js';
import { TransactionImpl } from './transaction.js';
import type { TransactionCore } from './transaction-core.js';
import type { BeginOptions, TransactionManager } from './types.js';

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
  /** Transactions open at once on this host. Default 10000. */
  maxOpen: number;
}

export const DEFAULT_TRANSACTION_SETTINGS: TransactionSettings = {
  prepareTimeout: 5_000,
  leaseMs: 10_000,
  recoveryInterval: 5_000,
  retentionMs: 24 * 60 * 60 * 1000,
  maxOpen: 10_000,
};

/** The host's settings: `given` over the defaults, a field given as `undefined` kept at its default. */
export function transactionSettings(
  given: Partial<TransactionSettings> | undefined,
): TransactionSettings {
  const settings = { ...DEFAULT_TRANSACTION_SETTINGS };
  for (const field of Object.keys(settings) as (keyof TransactionSettings)[]) {
    const value = given?.[field];
    if (value !== undefined) settings[field] = value;
  }
  return settings;
}

/** What the transaction block needs from the runtime (one per host). */
export interface TransactionEnv {
  readonly store: TransactionLogStore;
  readonly rpc: RpcCore;
  readonly codec: Codec;
  readonly logger: Logger;
  readonly deadlines: Deadlines;
  readonly nodeId: string;
  readonly settings: TransactionSettings;
  /** Counts transactions by outcome (none: no metrics). */
  readonly metrics?: { transactionEnded(outcome: 'committed' | 'aborted' | 'in-doubt'): void };
}

/** A plugin's `context.transactionManager`, over the host's one {@link TransactionCore}. */
export function createTransactionManager(
  core: TransactionCore,
  scope: PluginScope,
  report: (what: string, error: unknown) => void,
): TransactionManager {
  const { env } = core;
  // Resources are offered as `$tx.<name>` services: checked as `tx:register:<name>`, not as RPC.
  const server = createRpcServer(env.rpc, scope, false);
  const named = { rpc: env.rpc, codec: env.codec, caller: scope.pluginId, guard: scope.guard };
  // Transactions this plugin began and has not ended: rolled back when it stops.
  const active = new Set<TransactionImpl>();
  scope.controller.signal.addEventListener(
    'abort',
    () => {
      for (const transaction of active) {
        if (transaction.state === 'active') {
          transaction.rollback('the plugin stopped').catch((e: unknown) => report('rollback', e));
        }
      }
    },
    { once: true },
  );
  return Object.freeze({
    // Sync work in a promise: every failure (bad options, a stopped plugin, the bound) rejects.
    begin: (options?: BeginOptions) =>
      Promise.resolve().then(() => {
        const { timeout, label } = beginOptions(options, env.settings.prepareTimeout);
        scope.assertOpen('transactionManager.begin()');
        const giveBack = core.takeSlot();
        let untrack = (): void => undefined;
        const transaction = new TransactionImpl({
          core,
          named,
          timeout,
          label,
          report,
          ended: (t) => {
            active.delete(t);
            giveBack();
            untrack();
          },
        });
        active.add(transaction);
        untrack = core.track(transaction);
        return transaction;
      }),
    registerResource: (name, resource) =>
      registerResource(core, scope, server, report, name, resource),
    outcome: async (id: string) => {
      if (typeof id !== 'string' || id.length === 0)
        throw new ValidationError('outcome() needs a transaction id.');
      const record = await env.store.get(id);
      if (record === undefined) return core.outcomes.get(id) ?? 'unknown';
      // Undecided on record, but this node aborted it: only an abort can ever be recorded.
      if (record.decision === undefined) {
        return core.outcomes.get(id) === 'aborted' ? 'aborted' : 'in-doubt';
      }
      return record.decision === 'commit' ? 'committed' : 'aborted';
    },
    runSaga: (name, steps, context, options) =>
      runSaga(name, steps, context, options, (what, error) => report(what, error)),
    recover: () => core.recovery.pass(),
  } satisfies TransactionManager);
}

function beginOptions(
  options: BeginOptions | undefined,
  defaultTimeout: number,
): { timeout: number; label: string | undefined } {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new ValidationError('begin() takes an options object { timeout?, label? }.');
  }
  const timeout = options?.timeout ?? defaultTimeout;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new ValidationError(
      `Transaction option "timeout" must be a positive number of ms, got ${String(timeout)}.`,
      { details: { field: 'timeout' } },
    );
  }
  const label = options?.label;
  if (label !== undefined && typeof label !== 'string') {
    throw new ValidationError('Transaction option "label" must be a string.', {
      details: { field: 'label' },
    });
  }
  return { timeout, label };
}
