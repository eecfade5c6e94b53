/**
 * The chapter's encryption example, as written there, through a real host and
 * `context.encryptionService`, on the embedded backend and on Redis. The key comes from the
 * environment (`PLUGBOARD_KEY_DATA_ENCRYPTION_KEY`), never from the plugin's code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

const VARIABLE = 'PLUGBOARD_KEY_DATA_ENCRYPTION_KEY';

for (const [label, redis] of [
  ['embedded backend', false],
  ['Redis', true],
] as const) {
  describe(`the chapter's encryption example (${label})`, () => {
    let host: ChapterHost;
    let plugins: { a: PluginContext; b: PluginContext };
    before(async () => {
      process.env[VARIABLE] = randomBytes(32).toString('base64');
      host = await chapterHost(redis, ['plugin-a', 'plugin-b']);
      plugins = { a: host.contexts['plugin-a']!, b: host.contexts['plugin-b']! };
    });
    after(async () => {
      await host.stop();
      delete process.env[VARIABLE];
    });

    it('encrypt then decrypt with AES-256-GCM under data-encryption-key', async () => {
      const context = plugins.a;
      const sensitiveData = {
        ssn: '078-05-1120',
        card: { number: '4111111111111111', expires: new Date('2030-01-31T00:00:00Z') },
        balanceCents: 123456789012345678901234567890n,
      };

      // prettier-ignore
      const encryptedData = await context.encryptionService.encrypt(sensitiveData, 'AES-256-GCM', { keyId: 'data-encryption-key' });
      // prettier-ignore
      const decryptedData = await context.encryptionService.decrypt(encryptedData, 'AES-256-GCM', { keyId: 'data-encryption-key' });

      assert.deepStrictEqual(decryptedData, sensitiveData);
      assert.equal(typeof encryptedData, 'string');
      assert.match(encryptedData, /^pb1\./);
      assert.ok(!encryptedData.includes('4111'), 'no plaintext in the envelope');
      // Another plugin of the host, with the same key, reads it too.
      assert.deepStrictEqual(
        await plugins.b.encryptionService.decrypt(encryptedData, 'AES-256-GCM', {
          keyId: 'data-encryption-key',
        }),
        sensitiveData,
      );
      await assert.rejects(
        context.encryptionService.decrypt(`${encryptedData.slice(0, -2)}AA`, 'AES-256-GCM', {
          keyId: 'data-encryption-key',
        }),
        { name: 'DecryptionError' },
      );
    });
  });
}
