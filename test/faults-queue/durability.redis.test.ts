/**
 * Durability of an acknowledged send: Redis is killed with SIGKILL during a stream of sends and
 * started again on the same data directory and port. With `appendfsync always` every send that
 * resolved is still there afterwards; with `appendfsync everysec` and without persistence, what
 * was lost is measured and printed, not asserted (those settings promise no such thing). Each
 * setting gets its own throwaway redis-server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRedisServer } from '../helpers/redis-server.js';
import {
  Deliveries,
  errorSummary,
  figure,
  hold,
  missing,
  newOutcome,
  sendLoop,
  startQueueHost,
  uniqueNamespace,
  until,
  type Numbered,
} from './support.js';

const SETTINGS = [
  {
    name: 'appendfsync always',
    args: ['--appendonly', 'yes', '--appendfsync', 'always'],
    guaranteed: true,
  },
  {
    name: 'appendfsync everysec',
    args: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
    guaranteed: false,
  },
  { name: 'no persistence', args: [], guaranteed: false },
] as const;

const BEFORE_KILL = 2000;
const AFTER_RESTART = 300;
const QUEUE = 'durable.sends';

describe(
  'message queue: acknowledged sends across a Redis crash (kill -9, restart)',
  { timeout: 170_000 },
  () => {
    for (const setting of SETTINGS) {
      it(`${setting.name}: ${setting.guaranteed ? 'loses no acknowledged send' : 'measures what is lost'}`, async (t) => {
        const server = await startRedisServer([...setting.args]);
        const { host, mq } = await startQueueHost(
          { redis: server.url, namespace: uniqueNamespace('mq-durable'), operationTimeout: 1000 },
          'durable-sender',
        );
        try {
          const outcome = newOutcome();
          let stop = false;
          const sending = sendLoop(mq, QUEUE, outcome, {
            parallel: 8,
            firstSeq: 0,
            more: () => !stop,
          });
          await until(
            () => outcome.acked.size >= BEFORE_KILL,
            60_000,
            `${BEFORE_KILL} sends acknowledged`,
          );

          // Nothing runs between this snapshot and the SIGKILL inside restart() (same tick).
          const ackedBeforeKill = new Set(outcome.acked);
          const restarting = server.restart();
          const killedAt = Date.now();
          await restarting;
          const seqAtRestart = Math.max(...outcome.acked, ...outcome.failed);
          const ackedAfter = () => [...outcome.acked].filter((seq) => seq > seqAtRestart).length;
          await until(() => ackedAfter() >= 1, 30_000, 'a send acknowledged after the restart');
          const flowingAfter = Date.now() - killedAt;
          await until(
            () => ackedAfter() >= AFTER_RESTART,
            30_000,
            `${AFTER_RESTART} sends after the restart`,
          );
          stop = true;
          await sending;

          // Read the queue back: receive everything that is there.
          const deliveries = new Deliveries();
          const consumer = mq.receive<Numbered>(QUEUE, (m) => deliveries.add(m.data.seq), {
            concurrency: 16,
          });
          await until(
            async () => {
              const stats = await mq.stats(QUEUE);
              return stats.waiting + stats.delayed + stats.inFlight === 0;
            },
            60_000,
            'the queue read back',
          );
          await consumer.stop();

          const lost = missing(outcome.acked, deliveries.seen);
          const lostBeforeKill = missing(ackedBeforeKill, deliveries.seen);
          const failedButStored = [...outcome.failed].filter((seq) => deliveries.has(seq));
          figure(
            t,
            `${setting.name}: sends acknowledged`,
            outcome.acked.size,
            `(${ackedBeforeKill.size} before the kill)`,
          );
          figure(
            t,
            `${setting.name}: sends refused`,
            outcome.failed.size,
            `(${errorSummary(outcome)})`,
          );
          figure(t, `${setting.name}: refused sends found stored anyway`, failedButStored.length);
          figure(t, `${setting.name}: sends acknowledged again`, flowingAfter, 'ms after the kill');
          figure(
            t,
            `${setting.name}: acknowledged sends lost`,
            lost.length,
            `(${lostBeforeKill.length} of them acknowledged before the kill)`,
          );
          figure(
            t,
            `${setting.name}: messages read back`,
            deliveries.seen.size,
            `(${deliveries.duplicates} twice)`,
          );
          if (setting.guaranteed) assert.deepEqual(lost, [], 'every acknowledged send kept');
          // Whatever the setting: what was acknowledged after the restart is there.
          assert.deepEqual(
            lost.filter((seq) => seq > seqAtRestart),
            [],
            'sends acknowledged after the restart kept',
          );
        } finally {
          await host.stop();
          await server.stop();
        }
      });
    }

    it('appendfsync always: a consumer busy across the crash resumes by itself and loses nothing', async (t) => {
      const server = await startRedisServer([...SETTINGS[0].args]);
      const { host, mq } = await startQueueHost(
        {
          redis: server.url,
          namespace: uniqueNamespace('mq-durable-busy'),
          operationTimeout: 1000,
        },
        'durable-busy',
      );
      try {
        const queue = 'durable.busy';
        const deliveries = new Deliveries();
        // Handlers of 5 ms, so some are running (and holding leases) when Redis dies.
        const consumer = mq.receive<Numbered>(
          queue,
          async (m) => {
            await hold(5);
            deliveries.add(m.data.seq);
          },
          { concurrency: 4, leaseMs: 2000 },
        );
        const outcome = newOutcome();
        let stop = false;
        // Paced below what the consumer handles, so no backlog hides when it resumed.
        const sending = sendLoop(mq, queue, outcome, {
          parallel: 2,
          firstSeq: 0,
          more: () => !stop,
          pauseMs: 5,
        });
        await until(() => deliveries.seen.size >= 200, 60_000, '200 messages processed');
        const restarting = server.restart();
        const killedAt = Date.now();
        const inFlightAtKill = consumer.inFlight;
        await restarting;
        const restartedAfter = Date.now() - killedAt;
        const seqAtRestart = Math.max(...outcome.acked, ...outcome.failed);
        const sentAfter = () => [...deliveries.seen].filter((seq) => seq > seqAtRestart).length;
        await until(() => sentAfter() >= 1, 30_000, 'a message sent after the restart processed');
        figure(
          t,
          'busy consumer: first message sent after the restart processed',
          Date.now() - killedAt,
          `ms after the kill (Redis listening again after ${restartedAfter} ms; ${inFlightAtKill} messages held at the kill)`,
        );
        await until(
          () => sentAfter() >= 200,
          30_000,
          '200 messages sent after the restart processed',
        );
        stop = true;
        await sending;
        await until(
          () => missing(outcome.acked, deliveries.seen).length === 0,
          30_000,
          'every acknowledged send processed',
        ).catch((e: Error) => {
          throw new Error(
            `${e.message}: ${missing(outcome.acked, deliveries.seen).length} missing`,
          );
        });
        await consumer.stop();
        figure(
          t,
          'busy consumer: acknowledged sends lost',
          0,
          `of ${outcome.acked.size} (${outcome.failed.size} refused: ${errorSummary(outcome)})`,
        );
        figure(t, 'busy consumer: processed twice', deliveries.duplicates);
      } finally {
        await host.stop();
        await server.stop();
      }
    });
  },
);
