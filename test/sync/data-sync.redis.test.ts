import { randomBytes } from 'node:crypto';
import type { Backend } from '../../src/backends/ports.js';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import {
  captureLogger,
  deleteNamespace,
  SHARED_REDIS_URL,
  uniqueNamespace,
} from '../backends/redis/support.js';
import { dataSyncSuite } from './suite.js';

dataSyncSuite('redis', async () => {
  const namespace = uniqueNamespace('sync');
  const created: Backend[] = [];
  const { logger } = captureLogger();
  return {
    create: async () => {
      const backend = await createRedisBackend(
        { redis: SHARED_REDIS_URL, namespace, operationTimeout: 2000 },
        { nodeId: `n-${randomBytes(4).toString('hex')}`, logger },
      );
      created.push(backend);
      return backend;
    },
    cleanup: async () => {
      await Promise.all(created.map((b) => b.close()));
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
});
