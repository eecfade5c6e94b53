import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { Backend } from '../../src/backends/ports.js';
import { auditConformance } from './audit.js';
import { cacheConformance } from './cache.js';
import { clusterConformance } from './cluster.js';
import { feedConformance } from './feed.js';
import { keyUsageConformance } from './key-usage.js';
import { lockConformance } from './lock.js';
import { policyConformance } from './policy.js';
import { sideBySide, type HarnessFactory } from './harness.js';
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

let counter = 0;
/** Short, so crash tests are quick; the real default is 10 s, as on Redis. */
const LIVENESS_TTL = 150;

/**
 * Nodes of one in-process network; `logFile`: its transaction log (and its audit log) kept in
 * temp files.
 */
const memoryCluster =
  (logFile = false): HarnessFactory =>
  async () => {
    const dir = logFile ? await mkdtemp(join(tmpdir(), 'pb-txlog-')) : undefined;
    const network = new MemoryNetwork({
      livenessTtl: LIVENESS_TTL,
      transactionLog: dir === undefined ? false : join(dir, 'transactions.log'),
      auditLog: dir === undefined ? false : join(dir, 'audit.log'),
    });
    const created: Backend[] = [];
    return {
      // A crashed node's entries lapse after the TTL (one timer, no reap interval).
      livenessMs: LIVENESS_TTL,
      create: async (nodeId) => {
        const backend = new MemoryBackend({ nodeId: nodeId ?? `mem-${++counter}`, network });
        created.push(backend);
        return backend;
      },
      crash: async (backend) => network.crash(backend.nodeId),
      cleanup: async () => {
        await Promise.all(created.map((b) => b.close()));
        if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      },
    };
  };

const memory = memoryCluster();
/** The embedded backend's durable default: the transaction log in a file. */
const memoryWithLogFile = memoryCluster(true);

sideBySide('memory backend', {
  transport: () => transportConformance('memory', memory),
  transportFlow: () => transportFlowConformance('memory', memory),
  registry: () => registryConformance('memory', memory),
  queue: () => queueConformance('memory', memory),
  queueLease: () => queueLeaseConformance('memory', memory),
  queueFeatures: () => queueFeaturesConformance('memory', memory),
  queueBatch: () => queueBatchConformance('memory', memory),
  cluster: () => clusterConformance('memory', memory),
  rpc: () => rpcConformance('memory', memory),
  messageQueue: () => messageQueueConformance('memory', memory),
  cache: () => cacheConformance('memory', memory),
  lock: () => lockConformance('memory', memory),
  feed: () => feedConformance('memory', memory),
  txLog: () => txLogConformance('memory', memory),
  txLogFile: () => txLogConformance('memory, file-backed log', memoryWithLogFile),
  policy: () => policyConformance('memory', memory),
  keyUsage: () => keyUsageConformance('memory', memory),
  audit: () => auditConformance('memory', memory),
  auditFile: () => auditConformance('memory, file-backed log', memoryWithLogFile),
});

void describe('memory network liveness (memory only)', () => {
  void it('hides a lapsed node from list and liveNodes even before its entries are reaped', async () => {
    const network = new MemoryNetwork({ livenessTtl: 20 });
    const a = new MemoryBackend({ nodeId: 'lapse-a', network });
    const b = new MemoryBackend({ nodeId: 'lapse-b', network });
    await Promise.all([a.start(), b.start()]);
    await a.registry.put('k.lapse', 'x', new Uint8Array([1]));
    network.crash(a.nodeId);
    // A crashed node writes nothing any more (a dead process).
    await assert.rejects(a.registry.put('k.lapse', 'y', new Uint8Array([2])), {
      code: 'PB_BACKEND_UNAVAILABLE',
    });
    assert.equal((await b.registry.list('k.lapse')).length, 1);
    // Block the event loop past the TTL, so the reaping timer cannot have run yet.
    const until = Date.now() + 40;
    while (Date.now() < until);
    const listed = b.registry.list('k.lapse');
    const live = b.registry.liveNodes();
    assert.deepEqual(await listed, []);
    assert.deepEqual(await live, ['lapse-b']);
    await Promise.all([a.close(), b.close()]);
  });

  void it('validates livenessTtl', () => {
    assert.throws(() => new MemoryNetwork({ livenessTtl: -1 }), { code: 'PB_VALIDATION' });
    assert.equal(new MemoryNetwork().livenessTtl, 10_000);
  });
});
