import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend, TransportFault } from '../../../src/backends/ports.js';
import { ClusterMac } from '../../../src/backends/redis/cluster-mac.js';
import { encodeEntry, encodePutChange } from '../../../src/backends/redis/entry-codec.js';
import { FrameWriter } from '../../../src/backends/redis/frames.js';
import { createKeys } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import { evalScript, loadScripts } from '../../../src/backends/redis/scripts.js';
import {
  bytes,
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

const SECRET = 'the cluster secret of these tests, 48 bytes long';
const OTHER = 'another secret, for a node outside the cluster!!';

/**
 * The cluster secret on the transport and the registry: forged, replayed and foreign traffic
 * is dropped and counted, never delivered; nodes sharing a secret (or a rotation list) talk.
 */
describe('Redis cluster MAC (clusterSecret)', () => {
  const namespace = uniqueNamespace('mac');
  const option = { redis: SHARED_REDIS_URL, namespace, clusterSecret: SECRET };
  const keys = createKeys(namespace);
  let raw: Redis;
  let spy: Redis;
  let a: Backend;
  let b: Backend;
  const backends: Backend[] = [];

  const start = async (extra: Record<string, unknown>, nodeId: string): Promise<Backend> => {
    const backend = await startBackend({ ...option, ...extra }, nodeId);
    backends.push(backend);
    return backend;
  };

  before(async () => {
    raw = new Redis(SHARED_REDIS_URL);
    spy = new Redis(SHARED_REDIS_URL);
    a = await start({}, 'mac-a');
    b = await start({}, 'mac-b');
  });
  after(async () => {
    await Promise.allSettled(backends.map((backend) => backend.close()));
    raw?.disconnect();
    spy?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  /** Messages of `topic` received by `backend`, as text. */
  const listen = async (backend: Backend, topic: string): Promise<string[]> => {
    const got: string[] = [];
    await backend.transport.subscribe(topic, (payload) => void got.push(text(payload)));
    return got;
  };

  it('lets nodes with the same secret publish, call and share registry entries', async () => {
    const got = await listen(b, 'mac.same');
    await b.transport.respond('mac.echo', (payload) => bytes(`echo ${text(payload)}`));
    await a.transport.publish('mac.same', bytes('hello'));
    const reply = await a.transport.request('mac-b', 'mac.echo', bytes('ping'), Date.now() + 3000);
    assert.equal(text(reply), 'echo ping');
    await waitFor(() => got.length === 1, 3000, 'the event');
    assert.deepEqual(got, ['hello']);

    const seen: string[] = [];
    await b.registry.watch('mac.kind', (change) => {
      if (change.type === 'put') seen.push(`${change.record.id}=${text(change.record.value)}`);
    });
    await a.registry.put('mac.kind', 'svc-1', bytes('v1'));
    await waitFor(() => seen.length === 1, 3000, 'the watched put');
    assert.deepEqual(seen, ['svc-1=v1']);
    const listed = await b.registry.list('mac.kind');
    assert.deepEqual(
      listed.map((r) => `${r.id}@${r.nodeId}=${text(r.value)}`),
      ['svc-1@mac-a=v1'],
    );
    assert.equal(a.transport.stats().rejectedFrames, 0);
    assert.equal(b.transport.stats().rejectedFrames, 0);
  });

  it('drops and counts forged events and replies, unsealed or sealed with another key', async () => {
    const got = await listen(b, 'mac.forged');
    const faults: TransportFault[] = [];
    const stop = b.transport.onFault((fault) => faults.push(fault));
    const before = b.transport.stats().rejectedFrames;
    const writer = new FrameWriter('mac-a'); // claims to be a member of the cluster
    const channel = keys.topicChannel('mac.forged');
    const frame = writer.message('mac.forged', bytes('forged'));
    const wrongKey = new ClusterMac([Buffer.from(OTHER)]);
    assert.equal(await raw.publish(channel, frame), 1, 'the receiver hears the forged frame');
    await raw.publish(channel, wrongKey.seal(channel, frame));
    // A forged reply and request to the node's inbox.
    const inbox = keys.inboxChannel('mac-b');
    await raw.publish(inbox, writer.reply(1, bytes('forged reply'), false));
    await raw.publish(inbox, writer.request(7, 'mac.echo', bytes('forged request')));
    // A real event after them, on the same connection order: the forged ones came first.
    await a.transport.publish('mac.forged', bytes('real'));
    await waitFor(() => got.length === 1, 3000, 'the real event');
    await waitFor(() => b.transport.stats().rejectedFrames >= before + 4, 3000, 'the count');
    assert.deepEqual(got, ['real']);
    assert.equal(b.transport.stats().rejectedFrames, before + 4);
    await waitFor(() => faults.length > 0, 3000, 'a rejected-frame fault');
    assert.equal(faults[0]!.kind, 'rejected-frame');
    assert.match(faults[0]!.message, /failed the cluster MAC check/);
    assert.ok(!JSON.stringify(faults).includes(SECRET));
    stop();
  });

  it('drops a replayed frame, and a captured frame moved to another channel', async () => {
    const got = await listen(b, 'mac.replay');
    const other = await listen(b, 'mac.elsewhere');
    const captured: Buffer[] = [];
    const channel = keys.topicChannel('mac.replay');
    spy.on('messageBuffer', (_channel: Buffer, message: Buffer) => void captured.push(message));
    await spy.subscribe(channel);
    await a.transport.publish('mac.replay', bytes('once'));
    await waitFor(() => captured.length === 1 && got.length === 1, 3000, 'the captured frame');
    const before = b.transport.stats().rejectedFrames;
    await raw.publish(channel, captured[0]!);
    await raw.publish(channel, captured[0]!);
    await raw.publish(keys.topicChannel('mac.elsewhere'), captured[0]!);
    await waitFor(() => b.transport.stats().rejectedFrames === before + 3, 3000, 'the replays');
    await a.transport.publish('mac.replay', bytes('twice'));
    await waitFor(() => got.length === 2, 3000, 'the next real event');
    assert.deepEqual(got, ['once', 'twice']);
    assert.deepEqual(other, []);
    await spy.unsubscribe(channel);
  });

  it('ignores registry entries written without the secret, in listings and watches', async () => {
    const kind = 'mac.registry';
    const seen: string[] = [];
    await b.registry.watch(kind, (change) => {
      seen.push(change.type === 'put' ? `put:${change.record.id}` : `delete:${change.id}`);
    });
    const forgedBefore = (b as RedisBackend).faults.forgedEntry;
    // Someone with plain Redis access runs the put script for a live node, with an entry that
    // names it as owner, unsealed and sealed with another key.
    const scripts = loadScripts();
    const forge = async (id: string, value: Uint8Array): Promise<void> => {
      const entry = encodeEntry('mac-a', value);
      const result = await evalScript(
        raw,
        scripts.putEntry,
        [keys.entries(kind), keys.owned('mac-a'), keys.nodes, keys.changeLog(kind)],
        [
          id,
          'mac-a',
          entry,
          `${Buffer.byteLength(kind)}:${kind}${id}`,
          keys.changeChannel(kind),
          encodePutChange(kind, id, entry),
        ],
      );
      assert.equal(result, 1, 'the forged entry is stored');
    };
    await forge('forged-plain', bytes('x'));
    const other = new ClusterMac([Buffer.from(OTHER)]);
    await forge('forged-key', other.sealEntry(kind, 'forged-key', 'mac-a', bytes('y')));
    // A sealed entry copied under another id does not check either.
    const copied = (await raw.hgetBuffer(keys.entries('mac.kind'), 'svc-1'))!;
    await forge('forged-copy', copied.subarray(1 + 'mac-a'.length));
    await a.registry.put(kind, 'real', bytes('ok'));
    await waitFor(() => seen.includes('put:real'), 3000, 'the real put');
    assert.deepEqual(seen, ['put:real']);
    const listed = await b.registry.list(kind);
    assert.deepEqual(
      listed.map((r) => r.id),
      ['real'],
    );
    // Three forged puts watched, three listed.
    assert.equal((b as RedisBackend).faults.forgedEntry, forgedBefore + 6);
  });

  it('keeps a node with another secret out of the cluster, both ways', async () => {
    const outsider = await start({ clusterSecret: OTHER }, 'mac-outsider');
    const got = await listen(b, 'mac.outside');
    const heard = await listen(outsider, 'mac.outside');
    await outsider.transport.respond('mac.out', () => bytes('from outside'));
    await outsider.registry.put('mac.kind', 'outsider-svc', bytes('o'));
    const before = b.transport.stats().rejectedFrames;
    await outsider.transport.publish('mac.outside', bytes('from outside'));
    await waitFor(() => b.transport.stats().rejectedFrames > before, 3000, 'the rejection');
    await a.transport.publish('mac.outside', bytes('from inside'));
    await waitFor(() => got.length === 1, 3000, 'the inside event');
    assert.deepEqual(got, ['from inside']);
    await waitFor(() => outsider.transport.stats().rejectedFrames > 0, 3000, 'outsider drops');
    assert.deepEqual(heard, []);
    await assert.rejects(
      b.transport.request('mac-outsider', 'mac.out', bytes('?'), Date.now() + 300),
      { code: 'PB_TIMEOUT' },
    );
    assert.deepEqual(
      (await b.registry.list('mac.kind')).map((r) => r.id),
      ['svc-1'],
    );
    // Members are the nodes whose membership entry checks: the outsider is not one.
    assert.deepEqual((await b.registry.liveNodes()).sort(), ['mac-a', 'mac-b']);
    assert.deepEqual(await outsider.registry.liveNodes(), ['mac-outsider']);
  });

  it('rotates: nodes with [old, new] and [new, old] talk both ways; [new] alone does not hear [old]', async () => {
    const oldAndNew = await start({ clusterSecret: [SECRET, OTHER] }, 'mac-rot-1');
    const newAndOld = await start({ clusterSecret: [OTHER, SECRET] }, 'mac-rot-2');
    const newOnly = await start({ clusterSecret: OTHER }, 'mac-rot-3');
    const at1 = await listen(oldAndNew, 'mac.rotate');
    const at2 = await listen(newAndOld, 'mac.rotate');
    const at3 = await listen(newOnly, 'mac.rotate');
    await oldAndNew.transport.publish('mac.rotate', bytes('signed old'));
    await newAndOld.transport.publish('mac.rotate', bytes('signed new'));
    await waitFor(() => at1.length === 1 && at2.length === 1, 3000, 'both ways');
    assert.deepEqual(at1, ['signed new']);
    assert.deepEqual(at2, ['signed old']);
    await waitFor(() => at3.length === 1, 3000, 'the new-only node hears the new key');
    assert.deepEqual(at3, ['signed new']);
    assert.ok(newOnly.transport.stats().rejectedFrames >= 1, 'the old key is refused');
  });

  it('leaves a cluster without a secret as it was (and deaf to sealed frames)', async () => {
    const plainNs = uniqueNamespace('mac-plain');
    const plain = await start({ namespace: plainNs, clusterSecret: undefined }, 'mac-plain-1');
    const peer = await start({ namespace: plainNs, clusterSecret: undefined }, 'mac-plain-2');
    try {
      const got = await listen(peer, 'mac.plain');
      const plainKeys = createKeys(plainNs);
      const channel = plainKeys.topicChannel('mac.plain');
      const sealed = new ClusterMac([Buffer.from(SECRET)]).seal(
        channel,
        new FrameWriter('x').message('mac.plain', bytes('sealed')),
      );
      await raw.publish(channel, sealed);
      await plain.transport.publish('mac.plain', bytes('plain'));
      await waitFor(() => got.length === 1, 3000, 'the plain event');
      assert.deepEqual(got, ['plain']);
      assert.equal(peer.transport.stats().rejectedFrames, 0);
      // Entries are stored as before: no seal in front of the value.
      await plain.registry.put('mac.plain', 'id', bytes('v'));
      const stored = await raw.hgetBuffer(plainKeys.entries('mac.plain'), 'id');
      assert.deepEqual(stored, encodeEntry('mac-plain-1', bytes('v')));
      assert.deepEqual(
        (await peer.registry.list('mac.plain')).map((r) => text(r.value)),
        ['v'],
      );
    } finally {
      await deleteNamespace(SHARED_REDIS_URL, plainNs);
    }
  });
});
