import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeChange,
  decodeEntry,
  encodeEntry,
  encodePutChange,
} from '../../../src/backends/redis/entry-codec.js';
import {
  encodeBatch,
  forEachFrame,
  FrameWriter,
  type Frame,
} from '../../../src/backends/redis/frames.js';
import { createKeys, ownedMember } from '../../../src/backends/redis/keys.js';
import { reconnectDelay } from '../../../src/backends/redis/options.js';

/** Frames with payloads as plain arrays, for comparison. */
const frames = (data: Buffer): Array<Omit<Frame, 'payload'> & { payload: number[] }> => {
  const out: Array<Omit<Frame, 'payload'> & { payload: number[] }> = [];
  forEachFrame(data, (f) => out.push({ ...f, payload: [...f.payload] }));
  return out;
};

describe('Redis transport frames', () => {
  const writer = new FrameWriter('nöde-1');
  const payload = new Uint8Array([0, 255, 7]);
  const bytes = [0, 255, 7];

  it('round-trips messages, requests, replies and errors with binary payloads', () => {
    assert.deepEqual(frames(writer.message('t.é', payload)), [
      { type: 'message', from: 'nöde-1', topic: 't.é', payload: bytes },
    ]);
    assert.deepEqual(frames(writer.request(0xfffffffe, 'rpc', payload)), [
      { type: 'request', from: 'nöde-1', id: 0xfffffffe, topic: 'rpc', payload: bytes },
    ]);
    assert.deepEqual(frames(writer.reply(3, payload, false)), [
      { type: 'reply', from: 'nöde-1', id: 3, payload: bytes },
    ]);
    assert.deepEqual(frames(writer.reply(4, new Uint8Array(0), true)), [
      { type: 'error', from: 'nöde-1', id: 4, payload: [] },
    ]);
  });

  it('unpacks a batch in order, and refuses a truncated one', () => {
    const parts = [
      writer.message('a', payload),
      writer.request(1, 'b', payload),
      writer.reply(1, payload, false),
    ];
    const batch = encodeBatch(
      parts,
      parts.reduce((n, p) => n + p.length, 0),
    );
    assert.deepEqual(
      frames(batch).map((f) => f.type),
      ['message', 'request', 'reply'],
    );
    assert.throws(() => frames(batch.subarray(0, batch.length - 1)), RangeError);
    assert.throws(() => frames(Buffer.from([0x00, 0x00])), RangeError);
  });
});

describe('Redis registry entry codec', () => {
  it('round-trips entries and change frames, shared layout with the Lua scripts', () => {
    const entry = encodeEntry('node-a', new Uint8Array([1, 2, 3]));
    assert.deepEqual(decodeEntry(entry), { nodeId: 'node-a', value: Buffer.from([1, 2, 3]) });
    assert.deepEqual(decodeChange(encodePutChange('svc:x', 'id-1', entry)), {
      type: 'put',
      record: { kind: 'svc:x', id: 'id-1', nodeId: 'node-a', value: Buffer.from([1, 2, 3]) },
    });
    // What remove-owned-entries-3.lua builds: 'D' u16 kind, u16 id, u8 node.
    const lua = Buffer.concat([
      Buffer.from('D'),
      Buffer.from([0, 5]),
      Buffer.from('svc:x'),
      Buffer.from([0, 2]),
      Buffer.from('i1'),
      Buffer.from([1]),
      Buffer.from('n'),
    ]);
    assert.deepEqual(decodeChange(lua), { type: 'delete', kind: 'svc:x', id: 'i1', nodeId: 'n' });
  });
});

describe('Redis keys', () => {
  it('puts the namespace hash tag on every name', () => {
    const keys = createKeys('shop');
    for (const name of [
      keys.nodes,
      keys.entries('rpc'),
      keys.owned('n1'),
      keys.changeChannel('rpc'),
      keys.topicChannel('pb.ev'),
      keys.inboxChannel('n1'),
    ]) {
      assert.ok(name.startsWith('{shop}:'), name);
    }
    assert.equal(keys.entries('rpc'), keys.entriesPrefix + 'rpc');
    assert.notEqual(ownedMember('ab', 'c'), ownedMember('a', 'bc'));
  });
});

describe('Redis reconnect backoff', () => {
  it('grows exponentially, is capped, and is jittered', () => {
    assert.equal(
      reconnectDelay(1, () => 0),
      25,
    );
    assert.equal(
      reconnectDelay(1, () => 1),
      50,
    );
    assert.equal(
      reconnectDelay(4, () => 1),
      400,
    );
    assert.equal(
      reconnectDelay(50, () => 1),
      2000,
    );
    assert.equal(
      reconnectDelay(50, () => 0),
      1000,
    );
  });
});
