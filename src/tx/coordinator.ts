import type { TxDecision } from '../backends/ports.js';
import { TransactionAbortedError, TransactionStateError } from '../errors/errors.js';
import { sleep } from '../util/sleep.js';
import type { Enlisted, Phase } from './participants.js';
import { deliver, type Delivery } from './phase-two.js';
import type { TransactionCore } from './transaction-core.js';
import type { AbortReason, TransactionState } from './types.js';
import { errorReason, reasonText } from './votes.js';

/** Pause between attempts at recording the decision while the backend is away, ms. */
const DECIDE_RETRY_MS = 100;
/** Reads of the log, one per recovery interval, before an in-doubt transaction's objects are given up. */
const FOLLOW_UP_READS = 100;

/** One commit as the coordinator runs it. */
export interface CommitRun {
  readonly id: string;
  readonly label: string | undefined;
  readonly participants: readonly Enlisted[];
  /** Bound of each participant's prepare, ms. */
  readonly timeout: number;
  setState(state: TransactionState): void;
  /** Background failures (a participant that could not be told the outcome). */
  report(what: string, error: unknown): void;
}

/**
 * Two-phase commit. Named resources first get a durable record (before any prepare message), and
 * the decision is written to the log before phase two; the decision on record wins, so a
 * recovering node's presumed abort beats a slow coordinator's commit. Object-only transactions
 * write nothing. Resolves once committed; rejects with `TransactionAbortedError` listing every
 * reason, or `TransactionStateError` (state `in-doubt`) when the decision could not be recorded.
 */
export async function runCommit(core: TransactionCore, run: CommitRun): Promise<void> {
  const { store, nodeId, settings } = core.env;
  const named = run.participants.filter((p) => p.index !== undefined);
  const logged = named.length > 0;
  if (logged) {
    try {
      const entries = named.map((p) => ({ resource: p.name, work: p.encoded! }));
      await store.open(run.id, nodeId, entries, settings.leaseMs);
    } catch (error) {
      // Nothing was asked to prepare: roll back the objects and report the log as the reason.
      core.outcomes.set(run.id, 'aborted');
      run.setState('aborting');
      await phaseTwo(
        core,
        run,
        'rollback',
        run.participants.filter((p) => p.index === undefined),
      );
      run.setState('aborted');
      throw aborted(run, [errorReason('transaction log', error)]);
    }
  }
  const stopLease = logged ? renewLease(core, run.id) : () => undefined;
  try {
    run.setState('preparing');
    const reasons = await prepareAll(run);
    let decision: TxDecision = reasons.length === 0 ? 'commit' : 'abort';
    // Who hears the outcome now: a named resource only once the decision is on record.
    let told = run.participants;
    if (logged) {
      const recorded = await recordDecision(core, run, decision, reasons);
      if (recorded === undefined) {
        // An abort the log could not take: only an abort can ever be on record (this coordinator
        // never asked for a commit), so the objects let go now and recovery, presuming abort,
        // rolls back the named resources.
        told = run.participants.filter((p) => p.index === undefined);
      }
      if (recorded === 'abort' && decision === 'commit') {
        reasons.push({
          participant: 'coordinator',
          kind: 'recovered',
          message:
            'another node aborted the transaction (presumed abort) after this coordinator ' +
            'stopped renewing its lease',
        });
      }
      decision = recorded ?? 'abort';
    }
    core.outcomes.set(run.id, decision === 'commit' ? 'committed' : 'aborted');
    if (decision === 'commit') {
      run.setState('committing');
      await phaseTwo(core, run, 'commit', run.participants);
      run.setState('committed');
      return;
    }
    run.setState('aborting');
    await phaseTwo(core, run, 'rollback', told);
    run.setState('aborted');
    throw aborted(run, reasons);
  } finally {
    stopLease();
  }
}

/** Prepare every participant at once, each bounded by the timeout; every no is a reason. */
async function prepareAll(run: CommitRun): Promise<AbortReason[]> {
  const votes = await Promise.all(
    run.participants.map(async (p): Promise<AbortReason | undefined> => {
      try {
        const vote = await p.prepare(run.timeout);
        if (vote?.vote === 'prepared') return undefined;
        const reason = vote?.vote === 'refused' ? vote.reason : 'answered with no vote';
        return { participant: p.name, kind: 'refused', message: reason };
      } catch (error) {
        const reason = errorReason(p.name, error);
        return reason.code === 'PB_TIMEOUT'
          ? {
              ...reason,
              kind: 'timeout',
              message: `did not prepare within ${run.timeout} ms (${reason.message})`,
            }
          : reason;
      }
    }),
  );
  return votes.filter((r): r is AbortReason => r !== undefined);
}

/**
 * Write the decision (first one recorded wins) and return the one on record. While the backend
 * is away a commit is retried until the lease would lapse; then the transaction is in doubt and
 * recovery settles it. An abort is tried once: undefined when it could not be written (presumed
 * abort makes the record unnecessary).
 */
