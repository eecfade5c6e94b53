/**
 * No repeated nonce. What is tested, exactly:
 * - the nonce source encrypt uses (`NoncePool.take`, the only place encrypt gets a nonce) hands
 *   out 1,000,000 nonces with no repeat (over 244 refills of its pool);
 * - 100,000 real encryptions under one key through `context.encryptionService` carry 100,000
 *   different nonces (read back from the envelopes).
 * 1,000,000 full encryptions take about 10 s on one core, too long for the suite; the two
 * checks together cover the same path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../../src/context/types.js';
import { NONCE_BYTES, NoncePool } from '../../../src/security/crypto/nonce.js';
import { AES, cryptoCluster, envelopeBytes, key32, KEY_ID } from './support.js';

/** Count the distinct 12-byte records of `all` (sorted as two numbers each: fast, no strings). */
function distinct(all: Buffer, count: number): number {
  const order = new Uint32Array(count).map((_, i) => i);
  const hi = (i: number): number => all.readUIntBE(i * NONCE_BYTES, 6);
  const lo = (i: number): number => all.readUIntBE(i * NONCE_BYTES + 6, 6);
  const his = new Float64Array(count).map((_, i) => hi(i));
  const los = new Float64Array(count).map((_, i) => lo(i));
  order.sort((a, b) => his[a]! - his[b]! || los[a]! - los[b]!);
  let unique = count === 0 ? 0 : 1;
  for (let k = 1; k < count; k++) {
    const a = order[k - 1]!;
    const b = order[k]!;
    if (his[a] !== his[b] || los[a] !== los[b]) unique++;
  }
  return unique;
}

void describe('nonces never repeat under one key', () => {
  const cluster = cryptoCluster(false);
  let vault: PluginContext['encryptionService'];
  before(async () => {
    ({
      context: { encryptionService: vault },
    } = await cluster.add({ keys: { [KEY_ID]: key32() } }));
  });
  after(() => cluster.stop());

  void it('1,000,000 nonces from the source encrypt uses are all different', () => {
    const count = 1_000_000;
    const pool = new NoncePool();
    const all = Buffer.alloc(count * NONCE_BYTES);
    for (let i = 0; i < count; i++) pool.take(all, i * NONCE_BYTES);
    assert.equal(distinct(all, count), count);
  });

  void it('100,000 encryptions under one key carry 100,000 different nonces', async () => {
    const count = 100_000;
    const all = Buffer.alloc(count * NONCE_BYTES);
    const nonceAt = 7 + Buffer.byteLength(KEY_ID);
    for (let i = 0; i < count; i++) {
      const envelope = await vault.encrypt(i, AES, { keyId: KEY_ID });
      envelopeBytes(envelope).copy(all, i * NONCE_BYTES, nonceAt, nonceAt + NONCE_BYTES);
    }
    assert.equal(distinct(all, count), count);
    // The check itself can fail: a repeated record is seen.
    all.copy(all, 0, NONCE_BYTES, 2 * NONCE_BYTES);
    assert.equal(distinct(all, count), count - 1);
  });
});
