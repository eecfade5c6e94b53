import type { PolicyChange, PolicyRecord, PolicySnapshot, PolicyStore } from '../ports.js';
import { closedError } from './closed.js';
import { evalScript } from './scripts.js';
import type { RedisStoreDeps } from './store-deps.js';

/**
 * Permission policy on Redis: the records in one HASH (`{ns}:pol`) and the revision in a
 * STRING beside it (`{ns}:pol:rev`, same hash tag, same slot). A write is one script
 * (write-policy-2.lua) that checks the expected revision, applies the changes and bumps the
 * revision together; a snapshot is one script too (read-policy-2.lua), so records and revision
 * always agree. Every node reads the same keys: the policy is the cluster's, not a node's copy.
 */
export class RedisPolicyStore implements PolicyStore {
  private closed = false;

  constructor(private readonly deps: RedisStoreDeps) {}

  async revision(): Promise<number> {
    this.assertOpen();
    const key = this.deps.keys.policyRevision;
    const reply = await this.deps.runner.run('read the permission policy revision', (client) =>
      client.get(key),
    );
    return reply === null ? 0 : Number(reply);
  }

  async snapshot(): Promise<PolicySnapshot> {
    this.assertOpen();
    const { keys, scripts } = this.deps;
    const reply = (await this.deps.runner.run('read the permission policy', (client, caller) =>
      evalScript(client, scripts.readPolicy, [keys.policy, keys.policyRevision], [], caller),
    )) as [number, Buffer[]];
    const flat = reply[1];
    const records: PolicyRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      records.push({ key: (flat[i] as Buffer).toString('utf8'), value: flat[i + 1] as Buffer });
    return { revision: Number(reply[0]), records };
  }

  async write(changes: readonly PolicyChange[], expected: number): Promise<number | undefined> {
    this.assertOpen();
    const { keys, scripts } = this.deps;
    const puts: (string | Buffer)[] = [];
    const removes: string[] = [];
    for (const { key, value } of changes) {
      if (value === undefined) removes.push(key);
      else puts.push(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    const args = [expected, puts.length / 2, ...puts, ...removes];
    const reply = await this.deps.runner.run('write the permission policy', (client, caller) =>
      evalScript(client, scripts.writePolicy, [keys.policy, keys.policyRevision], args, caller),
    );
    const revision = Number(reply);
    return revision < 0 ? undefined : revision;
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
