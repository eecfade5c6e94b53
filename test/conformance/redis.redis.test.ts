import { randomBytes } from 'node:crypto';
import type { Backend } from '../../src/backends/ports.js';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import type { RedisBackend } from '../../src/backends/redis/redis-backend.js';
import {
  captureLogger,
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../backends/redis/support.js';
import { sideBySide, type BackendHarness } from './harness.js';
import { auditConformance } from './audit.js';
import { cacheConformance } from './cache.js';
import { clusterConformance } from './cluster.js';
import { feedConformance } from './feed.js';
import { keyUsageConformance } from './key-usage.js';
import { lockConformance } from './lock.js';
import { policyConformance } from './policy.js';
import { messageQueueConformance } from './message-queue.js';
import { queueConformance } from './queue.js';
import { queueBatchConformance } from './queue-batch.js';
import { queueFeaturesConformance } from './queue-features.js';
import { queueLeaseConformance } from './queue-lease.js';
import { registryConformance } from './registry.js';
import { rpcConformance } from './rpc.js';
import { transportConformance } from './transport.js';
import { transportFlowConformance } from './transport-flow.js';
import { txLogConformance } from './tx-log.js';

const LIVENESS_TTL = 900;

/** Nodes of one cluster on the shared Redis, in a namespace of their own. */
async function redisHarness(): Promise<BackendHarness> {
  const namespace = uniqueNamespace('conf');
  const created: Backend[] = [];
  const { logger } = captureLogger();
  return {
    async create(nodeId = `n-${randomBytes(4).toString('hex')}`) {
      const backend = await createRedisBackend(
        { redis: SHARED_REDIS_URL, namespace, livenessTtl: LIVENESS_TTL, operationTimeout: 2000 },
        { nodeId, logger },
      );
      created.push(backend);
      return backend;
    },
    crash: (backend) => (backend as RedisBackend).simulateCrash(),
    // Lapse of the TTL plus one reap interval (min(ttl / 5, 1 s) ± 10 %).
    livenessMs: LIVENESS_TTL + 300,
    async cleanup() {
      await Promise.all(created.map((backend) => backend.close()));
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}

sideBySide('redis backend', {
  transport: () => transportConformance('redis', redisHarness),
  transportFlow: () => transportFlowConformance('redis', redisHarness),
  registry: () => registryConformance('redis', redisHarness),
  queue: () => queueConformance('redis', redisHarness),
  queueLease: () => queueLeaseConformance('redis', redisHarness),
  queueFeatures: () => queueFeaturesConformance('redis', redisHarness),
  queueBatch: () => queueBatchConformance('redis', redisHarness),
  cluster: () => clusterConformance('redis', redisHarness),
  rpc: () => rpcConformance('redis', redisHarness),
  messageQueue: () => messageQueueConformance('redis', redisHarness),
  cache: () => cacheConformance('redis', redisHarness),
  lock: () => lockConformance('redis', redisHarness),
  feed: () => feedConformance('redis', redisHarness),
  txLog: () => txLogConformance('redis', redisHarness),
  policy: () => policyConformance('redis', redisHarness),
  audit: () => auditConformance('redis', redisHarness),
  keyUsage: () => keyUsageConformance('redis', redisHarness),
});
