import { after, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from '../backends/redis/support.js';
import { twoHostsFireEachDueOnce } from './repeat-support.js';

describe('RepeatScheduler on Redis', () => {
  const namespace = uniqueNamespace('repeat');
  const backends: Backend[] = [];
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('two backends running one schedule: each due time fires once', async () => {
    const option = { redis: SHARED_REDIS_URL, namespace };
    backends.push(await startBackend(option), await startBackend(option));
    await twoHostsFireEachDueOnce([backends[0]!.queues, backends[1]!.queues], 'mq:ticks', 250);
  });
});
