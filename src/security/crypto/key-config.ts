import { ValidationError } from '../../errors/errors.js';
import type {
  EncryptionOptions,
  KeyConfig,
  KeyMaterial,
  KeyProvider,
  VersionedKey,
} from '../../host/types.js';

/** AES-256: every key is 32 bytes. */
export const KEY_BYTES = 32;
/** Key versions are stored in 4 bytes of the envelope header. */
export const MAX_KEY_VERSION = 0xffff_ffff;
/** Key ids are stored with a 1-byte length in the envelope header. */
export const MAX_KEY_ID_BYTES = 255;
/** Prefix of the environment variables holding keys. */
export const ENV_PREFIX = 'PLUGBOARD_KEY_';

/** One key id's versions, validated: version → 32 bytes; `active` is what new data uses. */
export interface KeyVersions {
  readonly versions: ReadonlyMap<number, Buffer>;
  readonly active: number;
}

/** The keys of a configuration or of the environment, validated. */
export type StaticKeys = ReadonlyMap<string, KeyVersions>;

/**
 * Check the `keys` host option: a key provider (an object with `getKey`), or key id → a 32-byte
 * key (base64 text or bytes) or `{ versions: { <n>: key }, active? }`.
 * @throws ValidationError naming the key (`details.field`, `details.key`), never its value.
 */
export function assertKeys(keys: unknown): KeyConfig | KeyProvider | undefined {
  if (keys === undefined) return undefined;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new ValidationError(
      'Host option "keys" must be an object of key id → key (32 bytes, base64), or a key provider with getKey().',
      { details: { field: 'keys' } },
    );
  }
  if (typeof (keys as Partial<KeyProvider>).getKey === 'function') return keys as KeyProvider;
  parseKeyConfig(keys as KeyConfig);
  return Object.freeze({ ...(keys as KeyConfig) });
}

/** Validate and normalise a key configuration (see {@link assertKeys}). */
export function parseKeyConfig(config: KeyConfig): StaticKeys {
  const parsed = new Map<string, KeyVersions>();
  for (const [id, entry] of Object.entries(config)) {
    assertKeyId(id, `keys.${id}`);
    if (typeof entry === 'string' || entry instanceof Uint8Array) {
      parsed.set(id, {
        versions: new Map([[1, keyBytes(entry, `keys.${id}`, id)]]),
        active: 1,
      });
      continue;
    }
    parsed.set(id, parseVersioned(id, entry));
  }
  return parsed;
}

function parseVersioned(id: string, entry: unknown): KeyVersions {
  const field = `keys.${id}`;
  const given = entry as Partial<VersionedKey> | null;
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof given.versions !== 'object' ||
    given.versions === null
  ) {
    throw new ValidationError(
      `Host option "keys": key "${id}" must be a 32-byte key in base64 or { versions: { 1: '<base64>', 2: '<base64>' } }.`,
      { details: { field, key: id } },
    );
  }
  const versions = new Map<number, Buffer>();
  for (const [name, material] of Object.entries(given.versions)) {
    const version = Number(name);
    if (!isVersion(version) || String(version) !== name) {
      throw new ValidationError(
        `Host option "keys": key "${id}" has version "${name}"; versions are whole numbers from 1 to ${MAX_KEY_VERSION}.`,
        { details: { field: `${field}.versions.${name}`, key: id } },
      );
    }
    versions.set(version, keyBytes(material, `${field}.versions.${name}`, id));
  }
  if (versions.size === 0) {
    throw new ValidationError(`Host option "keys": key "${id}" lists no versions.`, {
      details: { field: `${field}.versions`, key: id },
    });
  }
  const active = given.active ?? Math.max(...versions.keys());
  if (!versions.has(active)) {
    throw new ValidationError(
      `Host option "keys": key "${id}" has active version ${String(active)}, which is not one of its versions (${[...versions.keys()].join(', ')}).`,
      { details: { field: `${field}.active`, key: id } },
    );
  }
  return { versions, active };
}

/** 32 bytes from base64 text or bytes (a copy); `field` names it in the error. */
export function keyBytes(material: unknown, field: string, id: string): Buffer {
  let bytes: Buffer | undefined;
  if (material instanceof Uint8Array) bytes = Buffer.from(material);
  else if (typeof material === 'string' && isBase64(material))
    bytes = Buffer.from(material, 'base64');
  if (bytes === undefined || bytes.length !== KEY_BYTES) {
    throw new ValidationError(
      `Key "${id}" (${field}) must be ${KEY_BYTES} bytes, as bytes or encoded in base64 (44 characters), e.g. from \`openssl rand -base64 32\`.`,
      { details: { field, key: id } },
    );
  }
  return bytes;
}

