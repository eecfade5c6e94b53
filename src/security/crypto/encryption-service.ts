import type { PluginScope } from '../../context/plugin-scope.js';
import { ContextClosedError } from '../../errors/errors.js';
import type { EncryptionCore } from './encryption-core.js';
import type { EncryptionService, EncryptOptions } from './types.js';

/**
 * `context.encryptionService` for one plugin: capability `crypto:use:<keyId>` for encrypt and
 * decrypt, `crypto:rotate:<keyId>` for refreshKey, checked before anything else.
 */
export function createEncryptionService(
  core: EncryptionCore,
  scope: PluginScope,
): EncryptionService {
  const check = (action: 'use' | 'rotate', keyId: unknown, operation: string): void => {
    if (scope.closed) {
      throw new ContextClosedError(
        `Plugin "${scope.pluginId}" has stopped; ${operation} is no longer possible.`,
        { details: { pluginId: scope.pluginId, operation } },
      );
    }
    // A malformed keyId reaches the core's validation (ValidationError naming the field).
    if (typeof keyId === 'string') scope.guard?.assert('crypto', action, keyId);
  };
  const keyOf = (options: EncryptOptions | undefined): unknown =>
    typeof options === 'object' && options !== null ? options.keyId : undefined;
  return {
    async encrypt(data, algorithm, options) {
      check('use', keyOf(options), 'encrypting');
      return core.encrypt(data, algorithm, options);
    },
    async decrypt<T>(envelope: string, algorithm: 'AES-256-GCM', options: EncryptOptions) {
      check('use', keyOf(options), 'decrypting');
      return (await core.decrypt(envelope, algorithm, options)) as T;
    },
    async refreshKey(keyId) {
      check('rotate', keyId, 'refreshing a key');
      return core.refresh(keyId);
    },
  };
}
