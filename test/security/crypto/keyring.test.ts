/**
 * The keyring: keys from configuration (versions, `active`), from the environment, from a key
 * provider (cached with a bound, newest version rediscovered, rotation audited), rotation round
 * trips, and the capability check before any key is touched.
 */
import { recordingGuard } from '../recording-guard.js';
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  MemoryKeyUsageState,
  MemoryKeyUsageStore,
} from '../../../src/backends/memory/memory-key-usage-store.js';
import { PluginScope } from '../../../src/context/plugin-scope.js';
import { PermissionDeniedError } from '../../../src/errors/errors.js';
import type { KeyProvider } from '../../../src/host/types.js';
import { EncryptionCore } from '../../../src/security/crypto/encryption-core.js';
import { createEncryptionService } from '../../../src/security/crypto/encryption-service.js';
import { silentLogger } from '../../support/runtime.js';
import { until } from '../../conformance/harness.js';
import { AES, cryptoCluster, envelopeBytes, key32, KEY_ID, type CryptoCluster } from './support.js';

const versionOf = (envelope: string): number => envelopeBytes(envelope).readUInt32BE(2);

/** A KMS stand-in: versions per key id, editable by the test; counts what it is asked. */
function kms(initial: Record<string, Record<number, string>>) {
  const keys = new Map(
    Object.entries(initial).map(([id, v]) => [
      id,
      new Map(Object.entries(v).map(([n, k]) => [Number(n), k])),
    ]),
  );
  const asked: Array<{ keyId: string; version: number | undefined }> = [];
  const provider: KeyProvider = {
    getKey(keyId, version) {
      asked.push({ keyId, version });
      const versions = keys.get(keyId);
      if (versions === undefined) return Promise.resolve(undefined);
      const chosen = version ?? Math.max(...versions.keys());
      const key = versions.get(chosen);
      return Promise.resolve(key === undefined ? undefined : { key, version: chosen });
    },
  };
  return { provider, keys, asked };
}

