/**
 * The per-key-version usage counter, on the embedded backend and on Redis: counted locally,
 * added to one cluster-wide count in batches (every N uses, every interval, on stop), a warning
 * past `usageWarnAt`, encrypt refused at `usageLimit` until a newer version exists. Limits are
 * lowered through the `encryption` host option (the defaults are 2^31 and 2^32).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  MemoryKeyUsageState,
  MemoryKeyUsageStore,
} from '../../../src/backends/memory/memory-key-usage-store.js';
import type { KeyUsageStore } from '../../../src/backends/ports.js';
import { BackendUnavailableError } from '../../../src/errors/errors.js';
import { ENCRYPTION_DEFAULTS } from '../../../src/security/crypto/key-config.js';
import { UsageCounter } from '../../../src/security/crypto/usage-counter.js';
import { until } from '../../conformance/harness.js';
import { captureLogger } from '../../backends/redis/support.js';
import { AES, cryptoCluster, key32, KEY_ID, type CryptoCluster } from './support.js';

const K1 = key32();
const K2 = key32();

for (const [label, redis] of [
  ['embedded backend', false],
  ['Redis', true],
] as const) {
  void describe(`encryption key usage counter (${label})`, () => {
    let cluster: CryptoCluster;
    beforeEach(() => {
      cluster = cryptoCluster(redis);
    });
    afterEach(() => cluster.stop());

    void it('batches: no backend call per encrypt; a flush every N uses, on the interval and on stop', async () => {
      const { host, context } = await cluster.add({
        keys: { [KEY_ID]: K1 },
        encryption: { usageFlushEvery: 100, usageFlushMs: 60_000 },
      });
      const encrypt = () => context.encryptionService.encrypt('x', AES, { keyId: KEY_ID });
      // The first use is sent at once (the host learns the cluster's total).
      await encrypt();
      await until(async () => (await cluster.usage(KEY_ID, 1)) === 1, 2000, 'the first use');
      for (let i = 0; i < 99; i++) await encrypt();
      assert.equal(await cluster.usage(KEY_ID, 1), 1, 'nothing sent before the batch is full');
      await encrypt();
      await until(async () => (await cluster.usage(KEY_ID, 1)) === 101, 2000, 'the batch');
      for (let i = 0; i < 7; i++) await encrypt();
      await host.stop();
      assert.equal(await cluster.usage(KEY_ID, 1), 108, 'the rest is added on stop');
      // The interval flushes what is left between batches.
      const { context: quick } = await cluster.add({
        keys: { [KEY_ID]: K1 },
        encryption: { usageFlushEvery: 100, usageFlushMs: 20 },
      });
      await quick.encryptionService.encrypt('x', AES, { keyId: KEY_ID });
      await until(async () => (await cluster.usage(KEY_ID, 1)) === 109, 2000, 'the first use');
      await quick.encryptionService.encrypt('x', AES, { keyId: KEY_ID });
      await until(async () => (await cluster.usage(KEY_ID, 1)) === 110, 2000, 'the interval');
    });

    void it('counts cluster-wide: warns past usageWarnAt, refuses at usageLimit, a newer version goes on', async () => {
      const encryption = {
        usageWarnAt: 6,
        usageLimit: 10,
        usageFlushEvery: 2,
        usageFlushMs: 60_000,
      };
      const logA = captureLogger();
      const logB = captureLogger();
      const a = await cluster.add({ keys: { [KEY_ID]: K1 }, encryption, logger: logA.logger });
      const b = await cluster.add({ keys: { [KEY_ID]: K1 }, encryption, logger: logB.logger });
      const encrypt = (node: typeof a) =>
        node.context.encryptionService.encrypt('x', AES, { keyId: KEY_ID });
      const warned = (log: typeof logA) =>
        log.lines.some((l) => l.level === 40 && /nears its usage limit/.test(l.msg));
      // Batches of 2 after the first use, sent at once: 1 + 2 + 2.
      const old = await encrypt(a);
      for (let i = 0; i < 4; i++) await encrypt(a);
      await until(async () => (await cluster.usage(KEY_ID, 1)) === 5, 2000, 'a’s batches');
      assert.equal(warned(logA), false);
      for (let i = 0; i < 3; i++) await encrypt(b);
      // B's batches bring the cluster-wide total to 8, past 6: B warns (A has not heard yet).
      await until(() => warned(logB), 2000, 'the warning on b');
      const line = logB.lines.find((l) => /nears its usage limit/.test(l.msg))!;
      assert.deepEqual(
        { keyId: line['keyId'], version: line['version'], limit: line['limit'] },
        { keyId: KEY_ID, version: 1, limit: 10 },
      );
      assert.ok(!JSON.stringify(logB.lines).includes(K1), 'no key material in the log');
      // A's next batch reaches the limit: A logs it and refuses from then on.
      await encrypt(a);
      await encrypt(a);
      await until(
        () => logA.lines.some((l) => l.level === 50 && /reached its usage limit/.test(l.msg)),
        2000,
        'the limit on a',
      );
      await assert.rejects(encrypt(a), { code: 'PB_KEY_EXHAUSTED', message: /newer version/ });
      // Data under the exhausted version still decrypts.
      assert.equal(await a.context.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), 'x');
      // A host that holds version 2 encrypts under it.
      const c = await cluster.add({
        keys: { [KEY_ID]: { versions: { 1: K1, 2: K2 } } },
        encryption,
      });
      const fresh = await encrypt(c);
      assert.equal(await c.context.encryptionService.decrypt(fresh, AES, { keyId: KEY_ID }), 'x');
      assert.equal(await c.context.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), 'x');
    });
  });
}

void describe('encryption key usage counter when the backend fails', () => {
  void it('keeps the uses of a failed batch, logs once, adds them at the next interval; stop adds the rest', async () => {
    const state = new MemoryKeyUsageState();
    const real = new MemoryKeyUsageStore(state);
    let down = true;
    let calls = 0;
    // The memory store, failing while `down` as a backend that cannot be reached does.
    const store: KeyUsageStore = {
      add(keyId, version, count) {
        calls++;
        return down
          ? Promise.reject(new BackendUnavailableError('backend down (test)'))
          : real.add(keyId, version, count);
      },
    };
    const log = captureLogger();
    const counter = new UsageCounter(
      store,
      { ...ENCRYPTION_DEFAULTS, usageFlushEvery: 3, usageFlushMs: 20 },
      log.logger,
    );
    for (let i = 0; i < 3; i++) counter.use('k', 1);
    await until(() => log.lines.some((l) => /could not add/.test(l.msg)), 2000, 'the failure');
    // More uses while it is down: one number grows, no retry per use.
    for (let i = 0; i < 5; i++) counter.use('k', 1);
    const failures = log.lines.filter((l) => /could not add/.test(l.msg)).length;
    assert.equal(failures, 1, 'logged once');
    down = false;
    await until(() => state.add('k', 1, 0) === 8, 2000, 'the retried batch');
    const callsAfter = calls;
    counter.use('k', 1);
    await counter.close();
    assert.equal(state.add('k', 1, 0), 9, 'stop adds what is left');
    assert.equal(calls, callsAfter + 1);
  });
});
