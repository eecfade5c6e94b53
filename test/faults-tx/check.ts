/**
 * The invariants of the crash tests, checked on what the processes left behind: the callers'
 * stdout lines, every resource's ledger and the coordinator log.
 *
 * - Every transaction is finished in the log, and every participant agrees with its decision:
 *   all committed, or none committed and every one that prepared rolled back.
 * - No participant applied a commit (or rollback) twice, or a commit after a rollback; a phase
 *   call that reached a ledger again was marked `redelivered`.
 * - No caller saw `committed` for a transaction that ended aborted (nor `aborted` for one that
 *   committed).
 */
import type { LedgerCall, LedgerState } from './fixtures/ledger.js';
import type { LogView } from './fixtures/tx-node.js';
import type { CallerLines } from './tx-process.js';

export interface History {
  /** What every coordinating caller printed, all incarnations together. */
  readonly caller: CallerLines;
  /** Every resource's call log. */
  readonly ledgers: ReadonlyMap<string, readonly LedgerCall[]>;
  /** The log's record of every begun transaction (`null`: none, it was never opened). */
  readonly log: Readonly<Record<string, LogView | null>>;
}

export interface Verdict {
  readonly violations: string[];
  readonly committed: number;
  readonly aborted: number;
  /** Begun but killed before the log had a record (no participant heard of them). */
  readonly unopened: number;
  /** Settled by recovery: the caller saw neither outcome (it was killed first). */
  readonly finishedByRecovery: number;
  /** Commit or rollback calls a ledger found applied already (redeliveries it absorbed). */
  readonly repeats: number;
  /** Phase-two calls per transaction and participant, beyond the first. */
  readonly phaseTwoCalls: number;
}

/** Check a history; every broken invariant is one line of `violations`. */
export function checkHistory(history: History): Verdict {
  const violations: string[] = [];
  const begun = new Set(history.caller.begun);
  const states = new Map<string, Map<string, LedgerState>>();
  let repeats = 0;
  let phaseTwoCalls = 0;
  for (const [resource, calls] of history.ledgers) {
    const mine = new Map<string, LedgerState>();
    states.set(resource, mine);
    for (const call of calls) {
      const where = `${resource} ${call.op} of ${call.tx}`;
      if (!begun.has(call.tx)) violations.push(`${where}: a transaction no caller began`);
      if (call.op !== 'prepare') phaseTwoCalls++;
      if (call.result === 'conflict') violations.push(`${where}: after the opposite outcome`);
      if (call.result === 'unprepared') violations.push(`${where}: commit without a prepare`);
      if (call.result === 'repeat' && call.op !== 'prepare') {
        repeats++;
        if (!call.redelivered) violations.push(`${where}: repeated, not marked redelivered`);
      }
      if (call.result === 'applied' || call.result === 'unprepared')
        mine.set(
          call.tx,
          call.op === 'prepare' ? 'prepared' : call.op === 'commit' ? 'committed' : 'rolled-back',
        );
    }
  }
  // Each transaction's phase-two call count, the first per participant excluded.
  const firstCalls = new Set<string>();
  for (const [resource, calls] of history.ledgers)
    for (const call of calls) if (call.op !== 'prepare') firstCalls.add(`${resource} ${call.tx}`);
  phaseTwoCalls -= firstCalls.size;

  const committedBy = new Set(history.caller.committed);
  const abortedBy = new Set(history.caller.aborted);
  let committed = 0;
  let aborted = 0;
  let unopened = 0;
  let finishedByRecovery = 0;
  for (const id of begun) {
    const record = history.log[id];
    const touched = [...states].filter(([, mine]) => mine.has(id)).map(([resource]) => resource);
    if (record === null || record === undefined) {
      unopened++;
      if (touched.length > 0)
        violations.push(`${id}: no log record, but ${touched.join(', ')} acted on it`);
      if (committedBy.has(id))
        violations.push(`${id}: the caller saw committed, the log has no record`);
      continue;
    }
    if (!record.finished)
      violations.push(`${id}: not finished in the log (decision ${record.decision})`);
    if (record.decision === undefined) {
      violations.push(`${id}: no decision in the log`);
      continue;
    }
    if (!committedBy.has(id) && !abortedBy.has(id)) finishedByRecovery++;
    const each = record.resources.map((resource) => ({
      resource,
      state: states.get(resource)?.get(id),
    }));
    if (record.decision === 'commit') {
      committed++;
      if (abortedBy.has(id)) violations.push(`${id}: the caller saw aborted, the log says commit`);
      for (const { resource, state } of each)
        if (state !== 'committed')
          violations.push(`${id}: committed, but ${resource} is ${state ?? 'untouched'}`);
    } else {
      aborted++;
      if (committedBy.has(id))
        violations.push(`${id}: the caller saw committed, the log says abort`);
      for (const { resource, state } of each)
        if (state === 'committed' || state === 'prepared')
          violations.push(`${id}: aborted, but ${resource} is ${state}`);
    }
  }
  return { violations, committed, aborted, unopened, finishedByRecovery, repeats, phaseTwoCalls };
}

/** Merge the caller lines of several coordinator incarnations. */
export function mergeLines(all: readonly CallerLines[]): CallerLines {
  return {
    begun: all.flatMap((l) => l.begun),
    committed: all.flatMap((l) => l.committed),
    aborted: all.flatMap((l) => l.aborted),
    failed: all.flatMap((l) => l.failed),
  };
}
