import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend } from '../../src/backends/ports.js';
import { createRedisBackend } from '../../src/backends/redis/index.js';
import type { RedisBackend } from '../../src/backends/redis/redis-backend.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime } from '../../src/context/types.js';
import { durableQueueName } from '../../src/queue/queue-names.js';
import {
  captureLogger,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  uniqueNamespace,
  waitFor,
} from '../backends/redis/support.js';

interface RedisNode {
  nodeId: string;
  backend: Backend;
  runtime: Runtime;
  ctx: PluginContext;
}

describe('durable bindings on Redis', () => {
  const namespace = uniqueNamespace('bind');
  const admin = new Redis(SHARED_REDIS_URL);
  const started: Runtime[] = [];
  const changes = `{${namespace}}:bc`;

  const startNode = async (nodeId: string): Promise<RedisNode> => {
    const backend = await createRedisBackend(
      { redis: SHARED_REDIS_URL, namespace, livenessTtl: 2000, operationTimeout: 2000 },
      { nodeId, logger: captureLogger().logger },
    );
    const runtime = createRuntime({ backend, logger: captureLogger().logger });
    await runtime.start();
    started.push(runtime);
    const ctx = runtime.createContext({
      name: 'p',
      version: '1.0.0',
      permissions: undefined,
      options: {},
    }).context;
    return { nodeId, backend, runtime, ctx };
  };

  /** Drop a node's subscriber connection on the server (it reconnects on its own). */
  const killSubscriber = async (nodeId: string): Promise<void> => {
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const name = `plugboard:${namespace}:${nodeId}:subscriber`;
    const line = list.split('\n').find((l) => l.includes(` name=${name} `));
    assert.ok(line, `subscriber of ${nodeId} connected`);
    await admin.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
  };

  const listeners = async (): Promise<number> =>
    Number(((await admin.pubsub('NUMSUB', changes)) as [string, number])[1]);

  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((r) => r.close()));
  });
  after(async () => {
    admin.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('a node that missed a binding while its subscriber was down still stores its events', async (t) => {
    const a = await startNode('bind-a');
    const b = await startNode('bind-b');
    // The bind must land while A cannot hear it: retry the race until it did (usually at once).
    let queue = '';
    let attempts = 0;
    let missedAt = 0;
    for (let attempt = 0; attempt < 10 && queue === ''; attempt++) {
      attempts++;
      await waitFor(async () => (await listeners()) === 2, 5000, 'both nodes hear bindings');
      await killSubscriber(a.nodeId);
      const candidate = durableQueueName(`missed${attempt}`, 'invoice.*');
      await b.backend.queues.bind(candidate, 'invoice.*');
      // Only B heard it: A's subscription was gone on the server when the change passed.
      if ((await listeners()) === 1) {
        queue = candidate;
        missedAt = Date.now();
      }
    }
    assert.ok(queue, 'the binding landed while the subscriber was down');
    figure(t, 'attempts to land a bind while the subscriber was down', attempts);
    // After A reconnects it resyncs its bindings from the store: its publishes are stored.
    await waitFor(
      async () => {
        await a.ctx.eventBus.publish('invoice.created', { from: 'a' });
        return (await a.backend.queues.counts(queue)).ready > 0;
      },
      10_000,
      "A's publish stored in the binding it missed",
    );
    figure(
      t,
      'missed binding in effect on the reconnected node after',
      Date.now() - missedAt,
      'ms',
    );
  });

  it('does not bind again after a reconnect what someone else removed', async (t) => {
    const a = await startNode('bind-c');
    const b = await startNode('bind-d');
    const queue = durableQueueName('removed', 'invoice.*');
    await a.ctx.eventBus.subscribe('invoice.*', () => undefined, {
      durable: true,
      group: 'removed',
    }).ready;
    const unbound: string[] = [];
    const watch = await a.backend.queues.watchBindings(
      (c) => void (c.type === 'unbind' && unbound.push(c.queue)),
    );
    await b.runtime.durable.remove('removed', 'invoice.*');
    await waitFor(() => unbound.includes(queue), 3000, 'A told of the removal');
    await watch.close();
    // What A runs after its command connection comes back (a server restart may have lost data).
    await (a.backend as RedisBackend).queues.reapplyBindings();
    const resurrected = (await b.backend.queues.bindings()).filter((x) => x.queue === queue);
    assert.deepEqual(resurrected, []);
    figure(t, 'removed bindings bound again by a reapply', resurrected.length, 'of 1');
  });
});
