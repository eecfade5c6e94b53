import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'ioredis';
import { Redis } from 'ioredis';
import type { Backend } from '../../../src/backends/ports.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from './support.js';

/** CRC16 (XMODEM) as Redis Cluster hashes keys. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster slot of a key: the hash tag (first `{`, first `}` after it, non-empty) or the whole key. */
function keySlot(key: string | Buffer): number {
  const data = Buffer.isBuffer(key) ? key : Buffer.from(key);
  const open = data.indexOf('{');
  if (open >= 0) {
    const close = data.indexOf('}', open + 1);
    if (close > open + 1) return crc16(data.subarray(open + 1, close)) % 16384;
  }
  return crc16(data) % 16384;
}

/** Names that stress the tag: braces, colons, another queue's suffix, non-ASCII. */
const QUEUE_NAMES = ['orders', 'a}b', 'x{y}z', 'q:seq', 'orders}:dd:k', 'ev:5:group:order.*', 'çà'];

describe('Redis queue key layout', () => {
  it('computes slots as Redis Cluster does', () => {
    // Reference values from the Redis Cluster specification and CLUSTER KEYSLOT.
    assert.equal(crc16(Buffer.from('123456789')), 0x31c3);
    assert.equal(keySlot('foo'), 12182);
    assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
  });

  it('puts every key and the wake-up channel of one queue in one slot, apart from the namespace', () => {
    const keys = createKeys('shop');
    const namespaceSlot = keySlot(keys.bindings);
    assert.equal(keySlot(keys.nodes), namespaceSlot);
    const slots = new Set<number>();
    for (const name of QUEUE_NAMES) {
      const k = keys.queue(name);
      const names = [
        ...k.all,
        k.dedup('repeat:nightly:1700000000000'),
        k.dedup('a}b%7D'),
        k.notify,
      ];
      const own = new Set(names.map(keySlot));
      assert.equal(own.size, 1, `${name}: keys in ${own.size} slots`);
      slots.add([...own][0]!);
      // Another database's wake-up channel carries the database, in the same slot.
      assert.equal(keySlot(createKeys('shop', 3).queue(name).notify), [...own][0]);
    }
    assert.ok(slots.size >= QUEUE_NAMES.length - 1, 'queues spread over slots');
    assert.ok(!slots.has(namespaceSlot) || slots.size > 1);
  });

  it('never gives two queues (or a queue and a dedup key) the same key name', () => {
    const keys = createKeys('shop');
    const seen = new Map<string, string>();
    for (const name of QUEUE_NAMES) {
      const k = keys.queue(name);
      for (const key of [...k.all, k.dedup('k}:seq'), k.dedup('%7D'), k.dedup('}')]) {
        assert.equal(seen.get(key) ?? name, name, `${key} shared by ${seen.get(key)} and ${name}`);
        seen.set(key, name);
      }
    }
    assert.notEqual(keys.queue('q').dedup('%7D'), keys.queue('q').dedup('}'));
  });
});

describe('Redis queue commands on Redis', () => {
  const namespace = uniqueNamespace('slots');
  let node: Backend;
  const sent: Array<{ name: string; keys: Buffer[] }> = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;

  before(async () => {
    node = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'slots-node');
    // Record the keys of every command the backend sends (scripts: their KEYS).
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      const args = command.args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))));
      const name = command.name.toLowerCase();
      if (name === 'evalsha' || name === 'eval') {
        sent.push({ name, keys: args.slice(2, 2 + Number(args[1]!.toString())) });
      } else if (name === 'unlink' || name === 'del') {
        sent.push({ name, keys: args });
      }
      return original.call(this, command, stream as never);
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await node?.close();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('touches one slot per script or command, across every queue operation', async (t) => {
    const q = node.queues;
    sent.length = 0;
    for (const name of QUEUE_NAMES) {
      await q.bind(name, 'order.*');
      const id = await q.enqueue(name, bytes('a'), {
        priority: 3,
        dedupKey: 'once',
        dedupMs: 60_000,
      });
      const later = await q.enqueue(name, bytes('b'), { delayMs: 60_000, maxAttempts: 2 });
      const [m] = await q.claim(name, 'c', {
        count: 1,
        leaseMs: 60_000,
        waitMs: 0,
        rateLimit: { max: 10, intervalMs: 1000 },
      });
      assert.equal(m?.id, id);
      await q.extend(name, m.id, m.lease, 60_000);
      await q.release(name, m.id, m.lease, 0);
      const [again] = await q.claim(name, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 });
      await q.deadLetter(name, again!.id, again!.lease, 'x');
      await q.deadLetters(name, 10);
      await q.retryDeadLetter(name, again!.id);
      await q.retryDeadLetters(name);
      assert.equal(await q.remove(name, later), true);
      await q.counts(name);
      await q.activity(name);
      await q.purgeDeadLetters(name);
      await q.removeDeadLetter(name, later);
      const [last] = await q.claim(name, 'c', { count: 1, leaseMs: 60_000, waitMs: 0 });
      await q.ack(name, last!.id, last!.lease);
      await q.deleteQueue(name);
    }
    let spanning = 0;
    for (const command of sent) {
      const slots = new Set(command.keys.map(keySlot));
      if (slots.size > 1) spanning++;
    }
    figure(t, 'queue scripts and commands sent', sent.length);
    figure(t, 'of them touching more than one slot', spanning);
    assert.ok(sent.length > QUEUE_NAMES.length * 15, `${sent.length} commands recorded`);
    assert.equal(spanning, 0);
  });
});
