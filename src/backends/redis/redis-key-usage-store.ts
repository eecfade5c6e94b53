import type { KeyUsageStore } from '../ports.js';
import type { RedisStoreDeps } from './store-deps.js';

/**
 * {@link KeyUsageStore} on Redis: one HINCRBY on `{ns}:keyuse`, field `<version>:<key id>` (the
 * version first, so no key id can collide with another's field). Atomic, so every node's
 * batches add up to one cluster-wide count.
 */
export class RedisKeyUsageStore implements KeyUsageStore {
  constructor(private readonly deps: RedisStoreDeps) {}

  add(keyId: string, version: number, count: number): Promise<number> {
    const field = `${version}:${keyId}`;
    return this.deps.runner.run(`count uses of key ${keyId} v${version}`, (client) =>
      client.hincrby(this.deps.keys.keyUsage, field, count),
    );
  }

  close(): void {}
}
