import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import type { PluginContext } from '../../../src/context/types.js';
import { createHost, definePlugin } from '../../../src/host/index.js';
import type { Host, HostOptions } from '../../../src/host/types.js';
import { silentLogger } from '../../support/runtime.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../../backends/redis/support.js';

export const KEY_ID = 'data-encryption-key';
export const AES = 'AES-256-GCM' as const;

/** A fresh 32-byte key in base64, as `openssl rand -base64 32` prints it. */
export const key32 = (): string => randomBytes(32).toString('base64');

/** Started hosts of one cluster (an in-process network, or a fresh namespace on the shared Redis). */
export interface CryptoCluster {
  /** Start one more host of the cluster with `options`; resolves with its plugin's context. */
  add(options: HostOptions): Promise<{ host: Host; context: PluginContext }>;
  /** The cluster-wide count of `keyId` version `version`, read from the backend itself. */
  usage(keyId: string, version: number): Promise<number>;
  /** Stop every host started, then delete the Redis namespace. */
  stop(): Promise<void>;
}

export function cryptoCluster(redis: boolean): CryptoCluster {
  const network = createMemoryNetwork();
  const namespace = uniqueNamespace('crypto');
  const hosts: Host[] = [];
  return {
    async add(options) {
      let context!: PluginContext;
      const host = await createHost({
        logger: silentLogger,
        backend: redis ? { redis: SHARED_REDIS_URL, namespace } : { memory: network },
        ...options,
        plugins: [
          definePlugin({ name: 'vault', version: '1.0.0', activate: (c) => void (context = c) }),
        ],
      });
      hosts.push(host);
      await host.start();
      return { host, context };
    },
    async usage(keyId, version) {
      if (!redis) return network.keyUsageState.add(keyId, version, 0);
      const client = new Redis(SHARED_REDIS_URL);
      try {
        return Number((await client.hget(`{${namespace}}:keyuse`, `${version}:${keyId}`)) ?? 0);
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      await Promise.all(hosts.splice(0).map((host) => host.stop()));
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}

/** The bytes behind an envelope's `pb1.` prefix. */
export const envelopeBytes = (envelope: string): Buffer =>
  Buffer.from(envelope.slice('pb1.'.length), 'base64url');

/** An envelope of `bytes`. */
export const envelopeOf = (bytes: Buffer): string => `pb1.${bytes.toString('base64url')}`;
