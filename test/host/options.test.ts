import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHost } from '../../src/host/host.js';
import { definePlugin } from '../../src/host/define-plugin.js';
import type { HostOptions } from '../../src/host/types.js';
import { silentLogger } from './helpers.js';

const key32 = (): string => randomBytes(32).toString('base64');

const rejectsField = (options: unknown, field: string, message?: RegExp) =>
  assert.rejects(createHost({ logger: silentLogger, ...(options as HostOptions) }), (e: any) => {
    assert.equal(e.code, 'PB_VALIDATION', String(e));
    assert.equal(e.details.field, field);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });

void describe('host options do what they say', () => {
  void it('takes strictPermissions as a boolean and refuses anything else', async () => {
    await rejectsField({ strictPermissions: 'yes' }, 'strictPermissions', /true or false/);
    await rejectsField({ strictPermissions: 1 }, 'strictPermissions');
    const host = await createHost({ logger: silentLogger, strictPermissions: false });
    assert.equal(host.strictPermissions, false);
    await host.stop();
    const strict = await createHost({ logger: silentLogger, strictPermissions: true });
    assert.equal(strict.strictPermissions, true);
    await strict.stop();
  });

  void it('validates keys: every key 32 bytes (base64 or bytes), versions, or a provider', async () => {
    await rejectsField({ keys: 'secret' }, 'keys');
    await rejectsField({ keys: { signing: '' } }, 'keys.signing');
    await rejectsField({ keys: { signing: 42 } }, 'keys.signing');
    // Every key is an AES-256 key now, whatever its id.
    await rejectsField({ keys: { other: 'x' } }, 'keys.other', /32 bytes/);
    await rejectsField({ keys: { k: { versions: {} } } }, 'keys.k.versions');
    await rejectsField({ keys: { k: { versions: { 0: key32() } } } }, 'keys.k.versions.0');
    await rejectsField({ keys: { k: { versions: { '1.5': key32() } } } }, 'keys.k.versions.1.5');
    await rejectsField(
      { keys: { k: { versions: { 1: key32(), 2: randomBytes(31) } } } },
      'keys.k.versions.2',
    );
    await rejectsField({ keys: { k: { versions: { 1: key32() }, active: 2 } } }, 'keys.k.active');
    await rejectsField({ encryption: { usageLimit: 0 } }, 'encryption.usageLimit');
    await rejectsField(
      { encryption: { usageWarnAt: 10, usageLimit: 5 } },
      'encryption.usageWarnAt',
    );
    await rejectsField(
      { keys: { 'data-encryption-key': randomBytes(16).toString('base64') } },
      'keys.data-encryption-key',
      /32 bytes/,
    );
    await rejectsField(
      { keys: { 'data-encryption-key': 'not base64!' } },
      'keys.data-encryption-key',
    );
    const ok = await createHost({
      logger: silentLogger,
      keys: {
        'data-encryption-key': key32(),
        other: randomBytes(32),
        rotated: { versions: { 1: key32(), 2: key32() }, active: 1 },
      },
    });
    await ok.stop();
    const provider = await createHost({
      logger: silentLogger,
      keys: { getKey: async () => ({ key: 'k', version: 1 }) },
    });
    await provider.stop();
  });

  void it('runs silently with logger: false', async () => {
    const host = await createHost({
      logger: false,
      plugins: [
        definePlugin({
          name: 'talker',
          version: '1.0.0',
          activate(context) {
            context.logger.info('hello');
          },
        }),
      ],
    });
    assert.equal((await host.start()).ok, true);
    await host.stop();
  });

  void it('takes a logLevel and rejects one pino does not know', async () => {
    await rejectsField({ logger: undefined, logLevel: 'loud' }, 'logLevel', /one of trace/);
    const host = await createHost({ logLevel: 'silent' });
    await host.start();
    await host.stop();
    const child = await createHost({ logger: silentLogger, logLevel: 'error' });
    await child.stop();
    const saved = process.env['PLUGBOARD_LOG_LEVEL'];
    process.env['PLUGBOARD_LOG_LEVEL'] = 'chatty';
    try {
      await rejectsField({ logger: undefined }, 'PLUGBOARD_LOG_LEVEL');
    } finally {
      if (saved === undefined) delete process.env['PLUGBOARD_LOG_LEVEL'];
      else process.env['PLUGBOARD_LOG_LEVEL'] = saved;
    }
  });
});
