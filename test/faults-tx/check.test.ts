/**
 * The crash tests' checker (check.ts) finds each broken invariant in a made-up history, and
 * none in a clean one: a crash test that passes proves something only if its checker can fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHistory, type History } from './check.js';
import type { LedgerCall } from './fixtures/ledger.js';
import type { LogView } from './fixtures/tx-node.js';

const call = (
  tx: string,
  op: LedgerCall['op'],
  result: LedgerCall['result'] = 'applied',
  redelivered = false,
) => ({
  tx,
  op,
  result,
  redelivered,
});
const record = (decision: LogView['decision'], finished = true): LogView => ({
  decision,
  finished,
  done: [finished, finished],
  resources: ['a', 'b'],
});

/** t1 committed (the caller saw it), t2 aborted by recovery, t3 never opened. */
function clean(): History {
  return {
    caller: { begun: ['t1', 't2', 't3'], committed: ['t1'], aborted: [], failed: [] },
    ledgers: new Map([
      [
        'a',
        [
          call('t1', 'prepare'),
          call('t1', 'commit'),
          call('t2', 'prepare'),
          call('t2', 'rollback'),
        ],
      ],
      [
        'b',
        [
          call('t1', 'prepare'),
          call('t1', 'commit'),
          call('t1', 'commit', 'repeat', true),
          call('t2', 'rollback'),
        ],
      ],
    ]),
    log: { t1: record('commit'), t2: record('abort'), t3: null },
  };
}

const violations = (history: History) => checkHistory(history).violations;

describe('crash test checker', () => {
  it('finds nothing wrong in a clean history, and counts it', () => {
    const verdict = checkHistory(clean());
    assert.deepEqual(verdict.violations, []);
    assert.equal(verdict.committed, 1);
    assert.equal(verdict.aborted, 1);
    assert.equal(verdict.unopened, 1);
    assert.equal(verdict.finishedByRecovery, 1);
    assert.equal(verdict.repeats, 1);
    assert.equal(verdict.phaseTwoCalls, 1);
  });

  it('a caller that saw committed for an aborted transaction', () => {
    const history = clean();
    history.caller.committed.push('t2');
    assert.match(violations(history).join(), /t2: the caller saw committed, the log says abort/);
  });

  it('a participant left out of a commit, or committed in an abort', () => {
    const history = clean();
    (history.ledgers.get('b') as LedgerCall[]).splice(1, 2);
    assert.match(violations(history).join(), /t1: committed, but b is prepared/);
    const other = clean();
    (other.ledgers.get('a') as LedgerCall[]).splice(3, 1, call('t2', 'commit'));
    assert.match(violations(other).join(), /t2: aborted, but a is committed/);
  });

  it('a commit after a rollback, a commit without a prepare, a repeat not marked redelivered', () => {
    const history = clean();
    (history.ledgers.get('a') as LedgerCall[]).push(call('t2', 'commit', 'conflict', true));
    (history.ledgers.get('b') as LedgerCall[]).push(call('t1', 'commit', 'repeat', false));
    const found = violations(history).join('\n');
    assert.match(found, /a commit of t2: after the opposite outcome/);
    assert.match(found, /b commit of t1: repeated, not marked redelivered/);
    const unprepared = clean();
    (unprepared.ledgers.get('b') as LedgerCall[]).splice(0, 1);
    (unprepared.ledgers.get('b') as LedgerCall[])[0] = call('t1', 'commit', 'unprepared');
    assert.match(violations(unprepared).join(), /b commit of t1: commit without a prepare/);
  });

  it('an unfinished or undecided record, and work on a transaction with no record', () => {
    const history = clean();
    const log = history.log as Record<string, LogView | null>;
    log['t1'] = record('commit', false);
    log['t2'] = record(undefined, false);
    (history.ledgers.get('a') as LedgerCall[]).push(call('t3', 'prepare'));
    const found = violations(history).join('\n');
    assert.match(found, /t1: not finished in the log/);
    assert.match(found, /t2: no decision in the log/);
    assert.match(found, /t3: no log record, but a acted on it/);
  });
});
