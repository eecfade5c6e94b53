import type { PluginScope } from '../context/plugin-scope.js';
import { ValidationError } from '../errors/errors.js';
import type { RpcServer } from '../rpc/types.js';
import { assertName } from '../util/names.js';
import { resourceService, type Phase, type PhaseMessage } from './participants.js';
import type { TransactionCore } from './transaction-core.js';
import type { PhaseInfo, ResourceRegistration, TransactionResource } from './types.js';
import { readVote, type WireVote } from './votes.js';

/** Unfinished transactions read for a resource when it registers (the rest: recovery). */
const CATCH_UP_LIMIT = 1_000;

/**
 * Offer `resource` as the RPC service `$tx.<name>` through the plugin's own RPC server (released
 * when the plugin stops), then apply at once the outcomes decided for it while it was away.
 */
export function registerResource<W>(
  core: TransactionCore,
  scope: PluginScope,
  server: RpcServer,
  report: (what: string, error: unknown) => void,
  name: string,
  resource: TransactionResource<W>,
): ResourceRegistration {
  assertName(name, 'Transaction resource name');
  for (const method of ['prepare', 'commit', 'rollback'] as const) {
    if (typeof (resource as Partial<TransactionResource<W>> | null)?.[method] !== 'function') {
      throw new ValidationError(
        `Transaction resource "${name}" needs a ${method}(work, info) method.`,
        { details: { resource: name, method } },
      );
    }
  }
  scope.assertOpen(`registering transaction resource "${name}"`);
  scope.guard?.assert('tx', 'register', name);
  const apply = (phase: Phase, message: PhaseMessage): Promise<void> =>
    applyPhase(core, resource, phase, message);
  const registration = server.register(resourceService(name), {
    prepare: (message: PhaseMessage): Promise<WireVote> => prepare(core, resource, message),
    commit: (message: PhaseMessage) => apply('commit', message),
    rollback: (message: PhaseMessage) => apply('rollback', message),
  });
  const catchUp = catchUpOutcomes(core, name, apply).catch((error: unknown) =>
    report(`resource.${name}`, error),
  );
  return {
    name,
    ready: registration.ready.then(() => catchUp),
    unregister: () => registration.unregister(),
  };
}

function info(message: PhaseMessage): PhaseInfo {
  return { transactionId: message.id, index: message.index, redelivered: message.redelivered };
}

/**
 * Ask the resource to prepare. A prepare that outlived the coordinator's bound may finish after
 * the rollback it caused was applied here: what it holds then is let go at once.
 */
async function prepare<W>(
  core: TransactionCore,
  resource: TransactionResource<W>,
  message: PhaseMessage,
): Promise<WireVote> {
  const vote = readVote(await resource.prepare(message.work as W, info(message)));
  // A rollback still in its handler may have run before this prepare took anything: wait for it.
  await core.applying.get(phaseKey(message))?.catch(() => undefined);
  if (core.applied.get(phaseKey(message)) === undefined) return vote;
  // Phase two came first; it can only have been a rollback, since this vote was not in yet.
  await resource.rollback(message.work as W, { ...info(message), redelivered: true });
  return { vote: 'refused', reason: 'prepared after the transaction was rolled back' };
}

function phaseKey(message: PhaseMessage): string {
  return `${message.id}#${message.index}`;
}

/**
 * Run the resource's commit or rollback for one phase message at most once per node, and record
 * it in the log (`markDone`) so that no node repeats it: a repeat this node remembers is skipped
 * without a read; a redelivered one it does not remember is checked against the log's `done`.
 */
function applyPhase<W>(
  core: TransactionCore,
  resource: TransactionResource<W>,
  phase: Phase,
  message: PhaseMessage,
): Promise<void> {
  const key = phaseKey(message);
  const running = core.applying.get(key);
  if (running !== undefined) return running;
  const work = (async () => {
    const { store } = core.env;
    if (core.applied.get(key) === undefined) {
      const recorded = message.redelivered ? await store.get(message.id) : undefined;
      if (recorded?.participants[message.index]?.done !== true) {
        await resource[phase](message.work as W, info(message));
      }
      core.applied.set(key, 'applied');
    }
    if (core.applied.get(key) !== 'done') {
      await store.markDone(message.id, message.index);
      core.applied.set(key, 'done');
    }
  })().finally(() => core.applying.delete(key));
  core.applying.set(key, work);
  return work;
}

/** A participant that restarts learns the outcomes decided while it was away. */
async function catchUpOutcomes(
  core: TransactionCore,
  name: string,
  apply: (phase: Phase, message: PhaseMessage) => Promise<void>,
): Promise<void> {
  const { store, codec } = core.env;
  const records = await store.unfinishedFor(name, CATCH_UP_LIMIT);
  const work: Promise<void>[] = [];
  for (const record of records) {
    if (record.decision === undefined) continue;
    const phase = record.decision === 'commit' ? 'commit' : 'rollback';
    record.participants.forEach((p, index) => {
      if (p.resource !== name || p.done) return;
      const message = { id: record.id, index, work: codec.decode(p.work), redelivered: true };
      work.push(apply(phase, message));
    });
  }
  const failures = (await Promise.allSettled(work)).filter((r) => r.status === 'rejected');
  if (failures.length > 0) throw failures[0]!.reason;
}
