import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyUsageStore } from '../../backends/ports.js';
import { createCodec, type Codec } from '../../codec/codec.js';
import {
  DecryptionError,
  PayloadTooLargeError,
  UnsupportedAlgorithmError,
  ValidationError,
} from '../../errors/errors.js';
import type { EncryptionOptions, KeyConfig, KeyProvider } from '../../host/types.js';
import type { AuditCore } from '../audit/audit-core.js';
import { ENVELOPE_PREFIX, headerBytes, parseEnvelope, TAG_BYTES, writeHeader } from './envelope.js';
import {
  assertKeyId,
  encryptionSettings,
  environmentKeys,
  parseKeyConfig,
  type EncryptionSettings,
} from './key-config.js';
import { ProviderKeyring, StaticKeyring, type Keyring, type ResolvedKey } from './keyring.js';
import { NONCE_BYTES, NoncePool } from './nonce.js';
import type { EncryptedEnvelope, EncryptOptions, KeyVersionInfo } from './types.js';
import { UsageCounter } from './usage-counter.js';

export interface EncryptionEnv {
  /** Validated `keys` host option; undefined: keys come from the environment. */
  readonly keys: KeyConfig | KeyProvider | undefined;
  /** The `encryption` host option (validated here). */
  readonly options?: EncryptionOptions | undefined;
  readonly usage: KeyUsageStore;
  readonly logger: Logger;
  /** Where key rotations are audited (the host's audit log). */
  readonly audit: Pick<AuditCore, 'record'>;
  /** Largest value (encoded) that may be encrypted, bytes. */
  readonly maxValueBytes: number;
  /** Where environment keys are read (default `process.env`), once, at construction. */
  readonly environment?: NodeJS.ProcessEnv;
}

const ALGORITHM = 'AES-256-GCM';
const CIPHER = 'aes-256-gcm';

/**
 * One per host: the keyring and AES-256-GCM. Values are encoded with the project's codec
 * (MessagePack with structured-clone extensions: strings, bytes, numbers, booleans, null,
 * objects, arrays, Date, Map, Set, BigInt keep their types; decoding never assigns through
 * `__proto__`), then sealed with a fresh random 96-bit nonce under the newest version of the
 * key into a `pb1.` envelope (see envelope.ts). Decrypt returns nothing unless the tag checks.
 */
export class EncryptionCore {
  private readonly settings: EncryptionSettings;
  private readonly keyring: Keyring;
  private readonly codec: Codec;
  private readonly nonces = new NoncePool();
  private readonly usage: UsageCounter;
  /** Longest envelope text decrypt reads (the largest value's envelope with a 255-byte key id). */
  private readonly maxEnvelopeChars: number;
  private closed = false;

  constructor(private readonly env: EncryptionEnv) {
    this.settings = encryptionSettings(env.options);
    const keys = env.keys;
    if (keys !== undefined && typeof (keys as Partial<KeyProvider>).getKey === 'function') {
      this.keyring = new ProviderKeyring(keys as KeyProvider, {
        cacheMs: this.settings.keyCacheMs,
        timeoutMs: this.settings.keyProviderTimeoutMs,
        maxCached: this.settings.maxCachedKeys,
        onRotated: (keyId, previous, version) => this.rotated(keyId, previous, version),
      });
    } else if (keys === undefined) {
      this.keyring = new StaticKeyring(environmentKeys(env.environment ?? process.env), true);
    } else {
      this.keyring = new StaticKeyring(parseKeyConfig(keys as KeyConfig), false);
    }
    this.codec = createCodec({ maxPayloadBytes: env.maxValueBytes });
    this.usage = new UsageCounter(env.usage, this.settings, env.logger);
    const maxBytes = headerBytes(255) + NONCE_BYTES + env.maxValueBytes + TAG_BYTES;
    this.maxEnvelopeChars = ENVELOPE_PREFIX.length + Math.ceil((maxBytes * 4) / 3);
  }

  async encrypt(
    data: unknown,
    algorithm: string,
    options: EncryptOptions,
  ): Promise<EncryptedEnvelope> {
    this.assertOpen();
    assertAlgorithm(algorithm);
    const aad = this.readOptions(options, 'encrypt');
    const plaintext = this.codec.encode(data);
    const found = this.keyring.current(options.keyId);
    const key = found instanceof Promise ? await found : found;
    this.usage.use(key.keyId, key.version);
    return this.seal(key, plaintext, aad);
  }

