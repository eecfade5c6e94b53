/**
 * Public types of `context.transactionManager`: two-phase commit across plugins and nodes, with a
 * coordinator log in the backend so that a crashed coordinator's transactions are finished the
 * way they were decided (or aborted when nothing was decided), and a saga helper.
 */

/**
 * A participant's answer to `prepare`. Yes: `undefined`, `true` or `{ status: 'prepared' }`.
 * No: `false` or `{ status: 'aborted' | 'refused', reason? }`. A throw is a no with the error as
 * its reason; no answer within the transaction's `timeout` is a no too.
 */
export type PrepareVote =
  void | boolean | { status: 'prepared' } | { status: 'aborted' | 'refused'; reason?: string };

/**
 * A participant object living in this process (the chapter's explicit two-phase example). It
 * lives and dies with its process: after a crash only named resources
 * ({@link TransactionManager.registerResource}) can be told the outcome.
 */
export interface TransactionParticipant {
  /** Shown in reasons and logs. */
  readonly name: string;
  prepare(transaction: Transaction): PrepareVote | Promise<PrepareVote>;
  commit(transaction: Transaction): unknown;
  rollback(transaction: Transaction): unknown;
}

/** What a named resource's phase handlers receive besides the work. */
export interface PhaseInfo {
  /** The transaction's id: key your prepared state by it. */
  readonly transactionId: string;
  /** The participant's position in the transaction (a resource may be enlisted twice). */
  readonly index: number;
  /**
   * True when this phase message may have been applied before (it is a retry, or a recovery
   * after a crash): the helper skips repeats it recorded itself, but a crash between your handler
   * returning and that record being written can repeat a call, so keep commit and rollback
   * idempotent by `transactionId`.
   */
  readonly redelivered: boolean;
}

/**
 * A named transaction resource: registered by a plugin on some node, enlisted by name from any
 * node with the work it should do. Phase messages reach it through the cluster; commit and
 * rollback are retried until acknowledged, and a repeat of one already applied is skipped.
 */
export interface TransactionResource<W = unknown> {
  prepare(work: W, info: PhaseInfo): PrepareVote | Promise<PrepareVote>;
  commit(work: W, info: PhaseInfo): unknown;
  rollback(work: W, info: PhaseInfo): unknown;
}

/** A live resource registration; `unregister()` is idempotent (also done when the plugin stops). */
export interface ResourceRegistration {
  readonly name: string;
  /** Resolves once every node can reach the resource. */
  readonly ready: Promise<void>;
  unregister(): Promise<void>;
}

export interface BeginOptions {
  /**
   * Bound on each participant's prepare, ms: one that has not answered by then votes no and the
   * transaction aborts. Default: the host's `transactions.prepareTimeout` (5000).
   */
  timeout?: number;
  /** A label for logs and reasons. */
  label?: string;
}

/**
 * `in-doubt`: every participant prepared but the decision could not be recorded (the backend was
 * unreachable); recovery settles it later (presumed abort unless a commit was recorded), and
 * {@link TransactionManager.outcome} tells which.
 */
export type TransactionState =
  'active' | 'preparing' | 'committing' | 'committed' | 'aborting' | 'aborted' | 'in-doubt';

/** One reason a transaction aborted. */
export interface AbortReason {
  /** The participant's name (object) or resource name. */
  readonly participant: string;
  readonly kind: 'refused' | 'error' | 'timeout' | 'rolled-back' | 'recovered';
  readonly message: string;
  readonly code?: string;
}

export interface Transaction {
  readonly id: string;
  readonly state: TransactionState;
  /** Aborted when the transaction aborts (participants doing slow work may listen). */
  readonly signal: AbortSignal;
  /**
   * Enlist a participant object of this process, or a named resource of the cluster with the
   * work it should do (`work` must be encodable). Only while `active`.
   * @throws TransactionStateError after commit or rollback began.
   */
  enlist(participant: TransactionParticipant): void;
  enlist(resource: string, work?: unknown): void;
  /**
   * Two-phase commit: every participant prepares; all yes → the decision is logged in the
   * backend, then every participant commits (retried until acknowledged). Any no, error or
   * timeout → every participant rolls back and this rejects with `TransactionAbortedError`
   * listing every reason.
   */
  commit(): Promise<void>;
  /** Roll back every participant. A no-op after the transaction aborted; rejects after commit. */
  rollback(reason?: string): Promise<void>;
}

/** One step of a saga: `run` does the work, `compensate` undoes it. */
export interface SagaStep<C = unknown> {
  readonly name: string;
  run(context: C): unknown;
  /** Undo `run` (given what it returned). Omitted: nothing to undo. */
  compensate?(context: C, result: unknown): unknown;
}

export interface SagaOptions {
  /** Attempts per compensation before giving up on it (reported). Default 3. */
  compensationAttempts?: number;
}

/** What a recovery pass did (also logged). */
export interface RecoveryReport {
  readonly examined: number;
  readonly committed: number;
  readonly aborted: number;
  /** Left for a later pass: some participant could not be reached yet. */
  readonly pending: number;
}

export type TransactionOutcome = 'committed' | 'aborted' | 'in-doubt' | 'unknown';

export interface TransactionManager {
  /** Start a transaction coordinated by this node. */
  begin(options?: BeginOptions): Promise<Transaction>;
  /** Offer a named resource that transactions on any node can enlist. */
  registerResource<W = unknown>(
    name: string,
    resource: TransactionResource<W>,
  ): ResourceRegistration;
  /** What the coordinator log says about a transaction (`unknown` once its record expired). */
  outcome(transactionId: string): Promise<TransactionOutcome>;
  /**
   * Run steps in order; when one fails, compensate the finished ones in reverse order and reject
   * with `SagaFailedError`. Resolves with each step's result.
   */
  runSaga<C>(
    name: string,
    steps: readonly SagaStep<C>[],
    context: C,
    options?: SagaOptions,
  ): Promise<unknown[]>;
  /** Finish in-doubt transactions now (also done on start and periodically). */
  recover(): Promise<RecoveryReport>;
}

/** `createHost({ transactions })`. */
export interface TransactionOptions {
  /** Default bound on each participant's prepare, ms. Default 5000. */
  prepareTimeout?: number;
  /**
   * How long a coordinator's claim on a transaction lasts without renewal, ms: after a crash,
   * another node (or the restarted one) finishes its transactions once it lapses. Default 10000.
   */
  leaseMs?: number;
  /** Period of the recovery scan, ms. Default 5000. */
  recoveryInterval?: number;
  /**
   * How long records of finished transactions are kept for late lookups, ms. Default 24 h. Every
   * timing here is at most 2147483647 ms (about 24.8 days, what a timer holds).
   */
  retentionMs?: number;
  /** Transactions begun and not yet ended on this host at once, before `BackpressureError`. Default 10000. */
  maxOpen?: number;
  /**
   * Embedded backend only: the coordinator log's file (`false`: kept in memory, lost with the
   * process). Default `.plugboard/transactions.log` under the working directory, created on
   * first use.
   */
  logFile?: string | false;
}
