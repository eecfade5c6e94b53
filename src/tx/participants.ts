import type { CapabilityGuard } from '../security/capabilities/guard.js';
import type { Codec } from '../codec/codec.js';
import { TimeoutError } from '../errors/errors.js';
import type { RpcCore } from '../rpc/rpc-core.js';
import { withDeadline } from '../util/bound.js';
import type { Deadlines } from '../util/deadlines.js';
import type { Transaction, TransactionParticipant } from './types.js';
import { readVote, type WireVote } from './votes.js';

/** What a phase message to a named resource carries (`$tx.<name>` methods take it). */
export interface PhaseMessage {
  readonly id: string;
  readonly index: number;
  readonly work: unknown;
  readonly redelivered: boolean;
}

export type Phase = 'commit' | 'rollback';

/** The RPC service of a named transaction resource. */
export function resourceService(name: string): string {
  return `${RESOURCE_SERVICE_PREFIX}${name}`;
}

/** The prefix of the RPC services of transaction resources (`$tx.<name>`). */
export const RESOURCE_SERVICE_PREFIX = '$tx.';

/** One enlisted participant as the coordinator drives it: each call is one attempt. */
export interface Enlisted {
  readonly name: string;
  /** Position among the transaction's named resources (its log entry); undefined for objects. */
  readonly index: number | undefined;
  /** The work encoded for the log (named resources only). */
  readonly encoded: Uint8Array | undefined;
  /** Resolves with the vote; rejects when it failed or did not answer within `timeoutMs`. */
  prepare(timeoutMs: number): Promise<WireVote>;
  finish(phase: Phase, redelivered: boolean, timeoutMs: number): Promise<void>;
}

/** A participant object of this process, called directly. */
export function objectParticipant(
  participant: TransactionParticipant,
  transaction: Transaction,
  deadlines: Deadlines,
): Enlisted {
  const bounded = (what: string, fn: () => unknown, timeoutMs: number): Promise<unknown> =>
    withDeadline(
      fn,
      timeoutMs,
      () =>
        new TimeoutError(
          `Participant "${participant.name}" did not answer ${what} within ${timeoutMs} ms.`,
          { details: { participant: participant.name, transactionId: transaction.id } },
        ),
      deadlines,
    );
  return {
    name: participant.name,
    index: undefined,
    encoded: undefined,
    prepare: async (timeoutMs) =>
      readVote(await bounded('prepare', () => participant.prepare(transaction), timeoutMs)),
    finish: async (phase, _redelivered, timeoutMs) => {
      await bounded(phase, () => participant[phase](transaction), timeoutMs);
    },
  };
}

/** What a named participant needs to reach its resource. */
export interface NamedEnv {
  readonly rpc: RpcCore;
  readonly codec: Codec;
  /** Who calls (the coordinating plugin), for the RPC layer's bookkeeping. */
  readonly caller: string;
  /** The caller's capability guard (undefined: trusted), asked before a named resource is enlisted. */
  readonly guard?: CapabilityGuard | undefined;
}

/** A named resource of the cluster, reached over RPC as `$tx.<name>`. */
export function namedParticipant(
  env: NamedEnv,
  transactionId: string,
  name: string,
  index: number,
  work: unknown,
  encoded?: Uint8Array,
): Enlisted {
  const service = resourceService(name);
  const message = (redelivered: boolean): [PhaseMessage] => [
    { id: transactionId, index, work, redelivered },
  ];
  return {
    name,
    index,
    // Encoded at enlist: work the codec cannot carry is refused before anything is logged.
    encoded: encoded ?? env.codec.encode(work, 'work'),
    prepare: async (timeoutMs) =>
      (await env.rpc.call(env.caller, service, 'prepare', message(false), timeoutMs)) as WireVote,
    finish: async (phase, redelivered, timeoutMs) => {
      await env.rpc.call(env.caller, service, phase, message(redelivered), timeoutMs);
    },
  };
}
