import { BackpressureError } from '../errors/errors.js';
import { randomId } from '../util/ids.js';
import { BoundedRecord } from './bounded-record.js';
import { Recovery } from './recovery.js';
import type { TransactionEnv } from './transaction-manager.js';
import type { TransactionOutcome } from './types.js';

/** Phase-two messages this node remembers applying (a repeat is skipped without a log read). */
const APPLIED_LIMIT = 10_000;
/** Outcomes of this node's own transactions kept for `outcome()` (object-only ones are never logged). */
const OUTCOMES_LIMIT = 10_000;

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
