import { TransactionStateError, ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import { runCommit } from './coordinator.js';
import {
  namedParticipant,
  objectParticipant,
  type Enlisted,
  type NamedEnv,
} from './participants.js';
import { deliver } from './phase-two.js';
import type { TransactionCore } from './transaction-core.js';
import type { Transaction, TransactionParticipant, TransactionState } from './types.js';

/** Participants one transaction may enlist. */
export const MAX_PARTICIPANTS = 256;

/** What a transaction needs from its manager. */
export interface TransactionRunEnv {
  readonly core: TransactionCore;
  readonly named: NamedEnv;
  readonly timeout: number;
  readonly label: string | undefined;
  readonly report: (what: string, error: unknown) => void;
  /** Called once when the transaction ends (committed, aborted or in doubt). */
  readonly ended: (transaction: TransactionImpl) => void;
}

/**
 * One transaction and its state machine: `active` → (`commit`) `preparing` → `committing` →
 * `committed`, or → `aborting` → `aborted`; `active` → (`rollback`) `aborting` → `aborted`;
 * `preparing` → `in-doubt` when the decision could not be recorded.
 */
export class TransactionImpl implements Transaction {
  readonly id: string;
  /** Epoch ms of `begin()`. */
  readonly startedAt = Date.now();
  private current: TransactionState = 'active';
  private readonly controller = new AbortController();
  private readonly participants: Enlisted[] = [];
  private namedCount = 0;

  constructor(private readonly env: TransactionRunEnv) {
    this.id = env.core.nextId();
  }

  get state(): TransactionState {
    return this.current;
  }

  get participantCount(): number {
    return this.participants.length;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  enlist(participant: TransactionParticipant | string, work?: unknown): void {
    this.assertState('active', 'enlist a participant');
    if (this.participants.length >= MAX_PARTICIPANTS) {
      throw new ValidationError(
        `Transaction ${this.id} already has ${MAX_PARTICIPANTS} participants, the most one may have.`,
        { details: { transactionId: this.id, max: MAX_PARTICIPANTS } },
      );
    }
    if (typeof participant === 'string') {
      assertName(participant, 'Transaction resource name');
      this.env.named.guard?.assert('tx', 'enlist', participant);
      const index = this.namedCount;
      const enlisted = namedParticipant(this.env.named, this.id, participant, index, work);
      this.namedCount++;
      this.participants.push(enlisted);
      return;
    }
    assertParticipant(participant);
    this.participants.push(objectParticipant(participant, this, this.env.core.env.deadlines));
  }

  async commit(): Promise<void> {
    this.assertState('active', 'commit');
    try {
      await runCommit(this.env.core, {
        id: this.id,
        label: this.env.label,
        participants: this.participants,
        timeout: this.env.timeout,
        setState: (state) => this.setState(state),
        report: this.env.report,
      });
    } finally {
      // An error out of the coordinator itself (not a decision) leaves nothing half-open.
      if (this.current === 'active' || this.current === 'preparing') this.setState('aborted');
      this.env.ended(this);
    }
  }

  async rollback(reason?: string): Promise<void> {
    if (this.current === 'aborted' || this.current === 'aborting') return;
    this.assertState('active', 'roll back');
    this.setState('aborting', reason);
    // Named resources were never sent anything before commit: only objects may hold work.
    const objects = this.participants.filter((p) => p.index === undefined);
    const bounds = { until: 0, attemptMs: this.env.timeout, redelivered: false };
    const results = await Promise.all(objects.map((p) => deliver(p, 'rollback', bounds)));
    for (const result of results) if (!result.ok) this.env.report('rollback', result.error);
    this.setState('aborted');
    this.env.core.outcomes.set(this.id, 'aborted');
    this.env.ended(this);
  }

  private setState(state: TransactionState, reason?: string): void {
    const ended = state === 'committed' || state === 'aborted' || state === 'in-doubt';
    if (ended && !isEnded(this.current)) this.env.core.env.metrics?.transactionEnded(state);
    this.current = state;
    if (state === 'aborting' && !this.controller.signal.aborted) {
      this.controller.abort(new Error(reason ?? `transaction ${this.id} aborted`));
    }
  }

  private assertState(expected: TransactionState, operation: string): void {
    if (this.current === expected) return;
    throw new TransactionStateError(
      `Cannot ${operation}: transaction ${this.id} is ${this.current}.`,
      { details: { transactionId: this.id, state: this.current, operation } },
    );
  }
}

function assertParticipant(value: unknown): asserts value is TransactionParticipant {
  const p = value as Partial<TransactionParticipant> | null;
  const missing = (['prepare', 'commit', 'rollback'] as const).filter(
    (m) => typeof p?.[m] !== 'function',
  );
  if (typeof p !== 'object' || p === null || typeof p.name !== 'string' || missing.length > 0) {
    throw new ValidationError(
      'enlist() takes a participant { name, prepare(tx), commit(tx), rollback(tx) } or a ' +
        `resource name${missing.length > 0 ? ` (missing: ${missing.join(', ')})` : ''}.`,
      { details: { missing } },
    );
  }
}

/** A state a transaction's outcome is counted in (once per transaction). */
function isEnded(state: TransactionState): boolean {
  return state === 'committed' || state === 'aborted' || state === 'in-doubt';
}
