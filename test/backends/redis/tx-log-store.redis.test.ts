import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis, type Command } from 'ioredis';
import { ValidationError } from '../../../src/errors/errors.js';
import type { Backend, TransactionLogStore } from '../../../src/backends/ports.js';
import { keySlot } from '../../../src/backends/redis/key-slots.js';
import { createKeys, TX_PARTITIONS, txPartition } from '../../../src/backends/redis/keys.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

/** Redis TIME in epoch ms. */
async function redisNow(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** Wait until Redis's own clock is past `until` (epoch ms): the only clock leases follow. */
async function untilRedisPasses(client: Redis, until: number): Promise<void> {
  for (;;) {
    const now = await redisNow(client);
    if (now > until) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(until - now + 1, 1000)));
  }
}

describe('RedisTxLogStore', () => {
  const namespace = uniqueNamespace('txlog');
  const keys = createKeys(namespace);
  let a: Backend;
  let b: Backend;
  let logA: TransactionLogStore;
  let logB: TransactionLogStore;
  let client: Redis;
  let seq = 0;
  const newId = (label: string): string => `tx-${label}-${++seq}`;

  before(async () => {
    a = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'tx-a');
    b = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'tx-b');
    logA = a.transactions;
    logB = b.transactions;
    client = new Redis(SHARED_REDIS_URL);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    client?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('puts a record and its partition indexes in one slot, and spreads ids over every partition', async (t) => {
    const slots = new Set<number>();
    for (const p of keys.txPartitions) {
      const slot = keySlot(p.unfinished);
      assert.equal(keySlot(p.byResource), slot);
      assert.equal(keySlot(p.record('any id')), slot);
      assert.equal(keySlot(p.record('id with {braces} and }')), slot);
      slots.add(slot);
    }
    assert.equal(keys.txPartitions.length, TX_PARTITIONS);
    figure(t, 'distinct Cluster slots of the 16 partitions', slots.size);
    assert.ok(slots.size >= 12, `partitions in ${slots.size} slots`);

    // Stable: the partition is a function of the id alone (FNV-1a mod 16).
    assert.equal(txPartition('abc'), txPartition('abc'));
    const counts = new Array<number>(TX_PARTITIONS).fill(0);
    for (let i = 0; i < 1600; i++) counts[txPartition(`00000000-tx-${i}`)]!++;
    figure(
      t,
      'ids per partition of 1600 (min / max)',
      `${Math.min(...counts)} / ${Math.max(...counts)}`,
    );
    assert.ok(Math.min(...counts) > 50, 'every partition gets a fair share');

    // Records land where the layout says.
    const ids = Array.from({ length: 32 }, () => newId('spread'));
    await Promise.all(
      ids.map((id) => logA.open(id, 'tx-a', [{ resource: 'r', work: bytes(id) }], 60_000)),
    );
    for (const id of ids) {
      const p = keys.txPartitions[txPartition(id)]!;
      assert.equal(await client.exists(p.record(id)), 1);
      assert.notEqual(await client.zscore(p.unfinished, id), null);
      assert.notEqual(await client.zscore(p.byResource, `r\0${id}`), null);
    }
    await Promise.all(ids.map((id) => logA.decide(id, 'abort', []).then(() => logA.finish(id, 0))));
  });

  it('opens a record with binary and large work, refuses the same id twice', async () => {
    const id = newId('open');
    const every = Uint8Array.from({ length: 256 }, (_, i) => i);
    const large = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const before = await redisNow(client);
    await logA.open(
      id,
      'tx-a',
      [
        { resource: 'bytes', work: every },
        { resource: 'large', work: large },
        { resource: 'empty', work: new Uint8Array(0) },
      ],
      600_000,
    );
    const record = await logB.get(id);
    assert.ok(record);
    assert.equal(record.coordinator, 'tx-a');
    assert.equal(record.leaseOwner, 'tx-a');
    assert.equal(record.decision, undefined);
    assert.equal(record.finished, false);
    assert.deepEqual(record.reasons, []);
    assert.ok(record.createdAt >= before && record.createdAt <= (await redisNow(client)));
    assert.ok(record.leaseUntil >= record.createdAt + 600_000);
    assert.deepEqual(
      record.participants.map((p) => [p.resource, p.done, p.work.byteLength]),
      [
        ['bytes', false, 256],
        ['large', false, large.byteLength],
        ['empty', false, 0],
      ],
    );
    assert.deepEqual(record.participants[0]!.work, every);
    assert.deepEqual(record.participants[1]!.work, large);

    await assert.rejects(logB.open(id, 'tx-b', [], 1000), ValidationError);
    assert.equal((await logA.get(id))?.coordinator, 'tx-a', 'the first record stays');
    assert.equal(await logA.get(newId('never')), undefined);
  });

  it('keeps the first decision, whoever asks second', async () => {
    const id = newId('decide');
    await logA.open(id, 'tx-a', [{ resource: 'r', work: bytes('w') }], 600_000);
    assert.equal(await logA.decide(id, 'abort', ['prepare timed out', 'r said no']), 'abort');
    assert.equal(await logB.decide(id, 'commit', []), 'abort');
    const record = await logB.get(id);
    assert.equal(record?.decision, 'abort');
    assert.deepEqual(record?.reasons, ['prepare timed out', 'r said no']);

    const committed = newId('decide');
    await logA.open(committed, 'tx-a', [{ resource: 'r', work: bytes('w') }], 600_000);
    assert.equal(await logA.decide(committed, 'commit', []), 'commit');
    assert.equal(await logB.decide(committed, 'abort', ['late']), 'commit');
    assert.deepEqual((await logA.get(committed))?.reasons, []);
  });

  it('presumes an abort for a transaction without a record, and refuses a late open of it', async () => {
    const id = newId('presumed');
    assert.equal(await logB.decide(id, 'commit', []), 'abort');
    const record = await logA.get(id);
    assert.equal(record?.decision, 'abort');
    assert.equal(record?.participants.length, 0);
    assert.equal(record?.coordinator, '');
    assert.ok(record.leaseUntil <= record.createdAt, 'lapsed at once: recovery finishes it');
    await assert.rejects(
      logA.open(id, 'tx-a', [{ resource: 'r', work: bytes('w') }], 1000),
      ValidationError,
    );
    assert.equal(await logA.decide(id, 'commit', []), 'abort');
    await logB.finish(id, 0);
  });

  it('lets exactly one decision win when two nodes race', async (t) => {
    const ids = Array.from({ length: 40 }, () => newId('race'));
    await Promise.all(
      ids.map((id) => logA.open(id, 'tx-a', [{ resource: 'r', work: bytes(id) }], 600_000)),
    );
    let commits = 0;
    await Promise.all(
      ids.map(async (id, i) => {
        // Either side held back by 0 to 3 event-loop turns (a fixed pattern), so each wins some.
        const after = (turns: number): Promise<void> =>
          turns === 0
            ? Promise.resolve()
            : new Promise((resolve) => setImmediate(() => void after(turns - 1).then(resolve)));
        const [first, second] = await Promise.all([
          after(i % 4).then(() => logA.decide(id, 'commit', [])),
          after((i >> 2) % 4).then(() => logB.decide(id, 'abort', ['presumed'])),
        ]);
        assert.equal(first, second, `${id}: both see the decision on record`);
        assert.equal((await logA.get(id))?.decision, first);
        if (first === 'commit') commits++;
      }),
    );
    figure(t, 'races won by the commit', commits, `of ${ids.length}`);
    await Promise.all(ids.map((id) => logA.finish(id, 0)));
  });

  it('marks a participant done once', async () => {
    const id = newId('done');
    await logA.open(
      id,
      'tx-a',
      [
        { resource: 'x', work: bytes('1') },
        { resource: 'y', work: bytes('2') },
      ],
      600_000,
    );
    await logA.decide(id, 'commit', []);
    assert.equal(await logB.markDone(id, 1), true);
    assert.equal(await logA.markDone(id, 1), false);
    await assert.rejects(logA.markDone(id, 2), ValidationError, 'no such participant');
    assert.equal(await logA.markDone(newId('missing'), 0), false, 'no record');
    assert.equal(
      await client.exists(
        keys.txPartitions[txPartition(`tx-missing-${seq}`)]!.record(`tx-missing-${seq}`),
      ),
      0,
      'not created',
    );
    assert.deepEqual(
      (await logA.get(id))?.participants.map((p) => p.done),
      [false, true],
    );
  });

  it('finishes: out of the indexes at once, the record kept for its retention, then gone', async (t) => {
    const id = newId('finish');
    const p = keys.txPartitions[txPartition(id)]!;
    await logA.open(id, 'tx-a', [{ resource: 'fin', work: bytes('w') }], 600_000);
    await logA.decide(id, 'commit', []);
    await logA.markDone(id, 0);
    assert.equal((await logA.unfinishedFor('fin', 10)).length, 1);
    await logA.finish(id, 60_000);
    assert.equal(await client.zscore(p.unfinished, id), null);
    assert.equal(await client.zscore(p.byResource, `fin\0${id}`), null);
    const ttl = await client.pttl(p.record(id));
    assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
    const late = await logB.get(id);
    assert.equal(late?.finished, true);
    assert.equal(late?.decision, 'commit');
    assert.deepEqual(await logA.unfinishedFor('fin', 10), []);
    // Finishing again keeps the first retention.
    await logA.finish(id, 1);
    assert.ok((await client.pttl(p.record(id))) > 1000);

    const short = newId('finish');
    await logA.open(short, 'tx-a', [], 600_000);
    await logA.decide(short, 'abort', ['no']);
    await logA.finish(short, 150);
    assert.equal((await logA.get(short))?.finished, true);
    const finishedAt = Date.now();
    await waitFor(async () => (await logA.get(short)) === undefined, 5000, 'the record to expire');
    figure(t, 'finished record with retention 150 ms gone after', Date.now() - finishedAt, 'ms');
    assert.equal(await logA.markDone(short, 0), false);
  });

  it('renews only for the lease owner', async () => {
    const id = newId('renew');
    await logA.open(id, 'tx-a', [{ resource: 'r', work: bytes('w') }], 1000);
    const first = (await logA.get(id))!.leaseUntil;
    assert.equal(await logA.renew(id, 'tx-a', 60_000), true);
    const renewed = (await logA.get(id))!.leaseUntil;
    assert.ok(renewed >= first + 59_000);
    const p = keys.txPartitions[txPartition(id)]!;
    assert.equal(Number(await client.zscore(p.unfinished, id)), renewed, 'the index follows');
    assert.equal(await logB.renew(id, 'tx-b', 60_000), false);
    assert.equal(await logB.renew(newId('missing'), 'tx-b', 60_000), false);
    await logA.decide(id, 'abort', []);
    await logA.finish(id, 0);
  });

  it('hands a lapsed lease (by Redis TIME) to one claimer, never while a lease runs', async (t) => {
    const resource = `claim-${seq}`;
    const ids = Array.from({ length: 24 }, () => newId('claim'));
    await Promise.all(ids.map((id) => logA.open(id, 'tx-a', [{ resource, work: bytes(id) }], 300)));
    const longest = Math.max(
      ...(await Promise.all(ids.map(async (id) => (await logA.get(id))!.leaseUntil))),
    );
    // Leases still run: nothing to claim (other tests' records are finished or leased long).
    const early = await logB.claimExpired('tx-b', 60_000, 100);
    assert.deepEqual(
      early.filter((r) => ids.includes(r.id)),
      [],
    );

    await untilRedisPasses(client, longest);
    // Two nodes claim at once, a few at a time: every record goes to exactly one of them.
    const got = new Map<string, string>();
    let rounds = 0;
    while (got.size < ids.length && rounds++ < 20) {
      const [byA, byB] = await Promise.all([
        logA.claimExpired('tx-a2', 60_000, 5),
        logB.claimExpired('tx-b', 60_000, 5),
      ]);
      assert.ok(byA.length <= 5 && byB.length <= 5, 'bounded by the limit');
      for (const [owner, records] of [
        ['tx-a2', byA],
        ['tx-b', byB],
      ] as const) {
        // Only this test's records have a lease short enough to lapse meanwhile.
        for (const record of records.filter((r) => ids.includes(r.id))) {
          assert.equal(got.has(record.id), false, `${record.id} claimed twice`);
          got.set(record.id, owner);
          assert.equal(record.leaseOwner, owner);
          assert.equal(record.coordinator, 'tx-a');
          assert.equal(text(record.participants[0]!.work), record.id);
        }
      }
    }
    assert.deepEqual([...got.keys()].sort(), [...ids].sort());
    figure(t, 'claim rounds (two nodes, limit 5 each) to take over 24 lapsed records', rounds);
    // Their new leases run: no one takes them again, and the old coordinator cannot renew.
    const again = await logA.claimExpired('tx-c', 60_000, 100);
    assert.deepEqual(
      again.filter((r) => ids.includes(r.id)),
      [],
    );
    assert.equal(await logA.renew(ids[0]!, 'tx-a', 60_000), false);
    assert.equal(await logA.renew(ids[0]!, got.get(ids[0]!)!, 60_000), true);

    // unfinishedFor: bounded, by resource.
    assert.equal((await logB.unfinishedFor(resource, 7)).length, 7);
    assert.equal((await logB.unfinishedFor(resource, 100)).length, ids.length);
    assert.deepEqual(await logB.unfinishedFor(`${resource}-other`, 100), []);
    assert.deepEqual(
      await logB.unfinishedFor(resource.slice(0, -1), 100),
      [],
      'a prefix is another resource',
    );
    await Promise.all(ids.map((id) => logA.decide(id, 'abort', []).then(() => logA.finish(id, 0))));
    assert.deepEqual(await logB.unfinishedFor(resource, 100), []);
  });

  it('refuses bad arguments before sending anything', async () => {
    await assert.rejects(logA.open('', 'tx-a', [], 1000), ValidationError);
    await assert.rejects(
      logA.open(newId('bad'), 'tx-a', [{ resource: 'a\0b', work: bytes('') }], 1000),
      ValidationError,
    );
    await assert.rejects(logA.open(newId('bad'), 'tx-a', [], 0), ValidationError);
    await assert.rejects(logA.renew(newId('bad'), 'tx-a', Number.NaN), ValidationError);
    assert.deepEqual(await logA.claimExpired('tx-a', 1000, 0), []);
    assert.deepEqual(await logA.unfinishedFor('r', 0), []);
  });
});

