/**
 * `context.encryptionService`: AES-256-GCM with keys from the host's configuration or a key
 * provider, never from code; keys rotate by version.
 */

/** The one algorithm supported today. */
export type EncryptionAlgorithm = 'AES-256-GCM';

export interface EncryptOptions {
  /** Key id, e.g. `data-encryption-key`. */
  readonly keyId: string;
  /** Associated data: authenticated, not encrypted; the same value must be given to decrypt. */
  readonly aad?: string | Uint8Array;
}

/** A self-describing envelope (format version, algorithm, key id and version, nonce, tag, ciphertext). */
export type EncryptedEnvelope = string;

export interface EncryptionService {
  encrypt(
    data: unknown,
    algorithm: EncryptionAlgorithm,
    options: EncryptOptions,
  ): Promise<EncryptedEnvelope>;
  decrypt<T = unknown>(
    envelope: EncryptedEnvelope,
    algorithm: EncryptionAlgorithm,
    options: EncryptOptions,
  ): Promise<T>;
}
