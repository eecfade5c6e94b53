import type { Logger } from 'pino';
import type { KeyUsageStore } from '../../backends/ports.js';
import { KeyNotFoundError } from '../../errors/errors.js';
import type { KeyProvider } from '../../host/types.js';
import type { AuditCore } from '../audit/audit-core.js';
import type { EncryptedEnvelope, EncryptOptions } from './types.js';

export interface EncryptionEnv {
  readonly keys: Readonly<Record<string, string>> | KeyProvider | undefined;
  readonly usage: KeyUsageStore;
  readonly logger: Logger;
  readonly audit: AuditCore;
}

/**
 * One per host: the keyring and AES-256-GCM.
 * BASE STUB (issue 11): refuses every call; the encryption helper replaces it.
 */
export class EncryptionCore {
  constructor(private readonly env: EncryptionEnv) {}

  encrypt(_data: unknown, _algorithm: string, options: EncryptOptions): Promise<EncryptedEnvelope> {
    return Promise.reject(new KeyNotFoundError(`No key "${options.keyId}" (not implemented yet).`));
  }

  decrypt(_envelope: string, _algorithm: string, options: EncryptOptions): Promise<unknown> {
    return Promise.reject(new KeyNotFoundError(`No key "${options.keyId}" (not implemented yet).`));
  }

  close(): Promise<void> {
    void this.env;
    return Promise.resolve();
  }
}
