/**
 * The envelope and AES-256-GCM through `context.encryptionService` (the format does not depend
 * on the backend: the embedded one): every single-bit flip refused, the header authenticated,
 * aad, wrong keys, algorithm and argument errors, values keeping their type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../../src/context/types.js';
import { AES, cryptoCluster, envelopeBytes, envelopeOf, key32, KEY_ID } from './support.js';

const K = key32();
/** The same key bytes under a second id one bit away and under version 3 (1 with bit 1 set). */
const TWIN_ID = 'data-encryption-kex';

void describe('encryption envelope (AES-256-GCM)', () => {
  const cluster = cryptoCluster(false);
  let vault: PluginContext['encryptionService'];
  let other: PluginContext['encryptionService'];
  before(async () => {
    ({
      context: { encryptionService: vault },
    } = await cluster.add({
      keys: {
        [KEY_ID]: { versions: { 1: K, 3: K }, active: 1 },
        [TWIN_ID]: K,
        'other-key': key32(),
      },
    }));
    // A host of the same cluster holding a different key under the same id.
    ({
      context: { encryptionService: other },
    } = await cluster.add({ keys: { [KEY_ID]: key32() } }));
  });
  after(() => cluster.stop());

  void it('refuses every single-bit flip of a sample envelope (header, nonce, ciphertext, tag)', async () => {
    const aad = 'row-1';
    const envelope = await vault.encrypt({ card: 'secret-4111' }, AES, { keyId: KEY_ID, aad });
    const bytes = envelopeBytes(envelope);
    const idLength = bytes[6]!;
    const headerEnd = 7 + idLength;
    const region = (i: number): string =>
      i === 0
        ? 'format'
        : i === 1
          ? 'algorithm'
          : i < 6
            ? 'version'
            : i === 6
              ? 'idLength'
              : i < headerEnd
                ? 'keyId'
                : i < headerEnd + 12
                  ? 'nonce'
                  : i < bytes.length - 16
                    ? 'ciphertext'
                    : 'tag';
    const seen = new Map<string, Map<string, number>>();
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[i]! ^= 1 << bit;
        const where = region(i);
        // The envelope names another key id after a key-id flip: decrypt under that id too.
        const keyIds =
          where === 'keyId' ? [KEY_ID, flipped.toString('utf8', 7, headerEnd)] : [KEY_ID];
        for (const keyId of keyIds) {
          const error = await vault.decrypt(envelopeOf(flipped), AES, { keyId, aad }).then(
            () => assert.fail(`flip of bit ${bit} of byte ${i} (${where}) decrypted`),
            (e: unknown) => e as { code: string; message: string },
          );
          assert.doesNotMatch(error.message, /secret-4111/);
          const codes = seen.get(where) ?? new Map<string, number>();
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
          seen.set(where, codes);
        }
      }
    }
    const summary = Object.fromEntries(
      [...seen].map(([where, codes]) => [where, Object.fromEntries(codes)]),
    );
    const dataBytes = bytes.length - headerEnd - 12 - 16;
    assert.deepEqual(summary, {
      // An envelope of another format version or algorithm is not read at all.
      format: { PB_UNSUPPORTED_ALGORITHM: 8 },
      algorithm: { PB_UNSUPPORTED_ALGORITHM: 8 },
      // Version 1 → 3 names a version this host holds (with the same key bytes): only the
      // authenticated header refuses it. Every other flip names a version nobody holds.
      version: { PB_DECRYPTION_FAILED: 1, PB_KEY_NOT_FOUND: 31 },
      idLength: { PB_DECRYPTION_FAILED: 8 },
      // Under the caller's id: not the envelope's id. Under the id the flipped envelope names:
      // no such key, except data-encryption-kex, which holds the same key bytes and is refused
      // by the header's tag.
      keyId: { PB_DECRYPTION_FAILED: 8 * idLength + 1, PB_KEY_NOT_FOUND: 8 * idLength - 1 },
      nonce: { PB_DECRYPTION_FAILED: 96 },
      ciphertext: { PB_DECRYPTION_FAILED: 8 * dataBytes },
      tag: { PB_DECRYPTION_FAILED: 128 },
    });
    // The untouched envelope still decrypts.
    assert.deepEqual(await vault.decrypt(envelope, AES, { keyId: KEY_ID, aad }), {
      card: 'secret-4111',
    });
  });

  void it('authenticates the header: the same key bytes under another id or version do not decrypt it', async () => {
    const envelope = await vault.encrypt('payload', AES, { keyId: KEY_ID });
    const bytes = envelopeBytes(envelope);
    // Rename the key id (same length) to the twin id holding the same key bytes.
    const renamed = Buffer.from(bytes);
    renamed.write(TWIN_ID, 7, 'utf8');
    await assert.rejects(vault.decrypt(envelopeOf(renamed), AES, { keyId: TWIN_ID }), {
      code: 'PB_DECRYPTION_FAILED',
    });
    // Re-label version 1 as version 3 (the same bytes).
    const relabelled = Buffer.from(bytes);
    relabelled.writeUInt32BE(3, 2);
    await assert.rejects(vault.decrypt(envelopeOf(relabelled), AES, { keyId: KEY_ID }), {
      code: 'PB_DECRYPTION_FAILED',
    });
    // A different key id length rebuilt by hand (header moved): refused too.
    const shortId = Buffer.concat([
      Buffer.from([1, 1, 0, 0, 0, 1, 'other-key'.length]),
      Buffer.from('other-key'),
      bytes.subarray(7 + KEY_ID.length),
    ]);
    await assert.rejects(vault.decrypt(envelopeOf(shortId), AES, { keyId: 'other-key' }), {
      code: 'PB_DECRYPTION_FAILED',
    });
  });

  void it('writes a self-describing envelope with a fresh nonce each time', async () => {
    const a = await vault.encrypt('same', AES, { keyId: KEY_ID });
    const b = await vault.encrypt('same', AES, { keyId: KEY_ID });
    assert.notEqual(a, b);
    assert.match(a, /^pb1\.[A-Za-z0-9_-]+$/);
    const bytes = envelopeBytes(a);
    assert.equal(bytes[0], 1, 'format version 1');
    assert.equal(bytes[1], 1, 'algorithm 1: AES-256-GCM');
    assert.equal(bytes.readUInt32BE(2), 1, 'key version');
    assert.equal(bytes.toString('utf8', 7, 7 + bytes[6]!), KEY_ID);
    assert.notDeepEqual(
      bytes.subarray(7 + KEY_ID.length, 19 + KEY_ID.length),
      envelopeBytes(b).subarray(7 + KEY_ID.length, 19 + KEY_ID.length),
    );
  });

  void it('checks the associated data: missing, different or added aad is refused', async () => {
    const envelope = await vault.encrypt(42, AES, { keyId: KEY_ID, aad: 'user:7' });
    for (const aad of [undefined, 'user:8', 'user:7 ', '']) {
      await assert.rejects(
        vault.decrypt(envelope, AES, { keyId: KEY_ID, ...(aad === undefined ? {} : { aad }) }),
        { code: 'PB_DECRYPTION_FAILED' },
        `aad ${String(aad)}`,
      );
    }
    // The same bytes given as bytes are the same aad.
    assert.equal(
      await vault.decrypt(envelope, AES, { keyId: KEY_ID, aad: Buffer.from('user:7') }),
      42,
    );
    const plain = await vault.encrypt(42, AES, { keyId: KEY_ID });
    await assert.rejects(vault.decrypt(plain, AES, { keyId: KEY_ID, aad: 'user:7' }), {
      code: 'PB_DECRYPTION_FAILED',
    });
  });

  void it('refuses a wrong key: another host’s key under the same id, or another key id', async () => {
    const envelope = await vault.encrypt('secret', AES, { keyId: KEY_ID });
    const error = await other.decrypt(envelope, AES, { keyId: KEY_ID }).catch((e: unknown) => e);
    assert.equal((error as { code: string }).code, 'PB_DECRYPTION_FAILED');
    assert.doesNotMatch((error as Error).message, /secret/);
    assert.ok(!(error as Error).message.includes(K), 'no key material in the message');
    await assert.rejects(vault.decrypt(envelope, AES, { keyId: 'other-key' }), {
      code: 'PB_DECRYPTION_FAILED',
    });
    await assert.rejects(vault.encrypt('x', AES, { keyId: 'no-such-key' }), {
      code: 'PB_KEY_NOT_FOUND',
    });
    await assert.rejects(vault.decrypt(envelope, AES, { keyId: 'no-such-key' }), {
      code: 'PB_DECRYPTION_FAILED',
    });
  });

  void it('refuses other algorithms and envelope formats with UnsupportedAlgorithmError', async () => {
    const envelope = await vault.encrypt('x', AES, { keyId: KEY_ID });
    for (const algorithm of ['AES-128-GCM', 'aes-256-gcm', 'AES-256-CBC', '']) {
      await assert.rejects(vault.encrypt('x', algorithm as typeof AES, { keyId: KEY_ID }), {
        code: 'PB_UNSUPPORTED_ALGORITHM',
      });
      await assert.rejects(vault.decrypt(envelope, algorithm as typeof AES, { keyId: KEY_ID }), {
        code: 'PB_UNSUPPORTED_ALGORITHM',
      });
    }
    await assert.rejects(vault.decrypt(`pb2.${envelope.slice(4)}`, AES, { keyId: KEY_ID }), {
      code: 'PB_UNSUPPORTED_ALGORITHM',
      message: /upgrade/,
    });
  });

  void it('reads only the canonical text: any other spelling or a damaged envelope is refused', async () => {
    const envelope = await vault.encrypt('x', AES, { keyId: KEY_ID });
    const body = envelope.slice(4);
    const last = body.at(-1)!;
    // base64url's last character carries unused low bits: a neighbour decodes to the same bytes.
    const sibling = last === 'A' ? 'B' : String.fromCharCode(last.charCodeAt(0) ^ 1);
    for (const damaged of [
      `${envelope}!`,
      `pb1.${body.slice(0, 10)}*${body.slice(10)}`,
      `pb1.${body.slice(0, -1)}${sibling}`,
      `pb1.${body}=`,
      envelope.slice(0, 30),
      'pb1.',
      'not an envelope',
      '',
    ]) {
      await assert.rejects(
        vault.decrypt(damaged, AES, { keyId: KEY_ID }),
        { code: 'PB_DECRYPTION_FAILED' },
        damaged,
      );
    }
  });

  void it('round-trips values with their type', async () => {
    const values: unknown[] = [
      'text ✓',
      '',
      Buffer.from([0, 1, 255]),
      new Uint8Array([9, 8, 7]),
      0,
      -1.5,
      Number.MAX_SAFE_INTEGER,
      Number.NaN,
      true,
      false,
      null,
      [1, 'two', [3]],
      12345678901234567890n,
      {
        name: 'Ada',
        born: new Date('1815-12-10T00:00:00Z'),
        tags: new Set(['math', 'poetry']),
        scores: new Map<unknown, unknown>([
          ['a', 1],
          [2, { deep: [new Date(0)] }],
        ]),
        balance: -(2n ** 70n),
        raw: Buffer.from('bytes'),
        nested: { list: [null, undefined, { x: 1n }] },
      },
    ];
    for (const value of values) {
      const envelope = await vault.encrypt(value, AES, { keyId: KEY_ID });
      const back = await vault.decrypt(envelope, AES, { keyId: KEY_ID });
      assert.deepStrictEqual(back, value);
      if (value instanceof Uint8Array) {
        assert.equal((back as object).constructor, value.constructor);
      }
    }
  });

  void it('never pollutes prototypes: an own __proto__ key is refused, constructor.prototype is data', async () => {
    // The codec refuses an own `__proto__` key anywhere in a value (it could not arrive as sent).
    const hostile = JSON.parse('{"a": {"__proto__": {"polluted": 1}}}') as unknown;
    await assert.rejects(vault.encrypt(hostile, AES, { keyId: KEY_ID }), {
      code: 'PB_SERIALIZATION',
      message: /__proto__/,
    });
    const plain = { constructor: { prototype: { p: 2 } } };
    const envelope = await vault.encrypt(plain, AES, { keyId: KEY_ID });
    const back = await vault.decrypt<Record<string, unknown>>(envelope, AES, { keyId: KEY_ID });
    assert.deepEqual(back, plain);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['p'], undefined);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
  });

  void it('refuses bad arguments with ValidationError, unencodable or too large values too', async () => {
    const envelope = await vault.encrypt('x', AES, { keyId: KEY_ID });
    const field = async (run: () => Promise<unknown>, name: string): Promise<void> => {
      await assert.rejects(run(), (e: { code: string; details: { field: string } }) => {
        assert.equal(e.code, 'PB_VALIDATION');
        assert.equal(e.details.field, name);
        return true;
      });
    };
    const bad = (options: unknown) => options as { keyId: string };
    await field(() => vault.encrypt('x', AES, bad(undefined)), 'options');
    await field(() => vault.encrypt('x', AES, bad({})), 'options.keyId');
    await field(() => vault.encrypt('x', AES, bad({ keyId: '' })), 'options.keyId');
    await field(() => vault.encrypt('x', AES, bad({ keyId: 'k'.repeat(256) })), 'options.keyId');
    await field(() => vault.encrypt('x', AES, bad({ keyId: 7 })), 'options.keyId');
    await field(() => vault.encrypt('x', AES, bad({ keyId: KEY_ID, aad: 5 })), 'options.aad');
    await field(() => vault.decrypt(42 as unknown as string, AES, { keyId: KEY_ID }), 'envelope');
    await field(() => vault.decrypt(envelope, AES, bad(null)), 'options');
    await field(() => vault.refreshKey(''), 'keyId');
    await assert.rejects(
      vault.encrypt(() => 1, AES, { keyId: KEY_ID }),
      {
        code: 'PB_SERIALIZATION',
      },
    );
    await assert.rejects(vault.encrypt('x'.repeat(2 * 1024 * 1024), AES, { keyId: KEY_ID }), {
      code: 'PB_PAYLOAD_TOO_LARGE',
    });
    await assert.rejects(
      vault.encrypt('x', AES, { keyId: KEY_ID, aad: 'a'.repeat(2 * 1024 * 1024) }),
      (e: { code: string; details: { field: string } }) =>
        e.code === 'PB_PAYLOAD_TOO_LARGE' && e.details.field === 'options.aad',
    );
    await assert.rejects(
      vault.decrypt(`pb1.${'A'.repeat(3 * 1024 * 1024)}`, AES, { keyId: KEY_ID }),
      {
        code: 'PB_PAYLOAD_TOO_LARGE',
      },
    );
  });
});

void describe('encryption after the plugin stopped', () => {
  void it('refuses with ContextClosedError', async () => {
    const cluster = cryptoCluster(false);
    const { host, context } = await cluster.add({ keys: { [KEY_ID]: key32() } });
    const envelope = await context.encryptionService.encrypt(1, AES, { keyId: KEY_ID });
    await host.stop();
    await assert.rejects(context.encryptionService.encrypt(1, AES, { keyId: KEY_ID }), {
      code: 'PB_CONTEXT_CLOSED',
    });
    await assert.rejects(context.encryptionService.decrypt(envelope, AES, { keyId: KEY_ID }), {
      code: 'PB_CONTEXT_CLOSED',
    });
    await cluster.stop();
  });
});
