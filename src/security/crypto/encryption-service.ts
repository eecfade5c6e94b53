import type { PluginScope } from '../../context/plugin-scope.js';
import type { EncryptionCore } from './encryption-core.js';
import type { EncryptionService } from './types.js';

/** `context.encryptionService` for one plugin. */
export function createEncryptionService(
  core: EncryptionCore,
  scope: PluginScope,
): EncryptionService {
  void scope;
  return {
    encrypt: (data, algorithm, options) => core.encrypt(data, algorithm, options),
    decrypt: <T>(
      envelope: string,
      algorithm: string,
      options: Parameters<EncryptionService['decrypt']>[2],
    ) => core.decrypt(envelope, algorithm, options) as Promise<T>,
  };
}