void describe('keyring and rotation', () => {
  let cluster: CryptoCluster;
  beforeEach(() => {
    cluster = cryptoCluster(false);
  });
  afterEach(() => cluster.stop());

  void it('rotates by configuration: v1, then v1+v2 (new data v2, old decrypts), then v2 only', async () => {
    const v1 = key32();
    const v2 = key32();
    const before = await cluster.add({ keys: { [KEY_ID]: v1 } });
    const old = await before.context.encryptionService.encrypt({ n: 1 }, AES, { keyId: KEY_ID });
    assert.equal(versionOf(old), 1);
    // Staged: every host learns v2 first (active: 1), then switches to it.
    const staged = await cluster.add({
      keys: { [KEY_ID]: { versions: { 1: v1, 2: v2 }, active: 1 } },
    });
    assert.equal(
      versionOf(await staged.context.encryptionService.encrypt(1, AES, { keyId: KEY_ID })),
      1,
    );
    const rotated = await cluster.add({ keys: { [KEY_ID]: { versions: { 1: v1, 2: v2 } } } });
    const fresh = await rotated.context.encryptionService.encrypt({ n: 2 }, AES, { keyId: KEY_ID });
    assert.equal(versionOf(fresh), 2);
    assert.deepEqual(await rotated.context.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), {
      n: 1,
    });
    // The staged host already decrypts v2 data.
    assert.deepEqual(
      await staged.context.encryptionService.decrypt(fresh, AES, { keyId: KEY_ID }),
      { n: 2 },
    );
    assert.deepEqual(await rotated.context.encryptionService.refreshKey(KEY_ID), {
      keyId: KEY_ID,
      version: 2,
    });
    // v1 retired: its data no longer decrypts, with KeyNotFoundError naming the version.
    const retired = await cluster.add({ keys: { [KEY_ID]: { versions: { 2: v2 } } } });
    await assert.rejects(retired.context.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), {
      code: 'PB_KEY_NOT_FOUND',
      message: /version 1/,
    });
    assert.deepEqual(
      await retired.context.encryptionService.decrypt(fresh, AES, { keyId: KEY_ID }),
      { n: 2 },
    );
  });

  void it('rotates through a key provider at runtime: refreshKey, audited; a retired version is gone once its cache lapses', async () => {
    const v1 = key32();
    const { provider, keys, asked } = kms({ [KEY_ID]: { 1: v1 } });
    const { context } = await cluster.add({ keys: provider, encryption: { keyCacheMs: 60_000 } });
    const service = context.encryptionService;
    const old = await service.encrypt('old', AES, { keyId: KEY_ID });
    for (let i = 0; i < 50; i++) await service.encrypt(i, AES, { keyId: KEY_ID });
    assert.equal(asked.length, 1, 'the newest version is cached');
    keys.get(KEY_ID)!.set(2, key32());
    // Cached: still v1 until the cache lapses or refreshKey.
    assert.equal(versionOf(await service.encrypt('x', AES, { keyId: KEY_ID })), 1);
    assert.deepEqual(await service.refreshKey(KEY_ID), { keyId: KEY_ID, version: 2 });
    const fresh = await service.encrypt('new', AES, { keyId: KEY_ID });
    assert.equal(versionOf(fresh), 2);
    assert.equal(await service.decrypt(old, AES, { keyId: KEY_ID }), 'old');
    await until(
      async () => (await context.auditLogger.query({ action: 'key.rotated' })).length === 1,
      2000,
      'the rotation audit entry',
    );
    const [entry] = await context.auditLogger.query({ action: 'key.rotated' });
    assert.equal(entry!.actor, 'host');
    assert.equal(entry!.target, KEY_ID);
    assert.deepEqual(entry!.metadata, { version: 2, previous: 1 });
    assert.ok(!JSON.stringify(entry).includes(v1), 'no key material in the audit log');

    // Another host with a short cache: it fetched v1 once, then the KMS retires v1.
    const { context: quick } = await cluster.add({ keys: provider, encryption: { keyCacheMs: 5 } });
    assert.equal(await quick.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), 'old');
    keys.get(KEY_ID)!.delete(1);
    await new Promise((resolve) => setTimeout(resolve, 15)); // past the 5 ms cache
    await assert.rejects(quick.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), {
      code: 'PB_KEY_NOT_FOUND',
    });
    assert.equal(await quick.encryptionService.decrypt(fresh, AES, { keyId: KEY_ID }), 'new');
    // A version published in the KMS is picked up when the newest lapses, without refreshKey.
    keys.get(KEY_ID)!.set(3, key32());
    await new Promise((resolve) => setTimeout(resolve, 15));
    assert.equal(versionOf(await quick.encryptionService.encrypt('x', AES, { keyId: KEY_ID })), 3);
  });

  void it('bounds the provider cache and shares concurrent fetches', async () => {
    const { provider, asked } = kms({ a: { 1: key32() }, b: { 1: key32() }, c: { 1: key32() } });
    const { context } = await cluster.add({ keys: provider, encryption: { maxCachedKeys: 4 } });
    const service = context.encryptionService;
    await Promise.all(Array.from({ length: 10 }, () => service.encrypt(1, AES, { keyId: 'a' })));
    assert.equal(asked.length, 1, 'ten concurrent first uses, one fetch');
    // Each id takes two entries (its newest and its version 1): a, b then c push a out.
    await service.encrypt(1, AES, { keyId: 'b' });
    await service.encrypt(1, AES, { keyId: 'c' });
    assert.equal(asked.length, 3);
    await service.encrypt(1, AES, { keyId: 'c' });
    assert.equal(asked.length, 3, 'c is cached');
    await service.encrypt(1, AES, { keyId: 'a' });
    assert.equal(asked.length, 4, 'a was evicted');
  });

  void it('bounds a provider call: one that never answers fails with TimeoutError, then it is asked again', async () => {
    let hang = true;
    let calls = 0;
    const key = key32();
    const provider: KeyProvider = {
      getKey: () => {
        calls++;
        return hang ? new Promise(() => undefined) : Promise.resolve({ key, version: 1 });
      },
    };
    const { context } = await cluster.add({
      keys: provider,
      encryption: { keyProviderTimeoutMs: 30 },
    });
    const encrypt = () => context.encryptionService.encrypt(1, AES, { keyId: KEY_ID });
    await Promise.all([
      assert.rejects(encrypt(), { code: 'PB_TIMEOUT', message: /keyProviderTimeoutMs/ }),
      assert.rejects(encrypt(), { code: 'PB_TIMEOUT' }),
    ]);
    assert.equal(calls, 1, 'the two waited for one call');
    hang = false;
    assert.equal(versionOf(await encrypt()), 1);
    assert.equal(calls, 2);
  });

  void it('refuses what a provider gets wrong, and unknown keys', async () => {
    const provider: KeyProvider = {
      getKey: (keyId, version) =>
        Promise.resolve(
          keyId === 'short'
            ? { key: Buffer.alloc(16).toString('base64'), version: 1 }
            : keyId === 'wrong-version'
              ? { key: key32(), version: version === undefined ? 0 : version + 1 }
              : undefined,
        ),
    };
    const { context } = await cluster.add({ keys: provider });
    const service = context.encryptionService;
    const rejected = (keyId: string) =>
      service.encrypt(1, AES, { keyId }).then(
        () => ({ code: 'encrypted', message: '' }),
        (e: unknown) => e as { code: string; message: string },
      );
    assert.equal((await rejected('short')).code, 'PB_VALIDATION');
    assert.match((await rejected('short')).message, /32 bytes/);
    assert.equal((await rejected('wrong-version')).code, 'PB_VALIDATION');
    // Asked for version 1 (an envelope's), it answers version 2: refused too.
    const envelope = `pb1.${Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 1, 13]), Buffer.from('wrong-version'), Buffer.alloc(40)]).toString('base64url')}`;
    await assert.rejects(service.decrypt(envelope, AES, { keyId: 'wrong-version' }), {
      code: 'PB_VALIDATION',
      message: /version 1/,
    });
    assert.equal((await rejected('nothing')).code, 'PB_KEY_NOT_FOUND');
    assert.match((await rejected('nothing')).message, /nothing/);
  });
});

