import { createSecretKey, type KeyObject } from 'node:crypto';
import { KeyNotFoundError, TimeoutError, ValidationError } from '../../errors/errors.js';
import { withDeadline } from '../../util/bound.js';
import type { KeyProvider } from '../../host/types.js';
import {
  environmentName,
  isVersion,
  keyBytes,
  type KeyVersions,
  type StaticKeys,
} from './key-config.js';

/** One version of one key, ready for the cipher (the bytes live only in the KeyObject). */
export interface ResolvedKey {
  readonly keyId: string;
  readonly version: number;
  readonly key: KeyObject;
}

/** Where the keyring gets keys: configuration, the environment or a provider. */
export interface Keyring {
  /** The key new data uses (a value when it is at hand, a promise when it must be fetched). */
  current(keyId: string): ResolvedKey | Promise<ResolvedKey>;
  /** Version `version` of `keyId`. @throws KeyNotFoundError */
  get(keyId: string, version: number): ResolvedKey | Promise<ResolvedKey>;
  /** Look for a newer version now (a provider); resolves with what new data uses. */
  refresh(keyId: string): Promise<ResolvedKey>;
}

const secret = (keyId: string, version: number, bytes: Buffer): ResolvedKey => {
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return { keyId, version, key };
};

function notFound(keyId: string, version: number | undefined, where: string): KeyNotFoundError {
  const which = version === undefined ? `"${keyId}"` : `"${keyId}" version ${version}`;
  return new KeyNotFoundError(
    `No encryption key ${which} ${where}. Configure it (createHost({ keys }), the environment ` +
      `variable ${environmentName(keyId)}${version === undefined || version === 1 ? '' : `_V${version}`}, ` +
      'or the key provider); data encrypted under a key version that is gone cannot be decrypted.',
    { details: { keyId, ...(version === undefined ? {} : { version }) } },
  );
}