function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0;
}

export function isVersion(value: unknown): value is number {
  return (
    Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_KEY_VERSION
  );
}

/**
 * A key id: a non-empty string of at most 255 bytes (UTF-8).
 * @throws ValidationError naming `field`
 */
export function assertKeyId(id: unknown, field = 'keyId'): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > MAX_KEY_ID_BYTES) {
    throw new ValidationError(
      `"${field}" must be a key id: a non-empty string of at most ${MAX_KEY_ID_BYTES} bytes, such as "data-encryption-key".`,
      { details: { field } },
    );
  }
}

/** The environment variable name of `keyId` (upper case; anything but A-Z, 0-9 becomes `_`). */
export function environmentName(keyId: string): string {
  return ENV_PREFIX + keyId.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/**
 * Keys held by the environment: `PLUGBOARD_KEY_<ID>` is version 1 and `PLUGBOARD_KEY_<ID>_V<n>`
 * version n of key id `<id>` (lower case, `_` read as `-`: `PLUGBOARD_KEY_DATA_ENCRYPTION_KEY`
 * is `data-encryption-key`). Keys are looked up by {@link environmentName} of the requested
 * id, so ids that differ only in case or punctuation share a variable.
 * @throws ValidationError naming the variable (never its value) when one is not a 32-byte key
 */
export function environmentKeys(env: NodeJS.ProcessEnv): ReadonlyMap<string, KeyVersions> {
  const byName = new Map<string, Map<number, Buffer>>();
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || value === undefined) continue;
    const match = /^(.+?)(?:_V(\d+))?$/.exec(variable)!;
    const version = match[2] === undefined ? 1 : Number(match[2]);
    if (!isVersion(version)) {
      throw new ValidationError(
        `Environment variable ${variable}: key versions are whole numbers from 1 to ${MAX_KEY_VERSION}.`,
        { details: { field: variable } },
      );
    }
    const name = match[1]!;
    const versions = byName.get(name) ?? new Map<number, Buffer>();
    versions.set(version, keyBytes(value.trim(), variable, variable));
    byName.set(name, versions);
  }
  const keys = new Map<string, KeyVersions>();
  for (const [name, versions] of byName) {
    keys.set(name, { versions, active: Math.max(...versions.keys()) });
  }
  return keys;
}

export interface EncryptionSettings {
  readonly keyCacheMs: number;
  readonly keyProviderTimeoutMs: number;
  readonly maxCachedKeys: number;
  readonly usageWarnAt: number;
  readonly usageLimit: number;
  readonly usageFlushEvery: number;
  readonly usageFlushMs: number;
}

export const ENCRYPTION_DEFAULTS: EncryptionSettings = {
  keyCacheMs: 60_000,
  keyProviderTimeoutMs: 10_000,
  maxCachedKeys: 1000,
  usageWarnAt: 2 ** 31,
  usageLimit: 2 ** 32,
  usageFlushEvery: 1000,
  usageFlushMs: 1000,
};

/**
 * Check the `encryption` host option and fill in the defaults.
 * @throws ValidationError naming the field
 */
export function encryptionSettings(options: unknown): EncryptionSettings {
  if (options === undefined) return ENCRYPTION_DEFAULTS;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ValidationError(
      'Host option "encryption" must be an object such as { keyCacheMs: 60000 }.',
      { details: { field: 'encryption' } },
    );
  }
  const given = options as Record<string, unknown>;
  const settings: Record<string, number> = { ...ENCRYPTION_DEFAULTS };
  for (const field of Object.keys(ENCRYPTION_DEFAULTS) as Array<keyof EncryptionOptions>) {
    const value = given[field];
    if (value === undefined) continue;
    const max = field.endsWith('Ms') ? 2 ** 31 - 1 : 2 ** 53 - 1;
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
      throw new ValidationError(
        `Host option "encryption.${field}" must be a whole number from 1 to ${max}, got ${JSON.stringify(value) ?? typeof value}.`,
        { details: { field: `encryption.${field}` } },
      );
    }
    settings[field] = value as number;
  }
  if (settings.usageWarnAt! > settings.usageLimit!) {
    throw new ValidationError(
      'Host option "encryption.usageWarnAt" must not be above "encryption.usageLimit".',
      { details: { field: 'encryption.usageWarnAt' } },
    );
  }
  return settings as unknown as EncryptionSettings;
}

export type { KeyMaterial };