async function recordDecision(
  core: TransactionCore,
  run: CommitRun,
  decision: TxDecision,
  reasons: readonly AbortReason[],
): Promise<TxDecision | undefined> {
  const until = performance.now() + core.env.settings.leaseMs;
  for (;;) {
    try {
      return await core.env.store.decide(run.id, decision, reasons.map(reasonText));
    } catch (error) {
      if (decision === 'abort') {
        run.report('decide', error);
        return undefined;
      }
      if (performance.now() + DECIDE_RETRY_MS >= until) {
        run.setState('in-doubt');
        core.outcomes.set(run.id, 'in-doubt');
        tellObjectsLater(core, run).catch((e: unknown) => run.report('in-doubt', e));
        throw new TransactionStateError(
          `Transaction ${run.id} is in doubt: its decision could not be recorded ` +
            `(${error instanceof Error ? error.message : String(error)}). Recovery settles it ` +
            '(an abort unless a commit was recorded); ask transactionManager.outcome(id).',
          { details: { transactionId: run.id, state: 'in-doubt' }, cause: error },
        );
      }
      await sleep(DECIDE_RETRY_MS);
    }
  }
}

/**
 * The objects of an in-doubt transaction are in no log: read the decision once per recovery
 * interval (recovery records one when the lease lapses) and tell them. Given up, and reported,
 * after {@link FOLLOW_UP_READS} reads or when the host closes.
 */
async function tellObjectsLater(core: TransactionCore, run: CommitRun): Promise<void> {
  const objects = run.participants.filter((p) => p.index === undefined);
  if (objects.length === 0) return;
  const { store, settings } = core.env;
  for (let read = 0; read < FOLLOW_UP_READS; read++) {
    await sleep(settings.recoveryInterval, core.closing);
    if (core.closing.aborted) break;
    const decision = await store.get(run.id).then(
      (record) => record?.decision,
      () => undefined,
    );
    if (decision === undefined) continue;
    core.outcomes.set(run.id, decision === 'commit' ? 'committed' : 'aborted');
    await phaseTwo(core, run, decision === 'commit' ? 'commit' : 'rollback', objects);
    return;
  }
  run.report(
    'in-doubt',
    new TransactionStateError(
      `Transaction ${run.id} is still in doubt: its participant objects were not told the outcome.`,
      { details: { transactionId: run.id, state: 'in-doubt' } },
    ),
  );
}

/**
 * Tell `participants` the outcome, named ones retried until acknowledged within the lease. One
 * still unreached then is left to recovery (the record stays unfinished) and reported.
 */
async function phaseTwo(
  core: TransactionCore,
  run: CommitRun,
  phase: Phase,
  participants: readonly Enlisted[],
): Promise<void> {
  const { settings, store } = core.env;
  const bounds = {
    until: performance.now() + settings.leaseMs,
    attemptMs: settings.prepareTimeout,
    redelivered: false,
  };
  const results: Delivery[] = await Promise.all(participants.map((p) => deliver(p, phase, bounds)));
  let unreached = false;
  results.forEach((result, i) => {
    if (result.ok) return;
    const p = participants[i]!;
    if (p.index !== undefined) unreached = true;
    run.report(
      phase,
      new TransactionStateError(
        `Participant "${p.name}" of transaction ${run.id} could not be told to ${phase}` +
          (p.index !== undefined ? '; recovery keeps trying.' : '.'),
        { details: { transactionId: run.id, participant: p.name, phase }, cause: result.error },
      ),
    );
  });
  if (unreached || !participants.some((p) => p.index !== undefined)) return;
  await store
    .finish(run.id, settings.retentionMs)
    .catch((error: unknown) => run.report('finish', error));
}

/** Keep the coordinator's lease while it works, so that recovery leaves the transaction alone. */
function renewLease(core: TransactionCore, id: string): () => void {
  const { store, nodeId, settings, logger } = core.env;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    store.renew(id, nodeId, settings.leaseMs).then(
      (held) => {
        if (!held) {
          logger.warn({ transactionId: id }, 'transaction lease taken over by another node');
        } else if (!stopped) schedule();
      },
      (error: unknown) => {
        logger.debug({ err: error, transactionId: id }, 'could not renew a transaction lease');
        if (!stopped) schedule();
      },
    );
  };
  const schedule = (): void => {
    timer = setTimeout(tick, Math.max(1, Math.floor(settings.leaseMs / 3)));
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function aborted(run: CommitRun, reasons: readonly AbortReason[]): TransactionAbortedError {
  const what =
    run.label === undefined ? `Transaction ${run.id}` : `Transaction "${run.label}" (${run.id})`;
  const list = reasons.map(reasonText).join('; ').replace(/\.$/, '');
  return new TransactionAbortedError(`${what} aborted: ${list}.`, {
    details: { transactionId: run.id, reasons },
  });
}
