import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import {
  ClusterMac,
  REPLAY_WINDOW_MS,
  resolveClusterSecret,
  SEAL_BYTES,
} from '../../../src/backends/redis/cluster-mac.js';
import { resolveSettings } from '../../../src/backends/redis/options.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef-unit');

describe('cluster MAC (unit)', () => {
  it('is HMAC-SHA256 over the channel, the header and the frame', () => {
    const frame = Buffer.from('a frame');
    const sealed = new ClusterMac([SECRET]).seal('ns:t:x', frame);
    const expected = createHmac('sha256', SECRET)
      .update(Buffer.from([0x54, 0, 6]))
      .update('ns:t:x')
      .update(sealed.subarray(0, 26))
      .update(frame)
      .digest();
    assert.deepEqual(sealed.subarray(26, SEAL_BYTES), expected);
    assert.deepEqual(sealed.subarray(SEAL_BYTES), frame);
  });

  it('accepts each sequence number once, out of order within the window, never older ones', () => {
    const sender = new ClusterMac([SECRET]);
    const receiver = new ClusterMac([SECRET]);
    const frames = Array.from({ length: 40 }, (_, i) => sender.seal('c', Buffer.from([i])));
    const open = (i: number): string => {
      const result = receiver.open('c', frames[i]!);
      return typeof result === 'string' ? result : `ok${result[0]}`;
    };
    assert.equal(open(0), 'ok0');
    assert.equal(open(5), 'ok5');
    assert.equal(open(3), 'ok3'); // late but inside the window: once
    assert.equal(open(3), 'replayed');
    assert.equal(open(5), 'replayed');
    assert.equal(open(38), 'ok38');
    assert.equal(open(6), 'ok6'); // 32 behind
    assert.equal(open(5), 'replayed'); // 33 behind: too old
    assert.equal(open(39), 'ok39');
    assert.equal(open(38), 'replayed');
  });

  it('refuses a frame whose time is outside the replay window, and a tampered one', () => {
    const sender = new ClusterMac([SECRET]);
    const receiver = new ClusterMac([SECRET]);
    const realNow = Date.now;
    try {
      Date.now = () => realNow() - REPLAY_WINDOW_MS - 1000;
      const old = sender.seal('c', Buffer.from('x'));
      Date.now = realNow;
      assert.equal(receiver.open('c', old), 'stale');
    } finally {
      Date.now = realNow;
    }
    const sealed = sender.seal('c', Buffer.from('payload'));
    for (const at of [2, 7, 15, 22, 30, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 1;
      assert.notEqual(typeof receiver.open('c', bad), 'object', `byte ${at}`);
    }
    assert.equal(receiver.open('c', Buffer.from('M plain frame')), 'unsealed');
  });

  it('seals registry values bound to kind, id and owner', () => {
    const mac = new ClusterMac([SECRET]);
    const sealed = mac.sealEntry('rpc', 'id-1', 'node-a', Buffer.from('v'));
    assert.equal(Buffer.from(mac.openEntry('rpc', 'id-1', 'node-a', sealed)!).toString(), 'v');
    assert.equal(mac.openEntry('rpc', 'id-2', 'node-a', sealed), undefined);
    assert.equal(mac.openEntry('rpc', 'id-1', 'node-b', sealed), undefined);
    assert.equal(mac.openEntry('rpx', 'id-1', 'node-a', sealed), undefined);
    assert.equal(mac.openEntry('rpc', 'id-1', 'node-a', Buffer.from('v')), undefined);
  });

  it('validates the option and never shows the secret', () => {
    for (const bad of ['short', Buffer.alloc(31), 42, [], ['x'.repeat(32), 'short']]) {
      assert.throws(
        () => resolveClusterSecret(bad),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'PB_VALIDATION');
          assert.match(error.message, /clusterSecret/);
          assert.ok(!error.message.includes('short'), error.message);
          return true;
        },
      );
    }
    assert.equal(resolveClusterSecret(undefined), undefined);
    const settings = resolveSettings({
      redis: 'redis://127.0.0.1:6379',
      clusterSecret: SECRET.toString(),
    });
    assert.ok(!JSON.stringify(settings).includes(SECRET.toString()));
    assert.ok(!inspect(settings, { depth: 10 }).includes(SECRET.toString()));
  });

  it('checks the tls option: rediss:// only, readable files, certificate with key', () => {
    assert.throws(() => resolveSettings({ redis: 'redis://h:1', tls: {} }), /rediss:\/\//);
    assert.throws(
      () => resolveSettings({ redis: 'rediss://h:1', tls: { caFile: '/nonexistent/ca.pem' } }),
      /tls\.caFile "\/nonexistent\/ca\.pem" cannot be read \(ENOENT\)/,
    );
    assert.throws(
      () => resolveSettings({ redis: 'rediss://h:1', tls: { cert: 'PEM' } }),
      /both a client certificate and its key/,
    );
    assert.deepEqual(
      resolveSettings({ redis: 'rediss://h:1', tls: { ca: 'PEM', servername: 'x' } }).tls,
      { ca: 'PEM', servername: 'x', rejectUnauthorized: true },
    );
  });
});