/** Key ids that map to exactly one environment variable name and back. */
const ENVIRONMENT_ID = /^(?![\s\S]*-v\d+$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Keys fixed at start: from `createHost({ keys })` or from the environment. */
export class StaticKeyring implements Keyring {
  private readonly resolved = new Map<
    string,
    { readonly versions: Map<number, ResolvedKey>; readonly active: ResolvedKey }
  >();

  /**
   * @param keys validated keys, by key id (configuration) or by environment name
   * @param byEnvironmentName look ids up by their environment variable name
   */
  constructor(
    private readonly keys: StaticKeys,
    private readonly byEnvironmentName: boolean,
  ) {
    // Configured keys become KeyObjects at once; environment keys when an id names them.
    if (!byEnvironmentName) for (const id of keys.keys()) this.resolve(id);
  }

  private resolve(keyId: string): { versions: Map<number, ResolvedKey>; active: ResolvedKey } {
    const known = this.resolved.get(keyId);
    if (known !== undefined) return known;
    if (this.byEnvironmentName && !ENVIRONMENT_ID.test(keyId)) {
      // One variable must name one key id: `Data_Key` and `data-key` would share
      // PLUGBOARD_KEY_DATA_KEY (and split its usage count), `x-v2` would be version 2 of `x`.
      throw new KeyNotFoundError(
        `No encryption key "${keyId}": keys from the environment have ids of lower-case letters, digits and single dashes, not ending in -v<digits> (such as "data-encryption-key"). Use that id, or configure the key with createHost({ keys }).`,
        { details: { keyId } },
      );
    }
    const name = this.byEnvironmentName ? environmentName(keyId) : keyId;
    const entry: KeyVersions | undefined = this.keys.get(name);
    if (entry === undefined) {
      throw notFound(
        keyId,
        undefined,
        this.byEnvironmentName ? 'in the environment' : 'is configured',
      );
    }
    const versions = new Map<number, ResolvedKey>();
    // Environment variables are shared by the ids that map to one name: copy, do not wipe.
    for (const [version, bytes] of entry.versions)
      versions.set(version, secret(keyId, version, Buffer.from(bytes)));
    const resolved = { versions, active: versions.get(entry.active)! };
    this.resolved.set(keyId, resolved);
    return resolved;
  }

  current(keyId: string): ResolvedKey {
    return this.resolve(keyId).active;
  }

  get(keyId: string, version: number): ResolvedKey {
    const key = this.resolve(keyId).versions.get(version);
    if (key === undefined) {
      throw notFound(
        keyId,
        version,
        this.byEnvironmentName ? 'in the environment' : 'is configured',
      );
    }
    return key;
  }

  refresh(keyId: string): Promise<ResolvedKey> {
    try {
      return Promise.resolve(this.current(keyId));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

interface Cached {
  readonly key: ResolvedKey;
  readonly expires: number;
}

export interface ProviderKeyringOptions {
  readonly cacheMs: number;
  /** Bound on one provider call, ms. */
  readonly timeoutMs: number;
  readonly maxCached: number;
  readonly onRotated: (keyId: string, from: number, to: number) => void;
}

/**
 * Keys from a {@link KeyProvider}, cached for `cacheMs` (at most `maxCached` entries, least
 * recently used out first); each provider call is bounded by `timeoutMs`, and concurrent asks
 * for one key share a call. The newest version is asked for again when its entry lapses or on
 * {@link refresh}; a higher version than the one in use is a rotation, audited as
 * `key.rotated` (actor `host`, target the key id, metadata `{ version, previous }`).
 */
export class ProviderKeyring implements Keyring {
  /** `n:<id>` → the newest version; `<version>:<id>` → that version. */
  private readonly cache = new Map<string, Cached>();
  private readonly fetching = new Map<string, Promise<ResolvedKey>>();
  /** The newest version seen per key id (bounded with the cache). */
  private readonly newest = new Map<string, number>();

  constructor(
    private readonly provider: KeyProvider,
    private readonly options: ProviderKeyringOptions,
  ) {}

  current(keyId: string): ResolvedKey | Promise<ResolvedKey> {
    return this.cached(`n:${keyId}`) ?? this.fetch(keyId, undefined);
  }

  get(keyId: string, version: number): ResolvedKey | Promise<ResolvedKey> {
    return this.cached(`${version}:${keyId}`) ?? this.fetch(keyId, version);
  }

  refresh(keyId: string): Promise<ResolvedKey> {
    this.cache.delete(`n:${keyId}`);
    return this.fetch(keyId, undefined);
  }

  private cached(slot: string): ResolvedKey | undefined {
    const entry = this.cache.get(slot);
    if (entry === undefined) return undefined;
    if (entry.expires <= Date.now()) {
      this.cache.delete(slot);
      return undefined;
    }
    // Least recently used last out: move to the end.
    this.cache.delete(slot);
    this.cache.set(slot, entry);
    return entry.key;
  }

  private fetch(keyId: string, version: number | undefined): Promise<ResolvedKey> {
    const slot = version === undefined ? `n:${keyId}` : `${version}:${keyId}`;
    const running = this.fetching.get(slot);
    if (running !== undefined) return running;
    const fetched = this.ask(keyId, version).finally(() => this.fetching.delete(slot));
    this.fetching.set(slot, fetched);
    return fetched;
  }

  private async ask(keyId: string, version: number | undefined): Promise<ResolvedKey> {
    const answer = await withDeadline(
      () => this.provider.getKey(keyId, version),
      this.options.timeoutMs,
      () =>
        new TimeoutError(
          `The key provider did not answer for key "${keyId}" within ${this.options.timeoutMs} ms (encryption.keyProviderTimeoutMs).`,
          { details: { keyId, timeoutMs: this.options.timeoutMs } },
        ),
    );
    if (answer === undefined || answer === null)
      throw notFound(keyId, version, 'in the key provider');
    if (!isVersion(answer.version) || (version !== undefined && answer.version !== version)) {
      throw new ValidationError(
        `The key provider answered key "${keyId}"${version === undefined ? '' : ` version ${version}`} with version ${String(answer.version)}; it must return the version asked for (or the newest), a whole number from 1.`,
        { details: { keyId, field: 'version' } },
      );
    }
    const key = secret(
      keyId,
      answer.version,
      keyBytes(answer.key, `key provider: ${keyId} v${answer.version}`, keyId),
    );
    const expires = Date.now() + this.options.cacheMs;
    this.store(`${key.version}:${keyId}`, { key, expires });
    if (version === undefined) {
      this.store(`n:${keyId}`, { key, expires });
      const previous = this.newest.get(keyId);
      if (previous === undefined || key.version > previous) {
        this.newest.delete(keyId);
        this.newest.set(keyId, key.version);
        while (this.newest.size > this.options.maxCached) this.evictOldest(this.newest);
        if (previous !== undefined) this.options.onRotated(keyId, previous, key.version);
      }
    }
    return key;
  }

  private store(slot: string, entry: Cached): void {
    this.cache.delete(slot);
    this.cache.set(slot, entry);
    while (this.cache.size > this.options.maxCached) this.evictOldest(this.cache);
  }

  private evictOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}
