/**
 * `context.encryptionService`: AES-256-GCM with keys from the host's configuration, the
 * environment or a key provider, never from code; keys rotate by version.
 */

/** The one algorithm supported today. */
export type EncryptionAlgorithm = 'AES-256-GCM';

export interface EncryptOptions {
  /** Key id, e.g. `data-encryption-key`. */
  readonly keyId: string;
  /** Associated data: authenticated, not encrypted; the same value must be given to decrypt. */
  readonly aad?: string | Uint8Array;
}

/**
 * A self-describing envelope: `pb1.` then base64url (no padding) of the format version,
 * algorithm, key version and key id (the header, authenticated with the caller's `aad`), the
 * 96-bit nonce, the ciphertext and the 128-bit tag. A string, so it fits a text column or a
 * JSON field as is.
 */
export type EncryptedEnvelope = string;

/** What {@link EncryptionService.refreshKey} found. */
export interface KeyVersionInfo {
  readonly keyId: string;
  /** The version new data is encrypted with from now on. */
  readonly version: number;
}

export interface EncryptionService {
  /**
   * Encrypt `data` (a string, bytes, number, boolean, null, or an object or array holding
   * those, Date, Map, Set and BigInt) under the newest version of `keyId`.
   * @throws KeyNotFoundError, UnsupportedAlgorithmError, KeyExhaustedError, ValidationError
   */
  encrypt(
    data: unknown,
    algorithm: EncryptionAlgorithm,
    options: EncryptOptions,
  ): Promise<EncryptedEnvelope>;
  /**
   * The value given to `encrypt`, with its type. Nothing is returned unless the tag verifies.
   * @throws DecryptionError (tampered, other key or key id, other `aad`), KeyNotFoundError
   *   (the key version is no longer held), UnsupportedAlgorithmError, ValidationError
   */
  decrypt<T = unknown>(
    envelope: EncryptedEnvelope,
    algorithm: EncryptionAlgorithm,
    options: EncryptOptions,
  ): Promise<T>;
  /**
   * Ask the key provider for the newest version of `keyId` now instead of when its cache
   * lapses (a rotation published in the KMS takes effect at once on this host). With keys from
   * configuration or the environment, it reports the version in use. Capability `crypto:rotate`.
   */
  refreshKey(keyId: string): Promise<KeyVersionInfo>;
}