describe('RedisTxLogStore commands on Redis', () => {
  const namespace = uniqueNamespace('txslots');
  let node: Backend;
  const sent: Array<{ name: string; keys: string[] }> = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;

  before(async () => {
    node = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'txslots-node');
    // Record the keys of every command the backend sends (scripts: their KEYS).
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      const args = command.args.map((a) => (Buffer.isBuffer(a) ? a.toString('latin1') : String(a)));
      const name = command.name.toLowerCase();
      // Namespace-wide keys are the node's heartbeat, not the log's.
      if (name === 'evalsha' || name === 'eval') {
        const keys = args.slice(2, 2 + Number(args[1]));
        if (!keys.some((k) => k.startsWith(`{${namespace}}:`))) sent.push({ name, keys });
      } else if (name === 'hgetall' || name === 'zrangebylex')
        sent.push({ name, keys: [args[0]!] });
      return original.call(this, command, stream as never);
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await node?.close();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it("touches one slot per script or command, the slot of the id's partition", async (t) => {
    const log = node.transactions;
    const keys = createKeys(namespace);
    const ids = Array.from({ length: 48 }, (_, i) => `slot-${i}-{brace}`);
    sent.length = 0;
    for (const id of ids) {
      await log.open(
        id,
        'c',
        [
          { resource: 'r', work: bytes(id) },
          { resource: 's', work: bytes('') },
        ],
        1,
      );
      await log.renew(id, 'c', 1);
    }
    await untilRedisPassesOwn(node, ids);
    const claimed = await log.claimExpired('d', 60_000, ids.length);
    assert.equal(claimed.length, ids.length);
    assert.equal((await log.unfinishedFor('r', 100)).length, ids.length);
    for (const id of ids) {
      await log.decide(id, 'commit', []);
      await log.markDone(id, 0);
      await log.get(id);
      await log.finish(id, 1000);
    }
    const partitionSlots = new Set(keys.txPartitions.map((p) => keySlot(p.unfinished)));
    let spanning = 0;
    for (const command of sent) {
      const slots = new Set(command.keys.map(keySlot));
      if (slots.size !== 1 || !partitionSlots.has([...slots][0]!)) spanning++;
    }
    figure(t, 'transaction log scripts and commands sent', sent.length);
    figure(t, 'of them touching more than one slot (or none of a partition)', spanning);
    assert.ok(sent.length > ids.length * 6, `${sent.length} commands recorded`);
    assert.equal(spanning, 0);
  });
});

/** Wait until every lease of `ids` lapsed by Redis's clock (as the records tell it). */
async function untilRedisPassesOwn(node: Backend, ids: string[]): Promise<void> {
  const client = new Redis(SHARED_REDIS_URL);
  try {
    const leases = await Promise.all(
      ids.map(async (id) => (await node.transactions.get(id))!.leaseUntil),
    );
    await untilRedisPasses(client, Math.max(...leases));
  } finally {
    client.disconnect();
  }
}
