import { BackpressureError } from '../errors/errors.js';
import { randomId } from '../util/ids.js';
import { BoundedRecord } from './bounded-record.js';
import { Recovery } from './recovery.js';
import type { TransactionEnv } from './transaction-manager.js';
import type { TransactionOutcome, TransactionState } from './types.js';

/** Phase-two messages this node remembers applying (a repeat is skipped without a log read). */
const APPLIED_LIMIT = 10_000;
/** Outcomes of this node's own transactions kept for `outcome()` (object-only ones are never logged). */
const OUTCOMES_LIMIT = 10_000;

/** Ended transactions of this node the dashboard still lists. */
const RECENT_LIMIT = 20;

/** What the node shows of one of its transactions (read only). */
export interface TransactionView {
  readonly id: string;
  readonly state: TransactionState;
  readonly participantCount: number;
  /** Epoch ms of `begin()`. */
  readonly startedAt: number;
}

/** A transaction as listed by {@link TransactionCore.activity}. */
export interface TransactionSnapshot {
  readonly id: string;
  readonly state: TransactionState;
  readonly participants: number;
  readonly startedAt: number;
}

/** Where a participant's phase two stands on this node: applied, and recorded in the log. */
export type AppliedState = 'applied' | 'done';

/**
 * The transaction block's per-host state, shared by every plugin's `context.transactionManager`:
 * the open-transaction bound, what this node applied as a participant, recent outcomes and the
 * one recovery loop of the host.
 */
export class TransactionCore {
  readonly applied = new BoundedRecord<AppliedState>(APPLIED_LIMIT);
  /** Phase-two applications in flight, so two deliveries of one message run the handler once. */
  readonly applying = new Map<string, Promise<void>>();
  readonly outcomes = new BoundedRecord<TransactionOutcome>(OUTCOMES_LIMIT);
  readonly recovery: Recovery;
  private readonly closer = new AbortController();
  private open = 0;
  private readonly live = new Set<TransactionView>();
  private readonly recent: TransactionSnapshot[] = [];
  private seq = 0;
  /** Unique across restarts of a node that keeps its id: an id is never logged twice. */
  private readonly prefix: string;

  constructor(readonly env: TransactionEnv) {
    this.recovery = new Recovery(env);
    this.prefix = `${env.nodeId}.${randomId(6)}`;
  }

  /** A new transaction id. */
  nextId(): string {
    return `${this.prefix}-${(++this.seq).toString(36)}`;
  }

  /**
   * Take a slot for a new transaction; the returned function gives it back (idempotent).
   * @throws BackpressureError when `maxOpen` transactions are open on this host.
   */
  takeSlot(): () => void {
    const { maxOpen } = this.env.settings;
    if (this.open >= maxOpen) {
      throw new BackpressureError(
        `${maxOpen} transactions are open on this host (transactions.maxOpen); commit or roll ` +
          'back some before beginning more.',
        { details: { maxOpen } },
      );
    }
    this.open++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open--;
    };
  }

  /**
   * List a transaction this node coordinates while it runs; the returned function (called when it
   * ended) moves it to the recent ones (the last {@link RECENT_LIMIT}).
   */
  track(view: TransactionView): () => void {
    this.live.add(view);
    return () => {
      if (!this.live.delete(view)) return;
      this.recent.push(snapshot(view));
      if (this.recent.length > RECENT_LIMIT) this.recent.shift();
    };
  }

  /** Transactions open now, and the running and recently ended ones, newest first. */
  activity(): { active: number; recent: TransactionSnapshot[] } {
    const running = [...this.live].map(snapshot);
    return {
      active: this.live.size,
      recent: [...running, ...this.recent]
        .sort((a, b) => b.startedAt - a.startedAt)
        .slice(0, RECENT_LIMIT),
    };
  }

  get openCount(): number {
    return this.open;
  }

  start(): void {
    this.recovery.start();
  }

  /** Aborts when the host closes: background work of this block stops waiting. */
  get closing(): AbortSignal {
    return this.closer.signal;
  }

  close(): Promise<void> {
    this.closer.abort();
    return this.recovery.close();
  }
}

function snapshot(view: TransactionView): TransactionSnapshot {
  return {
    id: view.id,
    state: view.state,
    participants: view.participantCount,
    startedAt: view.startedAt,
  };
}
