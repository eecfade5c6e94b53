/**
 * Named resources across two hosts on the shared Redis (a namespace per test): commit, a refusal
 * with its reason, a participant that restarts learning the outcome, and presumed abort of a
 * transaction whose coordinator died.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCodec } from '../../src/codec/codec.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/types.js';
import type { AbortReason } from '../../src/tx/types.js';
import {
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
} from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';
import { recordingResource, type RecordingResource } from './tx-support.js';

describe('transactions across hosts on Redis', () => {
  let namespace: string;
  let hosts: Host[];
  beforeEach(() => {
    namespace = uniqueNamespace('tx');
    hosts = [];
  });
  afterEach(async () => {
    for (const host of hosts) await host.stop();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  /** A host on the namespace with one plugin; `resource`: it registers `inventory`. */
  async function host(name: string, resource?: RecordingResource): Promise<PluginContext> {
    let context!: PluginContext;
    const started = await createHost({
      logger: silentLogger,
      backend: { redis: SHARED_REDIS_URL, namespace },
      transactions: { leaseMs: 500, prepareTimeout: 2_000 },
      plugins: [
        definePlugin({
          name,
          version: '1.0.0',
          activate: async (c) => {
            context = c;
            if (resource !== undefined)
              await c.transactionManager.registerResource('inventory', resource.resource).ready;
          },
        }),
      ],
    });
    await started.start();
    hosts.push(started);
    return context;
  }

  it('commits with a resource on another host, and aborts on its refusal', async () => {
    const inventory = recordingResource();
    await host('stock', inventory);
    const orders = await host('orders');
    const tx = await orders.transactionManager.begin();
    tx.enlist('inventory', { sku: 'A' });
    await tx.commit();
    assert.deepEqual(inventory.committed, [tx.id]);
    assert.equal(await orders.transactionManager.outcome(tx.id), 'committed');

    inventory.vote = () => ({ status: 'refused', reason: 'sold out' });
    const refused = await orders.transactionManager.begin();
    refused.enlist('inventory', { sku: 'B' });
    const error = await refused.commit().then(
      () => assert.fail('aborts'),
      (e: unknown) => e,
    );
    const reasons = (error as { details: { reasons: AbortReason[] } }).details.reasons;
    assert.deepEqual(reasons, [{ participant: 'inventory', kind: 'refused', message: 'sold out' }]);
    assert.deepEqual(inventory.rolledBack, [refused.id]);
    assert.equal(await orders.transactionManager.outcome(refused.id), 'aborted');
  });

  it('a participant that restarts learns the outcome', async () => {
    const away = recordingResource();
    away.failCommit = Number.POSITIVE_INFINITY; // never acknowledges: as if it were down
    await host('stock', away);
    const orders = await host('orders');
    const tx = await orders.transactionManager.begin();
    tx.enlist('inventory', 7);
    await tx.commit(); // decided and recorded; phase two left to recovery after the lease
    assert.deepEqual(away.committed, []);
    await hosts.shift()!.stop();
    const back = recordingResource();
    await host('stock', back);
    assert.deepEqual(back.committed, [tx.id]);
    assert.deepEqual(back.infos, [{ phase: 'commit', redelivered: true }]);
  });

  it('aborts the transaction of a coordinator that died before deciding (presumed abort)', async () => {
    const inventory = recordingResource();
    const stock = await host('stock', inventory);
    const dead = await startBackend({ redis: SHARED_REDIS_URL, namespace }, 'dead-node');
    const work = createCodec().encode({ sku: 'C' });
    await dead.transactions.open('orphan-1', 'dead-node', [{ resource: 'inventory', work }], 1);
    await dead.close();
    await new Promise((resolve) => setTimeout(resolve, 5)); // its 1 ms lease lapses
    const report = await stock.transactionManager.recover();
    assert.deepEqual(report, { examined: 1, committed: 0, aborted: 1, pending: 0 });
    assert.deepEqual(inventory.rolledBack, ['orphan-1']);
    assert.equal(await stock.transactionManager.outcome('orphan-1'), 'aborted');
  });
});
