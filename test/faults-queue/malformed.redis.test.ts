/**
 * Malformed records written straight into a work queue's Redis keys: a payload that is not
 * MessagePack, a payload that is MessagePack but not a message envelope, garbage metadata, and
 * an id with nothing stored under it. Each is dead-lettered, repaired or dropped (and counted);
 * the receiver never crashes and the other messages keep flowing. Runs on a throwaway
 * redis-server, so nothing is left behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pack } from 'msgpackr';
import { createKeys } from '../../src/backends/redis/keys.js';
import { captureLogger } from '../backends/redis/support.js';
import { Deliveries, figure, until, useQueueServer, type Numbered } from './support.js';

const QUEUE = 'poisoned.jobs';
/** Work queues live under `mq:<name>` in the store (see the plan of the message queue). */
const STORE_QUEUE = `mq:${QUEUE}`;

describe('message queue with malformed records in Redis', { timeout: 120_000 }, () => {
  const log = captureLogger();
  const fx = useQueueServer('mq-malformed', {}, { logger: log.logger });

  it('dead-letters or drops each malformed record, keeps the receiver alive and the rest flowing', async (t) => {
    const { mq, host } = fx.node;
    const keys = createKeys(fx.namespace).queue(STORE_QUEUE);
    await mq.send<Numbered>(QUEUE, { seq: 1 });
    const notPack = await mq.send<Numbered>(QUEUE, { seq: 2 });
    const notEnvelope = await mq.send<Numbered>(QUEUE, { seq: 3 });
    const badMeta = await mq.send<Numbered>(QUEUE, { seq: 4 });
    await mq.send<Numbered>(QUEUE, { seq: 5 });
    // 0xc1 is the one byte MessagePack never uses; a bare string is MessagePack but no envelope.
    assert.equal(await fx.raw.hset(keys.data, notPack, Buffer.from([0xc1, 0xc1, 0xc1])), 0);
    assert.equal(await fx.raw.hset(keys.data, notEnvelope, pack('just a string')), 0);
    assert.equal(await fx.raw.hset(keys.meta, badMeta, 'garbage'), 0);
    // An id that nothing is stored under, queued ahead of the rest.
    await fx.raw.lpush(keys.ready, '987654321');

    const deliveries = new Deliveries();
    const strays: unknown[] = []; // deliveries whose data is not one of ours (must stay empty)
    const errors: string[] = [];
    fx.node.context.eventBus.subscribe(
      'plugin.error',
      (data) => void errors.push(JSON.stringify(data)),
    );
    const consumer = mq.receive<Numbered | undefined>(
      QUEUE,
      (m) =>
        typeof m.data?.seq === 'number' ? deliveries.add(m.data.seq) : void strays.push(m.data),
      { concurrency: 4 },
    );
    await until(
      () => deliveries.has(1) && deliveries.has(4) && deliveries.has(5),
      20_000,
      'the good messages',
    );
    await until(async () => (await mq.stats(QUEUE)).dead === 2, 20_000, 'two dead letters');

    // Still flowing: a message sent now is processed.
    await mq.send<Numbered>(QUEUE, { seq: 6 });
    await until(() => deliveries.has(6), 20_000, 'a message sent after the malformed ones');
    const stats = await mq.stats(QUEUE);
    const dead = await mq.deadLetters(QUEUE);
    const warnings = log.lines.filter((line) => line.level >= 40);

    figure(
      t,
      'good messages processed',
      [...deliveries.seen].sort().join(', '),
      '(of 1, 4, 5, 6; 4 had garbage metadata)',
    );
    figure(t, 'malformed payloads dead-lettered', dead.length, 'of 2');
    for (const letter of dead) figure(t, `dead letter ${letter.id}: reason`, `“${letter.reason}”`);
    figure(
      t,
      'id without data dropped',
      (await fx.raw.hexists(keys.meta, '987654321')) === 0 ? 'yes' : 'no',
    );
    figure(
      t,
      'warnings logged',
      warnings.length,
      `(${[...new Set(warnings.map((w) => w.msg))].join(' | ')})`,
    );
    figure(t, 'plugin.error events', errors.length);
    figure(t, 'malformed records handed to the handler', strays.length);

    assert.deepEqual([...deliveries.seen].sort(), [1, 4, 5, 6], 'every good message, once');
    assert.equal(deliveries.duplicates, 0);
    assert.deepEqual(strays, [], 'no malformed record reached the handler');
    assert.deepEqual(new Set(dead.map((d) => d.id)), new Set([notPack, notEnvelope]));
    for (const letter of dead) assert.ok(letter.reason.length > 0, 'a reason is recorded');
    assert.equal(stats.waiting + stats.inFlight, 0, 'nothing left behind');
    assert.equal(host.health().status, 'running');
    await consumer.stop();
  });

  it('repairs a queue key of the wrong type, for a sender and for a waiting receiver', async (t) => {
    const { mq, host } = fx.node;
    const queue = 'poisoned.types';
    const keys = createKeys(fx.namespace).queue(`mq:${queue}`);
    const deliveries = new Deliveries();
    const consumer = mq.receive<Numbered>(queue, (m) => deliveries.add(m.data.seq), {
      concurrency: 2,
    });
    await mq.send<Numbered>(queue, { seq: 1 });
    await until(() => deliveries.has(1), 20_000, 'a message before the damage');
    const repairs = () => log.lines.filter((l) => /wrong type/.test(l.msg)).length;
    const repairsBefore = repairs();

    // The payload hash becomes a string: the sender's enqueue meets it first.
    await fx.raw.del(keys.data);
    await fx.raw.set(keys.data, 'not a hash');
    const outcome = await mq.send<Numbered>(queue, { seq: 2 }).then(
      () => 'accepted',
      (e: Error & { code?: string }) => `${e.name} ${e.code ?? ''}`.trim(),
    );
    figure(t, 'send into a queue whose payload key is a string', outcome);
    await until(() => deliveries.has(2), 20_000, 'the message sent into the damaged queue');

    // Again, now with the receiver waiting: a ready id makes its next claim meet the damage.
    await until(async () => (await fx.raw.exists(keys.wake)) === 1, 20_000, 'the receiver waiting');
    await fx.raw.del(keys.data);
    await fx.raw.set(keys.data, 'not a hash');
    await fx.raw.lpush(keys.ready, '424242');
    // Wake the receiver as an enqueue would; only its claim touches the damaged key now.
    await fx.raw.publish(keys.notify, '');
    await until(
      async () => (await fx.raw.type(keys.data)) !== 'string',
      20_000,
      'the receiver’s claim to repair the key',
    );
    await mq.send<Numbered>(queue, { seq: 3 });
    await until(() => deliveries.has(3), 20_000, 'a message after the second damage');

    figure(t, 'messages processed', [...deliveries.seen].sort().join(', '), '(of 1, 2, 3)');
    figure(t, 'wrong-type warnings logged', repairs() - repairsBefore, '(rate-limited)');
    assert.equal(outcome, 'accepted', 'the sender repaired the key and stored the message');
    assert.deepEqual([...deliveries.seen].sort(), [1, 2, 3]);
    assert.ok(repairs() > repairsBefore, 'the repair is logged');
    assert.equal(host.health().status, 'running');
    await consumer.stop();
  });
});
