// The transactions scenario's participants (shared by ours and the baselines) and its hand-rolled
// two-phase commits: the same participants driven without a coordinator, with only the log
// writes any 2PC needs (open before prepare, the decision before phase two, one done mark per
// participant), durable the way ours is on that backend.
import { open } from 'node:fs/promises';

/** Participants of one transaction: three named resources, each a small ledger. */
export const RESOURCES = ['ledger-a', 'ledger-b', 'ledger-c'];

/**
 * A participant that stages its work at prepare (keyed by transaction id) and applies it at
 * commit: the least any real participant does. Counts every phase for the run's checks.
 */
export function ledger() {
  const staged = new Map();
  let prepared = 0;
  let committed = 0;
  let rolledBack = 0;
  let total = 0;
  return {
    resource: {
      prepare(work, info) {
        staged.set(info.transactionId, work);
        prepared++;
      },
      commit(work, info) {
        const w = staged.get(info.transactionId) ?? work;
        staged.delete(info.transactionId);
        total += w.amount;
        committed++;
      },
      rollback(_work, info) {
        staged.delete(info.transactionId);
        rolledBack++;
      },
    },
    counts: () => ({ prepared, committed, rolledBack, staged: staged.size, total }),
  };
}

/** The work each participant is given (the same object shape for every implementation). */
export const workFor = (seq) => RESOURCES.map((_, i) => ({ account: `acc-${i}`, amount: 1, seq }));

/**
 * One hand-rolled two-phase commit over `participants` (`{ prepare(work, info), commit(work,
 * info) }`, possibly remote) and `log` (`{ open(id, n), decide(id), done(id, index) }`).
 */
export async function handRolledCommit(participants, log, id, works) {
  const infos = participants.map((_, index) => ({ transactionId: id, index, redelivered: false }));
  await log.open(id, participants.length);
  await Promise.all(participants.map((p, i) => p.prepare(works[i], infos[i])));
  await log.decide(id);
  await Promise.all(
    participants.map((p, i) =>
      Promise.resolve(p.commit(works[i], infos[i])).then(() => log.done(id, i)),
    ),
  );
}

/** No log at all: the participants' own cost plus the two rounds of calls. */
export const noLog = {
  open: async () => undefined,
  decide: async () => undefined,
  done: async () => undefined,
};

/**
 * An append-only JSON-lines file, group-committed: lines appended while a write+`fdatasync` is
 * under way go out together in the next one; each append resolves once its line is on disk.
 */
export async function fileLog(path) {
  const fh = await open(path, 'a');
  let lines = [];
  let waiters = [];
  let writing = false;
  const flush = async () => {
    writing = true;
    while (lines.length) {
      const batch = lines;
      const batchWaiters = waiters;
      lines = [];
      waiters = [];
      try {
        await fh.write(batch.join(''));
        await fh.datasync();
        for (const w of batchWaiters) w.resolve();
      } catch (error) {
        for (const w of batchWaiters) w.reject(error);
      }
    }
    writing = false;
  };
  const append = (record) =>
    new Promise((resolve, reject) => {
      lines.push(`${JSON.stringify(record)}\n`);
      waiters.push({ resolve, reject });
      if (!writing) void flush();
    });
  return {
    open: (id, n) => append({ id, open: n }),
    decide: (id) => append({ id, decision: 'commit' }),
    done: (id, index) => append({ id, done: index }),
    close: () => fh.close(),
  };
}

/**
 * The same records in Redis, one command each: `HSET` of the open record (participant count,
 * state), `HSET` of the decision, `HSET` of each done mark, on one ioredis client.
 */
export function redisLog(redis, prefix) {
  const key = (id) => `${prefix}:tx:${id}`;
  return {
    open: (id, n) => redis.hset(key(id), 'n', n, 'state', 'open'),
    decide: (id) => redis.hset(key(id), 'state', 'commit'),
    done: (id, index) => redis.hset(key(id), `d${index}`, 1),
  };
}