  async decrypt(envelope: string, algorithm: string, options: EncryptOptions): Promise<unknown> {
    this.assertOpen();
    assertAlgorithm(algorithm);
    const aad = this.readOptions(options, 'decrypt');
    if (typeof envelope !== 'string') {
      throw new ValidationError(
        'decrypt(envelope, ...): the envelope must be the string encrypt returned.',
        { details: { field: 'envelope' } },
      );
    }
    if (envelope.length > this.maxEnvelopeChars) {
      throw new PayloadTooLargeError(
        `The envelope is ${envelope.length} characters, longer than any envelope of a value within the limit (${this.env.maxValueBytes} bytes).`,
        { details: { field: 'envelope', size: envelope.length, limit: this.maxEnvelopeChars } },
      );
    }
    const parsed = parseEnvelope(envelope);
    if (parsed.keyId !== options.keyId) {
      throw new DecryptionError(
        `The envelope was not encrypted under key "${options.keyId}" (or it was tampered with): decrypt with the key id it was encrypted with.`,
        { details: { keyId: options.keyId } },
      );
    }
    const found = this.keyring.get(options.keyId, parsed.version);
    const key = found instanceof Promise ? await found : found;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv(CIPHER, key.key, parsed.nonce, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAuthTag(parsed.tag);
      decipher.setAAD(parsed.header);
      if (aad !== undefined) decipher.setAAD(aad);
      plaintext = decipher.update(parsed.ciphertext);
      // The tag is checked here; nothing decrypted is used unless it passes.
      decipher.final();
    } catch {
      throw new DecryptionError(
        `The envelope does not authenticate under key "${options.keyId}" version ${parsed.version}: it was tampered with, or the key or the associated data (aad) is not the one it was encrypted with.`,
        { details: { keyId: options.keyId, version: parsed.version } },
      );
    }
    return this.codec.decode(plaintext);
  }

  async refresh(keyId: string): Promise<KeyVersionInfo> {
    this.assertOpen();
    assertKeyId(keyId);
    const key = await this.keyring.refresh(keyId);
    return { keyId, version: key.version };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.usage.close();
  }

  private seal(key: ResolvedKey, plaintext: Uint8Array, aad: Buffer | undefined): string {
    const idBytes = Buffer.byteLength(key.keyId);
    const headerEnd = headerBytes(idBytes);
    const bodyAt = headerEnd + NONCE_BYTES;
    const out = Buffer.allocUnsafe(bodyAt + plaintext.byteLength + TAG_BYTES);
    writeHeader(out, key.keyId, idBytes, key.version);
    const nonce = this.nonces.take(out, headerEnd);
    const cipher = createCipheriv(CIPHER, key.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(out.subarray(0, headerEnd));
    if (aad !== undefined) cipher.setAAD(aad);
    const written = cipher.update(plaintext);
    written.copy(out, bodyAt);
    cipher.final();
    cipher.getAuthTag().copy(out, bodyAt + written.length);
    return ENVELOPE_PREFIX + out.toString('base64url');
  }

  private rotated(keyId: string, previous: number, version: number): void {
    this.env.logger.info(
      { keyId, previous, version },
      'encryption key rotated: new data uses the new version',
    );
    this.env.audit.record({
      action: 'key.rotated',
      actor: 'host',
      target: keyId,
      metadata: { version, previous },
    });
  }

  /** Check `options` ({ keyId, aad? }); returns the aad as bytes. */
  private readOptions(options: unknown, verb: string): Buffer | undefined {
    const aad = readOptions(options, verb);
    if (aad !== undefined && aad.byteLength > this.env.maxValueBytes) {
      throw new PayloadTooLargeError(
        `options.aad is ${aad.byteLength} bytes, over the limit of ${this.env.maxValueBytes}: pass an id of what the value belongs to, not the thing itself.`,
        { details: { field: 'options.aad', size: aad.byteLength, limit: this.env.maxValueBytes } },
      );
    }
    return aad;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new ValidationError('The encryption service is closed: its host stopped.', {
        details: { field: 'encryptionService' },
      });
    }
  }
}

function assertAlgorithm(algorithm: unknown): void {
  if (algorithm !== ALGORITHM) {
    throw new UnsupportedAlgorithmError(
      `Algorithm ${JSON.stringify(algorithm)} is not supported: use 'AES-256-GCM'.`,
      { details: { algorithm: typeof algorithm === 'string' ? algorithm : String(algorithm) } },
    );
  }
}

/** Check `options` ({ keyId, aad? }); returns the aad as bytes. */
function readOptions(options: unknown, verb: string): Buffer | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError(
      `${verb}(…, 'AES-256-GCM', options): options must be an object such as { keyId: 'data-encryption-key' }.`,
      { details: { field: 'options' } },
    );
  }
  const { keyId, aad } = options as Partial<EncryptOptions>;
  assertKeyId(keyId, 'options.keyId');
  if (aad === undefined) return undefined;
  if (typeof aad === 'string') return Buffer.from(aad, 'utf8');
  if (aad instanceof Uint8Array) return Buffer.from(aad.buffer, aad.byteOffset, aad.byteLength);
  throw new ValidationError('options.aad must be a string or bytes (Uint8Array).', {
    details: { field: 'options.aad' },
  });
}