void describe('keys from the environment', () => {
  const cluster = cryptoCluster(false);
  const v1 = key32();
  const v2 = key32();
  const saved = { ...process.env };
  before(() => {
    process.env['PLUGBOARD_KEY_DATA_ENCRYPTION_KEY'] = v1;
    process.env['PLUGBOARD_KEY_DATA_ENCRYPTION_KEY_V2'] = v2;
  });
  after(async () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    await cluster.stop();
  });

  void it('reads PLUGBOARD_KEY_<ID> (version 1) and PLUGBOARD_KEY_<ID>_V<n> when keys is not configured', async () => {
    const configured = await cluster.add({ keys: { [KEY_ID]: v1 } });
    const old = await configured.context.encryptionService.encrypt('v1 data', AES, {
      keyId: KEY_ID,
    });
    const { context } = await cluster.add({});
    const fresh = await context.encryptionService.encrypt('v2 data', AES, { keyId: KEY_ID });
    assert.equal(versionOf(fresh), 2);
    assert.equal(await context.encryptionService.decrypt(old, AES, { keyId: KEY_ID }), 'v1 data');
    await assert.rejects(context.encryptionService.encrypt(1, AES, { keyId: 'other' }), {
      code: 'PB_KEY_NOT_FOUND',
      message: /PLUGBOARD_KEY_OTHER/,
    });
    // One variable names one key id: no aliases (they would split the usage count), and an id
    // ending in -v<n> would read as a version.
    for (const alias of ['DATA-ENCRYPTION-KEY', 'data_encryption_key', 'data-encryption-key-v2']) {
      await assert.rejects(context.encryptionService.encrypt(1, AES, { keyId: alias }), {
        code: 'PB_KEY_NOT_FOUND',
        message: /lower-case letters, digits and single dashes/,
      });
    }
  });

  void it('fails the host start naming a malformed variable, never its value', async () => {
    process.env['PLUGBOARD_KEY_BROKEN'] = 'c2hvcnQ=';
    try {
      await assert.rejects(
        cluster.add({}),
        (e: { code: string; message: string; details: { field: string } }) => {
          assert.equal(e.code, 'PB_VALIDATION');
          assert.equal(e.details.field, 'PLUGBOARD_KEY_BROKEN');
          assert.ok(!e.message.includes('c2hvcnQ='));
          return true;
        },
      );
    } finally {
      delete process.env['PLUGBOARD_KEY_BROKEN'];
    }
  });
});

void describe('capability check', () => {
  void it('asks crypto:use:<keyId> (encrypt, decrypt) and crypto:rotate:<keyId> before touching a key', async () => {
    const { provider, asked } = kms({ [KEY_ID]: { 1: key32() }, secret: { 1: key32() } });
    const audits: unknown[] = [];
    const core = new EncryptionCore({
      keys: provider,
      usage: new MemoryKeyUsageStore(new MemoryKeyUsageState()),
      logger: silentLogger,
      audit: { record: (entry) => void audits.push(entry) },
      maxValueBytes: 1024,
    });
    const checks: string[] = [];
    const guard = recordingGuard((area, action, target) => {
      checks.push(`${area}:${action}:${target}`);
      if (target === 'secret') {
        throw new PermissionDeniedError(`Plugin "p" may not ${area}:${action}:${target}.`);
      }
    });
    const service = createEncryptionService(core, new PluginScope('p', silentLogger, {}, guard));
    const envelope = await service.encrypt(1, AES, { keyId: KEY_ID });
    await service.decrypt(envelope, AES, { keyId: KEY_ID });
    await service.refreshKey(KEY_ID);
    await assert.rejects(service.encrypt(1, AES, { keyId: 'secret' }), {
      code: 'PB_PERMISSION_DENIED',
    });
    await assert.rejects(service.decrypt(envelope, AES, { keyId: 'secret' }), {
      code: 'PB_PERMISSION_DENIED',
    });
    await assert.rejects(service.refreshKey('secret'), { code: 'PB_PERMISSION_DENIED' });
    assert.deepEqual(checks, [
      `crypto:use:${KEY_ID}`,
      `crypto:use:${KEY_ID}`,
      `crypto:rotate:${KEY_ID}`,
      'crypto:use:secret',
      'crypto:use:secret',
      'crypto:rotate:secret',
    ]);
    assert.ok(!asked.some((a) => a.keyId === 'secret'), 'a denied call never reaches the provider');
    assert.deepEqual(audits, [], 'no rotation happened');
    await core.close();
  });
});
