import type { TxLogRecord } from '../backends/ports.js';
import { settleWithin } from '../util/bound.js';
import { namedParticipant } from './participants.js';
import { deliver, type Delivery } from './phase-two.js';
import type { TransactionEnv } from './transaction-manager.js';
import type { RecoveryReport } from './types.js';

/** Records claimed per batch, and batches per pass (the rest waits for the next pass). */
const CLAIM_BATCH = 100;
const MAX_BATCHES = 10;
/** How long closing waits for a pass in flight, ms (what it leaves, the next pass redoes). */
const CLOSE_WAIT_MS = 1_000;
/** Who the recovery's phase messages come from. */
const RECOVERY_CALLER = '$tx-recovery';

/** Why recovery aborts a transaction that has no decision on record. */
export const PRESUMED_ABORT =
  'recovery: presumed abort (the coordinator stopped renewing its lease before deciding)';

/**
 * One loop per host: once on start and every `recoveryInterval`, take over the transactions
 * whose coordinator's lease lapsed and finish them the way they were decided, aborting those with
 * no decision (presumed abort). Passes never overlap.
 */
export class Recovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RecoveryReport> | undefined;
  private closed = false;

  constructor(private readonly env: TransactionEnv) {}

  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.background();
    this.timer = setInterval(() => this.background(), this.env.settings.recoveryInterval);
    // Recovery never keeps a process alive on its own.
    this.timer.unref();
  }

  /** Run a pass now (or join the one running); after close, an empty report. */
  pass(): Promise<RecoveryReport> {
    if (this.closed) return Promise.resolve({ examined: 0, committed: 0, aborted: 0, pending: 0 });
    return (this.running ??= this.run().finally(() => (this.running = undefined)));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (this.running !== undefined) await settleWithin(this.running, CLOSE_WAIT_MS);
  }

  private background(): void {
    if (this.closed || this.running !== undefined) return;
    this.pass().then(
      (report) => {
        if (report.examined > 0) this.env.logger.info({ ...report }, 'transaction recovery pass');
      },
      (error: unknown) =>
        this.env.logger.warn({ err: error }, 'transaction recovery pass failed; retried later'),
    );
  }

  private async run(): Promise<RecoveryReport> {
    const report = { examined: 0, committed: 0, aborted: 0, pending: 0 };
    const { store, nodeId, settings } = this.env;
    for (let batch = 0; batch < MAX_BATCHES && !this.closed; batch++) {
      const records = await store.claimExpired(nodeId, settings.leaseMs, CLAIM_BATCH);
      for (const record of records) {
        // A closed host takes on nothing more (the records it claimed lapse to other nodes).
        if (this.closed) break;
        report.examined++;
        const outcome = await this.settle(record);
        report[outcome]++;
      }
      if (records.length < CLAIM_BATCH) break;
    }
    return report;
  }

  /** Decide (presumed abort) if needed, deliver phase two to every participant not done, finish. */
  private async settle(record: TxLogRecord): Promise<'committed' | 'aborted' | 'pending'> {
    const { store, settings, rpc, codec } = this.env;
    const decision = record.decision ?? (await store.decide(record.id, 'abort', [PRESUMED_ABORT]));
    const phase = decision === 'commit' ? 'commit' : 'rollback';
    const env = { rpc, codec, caller: RECOVERY_CALLER };
    const bounds = {
      until: performance.now(),
      attemptMs: settings.prepareTimeout,
      redelivered: true,
    };
    const results = await Promise.all(
      record.participants.map((p, index) =>
        p.done
          ? Promise.resolve<Delivery>({ ok: true })
          : deliver(
              namedParticipant(env, record.id, p.resource, index, codec.decode(p.work), p.work),
              phase,
              bounds,
            ),
      ),
    );
    const failed = results.find((r) => !r.ok);
    if (failed !== undefined) {
      this.env.logger.warn(
        { transactionId: record.id, err: 'error' in failed ? failed.error : undefined },
        'transaction recovery: a participant could not be reached; retried on a later pass',
      );
      return 'pending';
    }
    await store.finish(record.id, settings.retentionMs);
    return decision === 'commit' ? 'committed' : 'aborted';
  }
}
