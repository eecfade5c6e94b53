/**
 * Transactions through real hosts on the embedded backend: two hosts of one in-process cluster,
 * `plugin.error` for a participant that could not be told, the host option's validation, and the
 * file-backed log keeping outcomes across a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../src/backends/memory/memory-network.js';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host, HostOptions } from '../../src/host/types.js';
import { silentLogger } from '../support/runtime.js';
import { recordingResource } from './tx-support.js';

async function startHost(
  name: string,
  options: Partial<HostOptions>,
  activate: (context: PluginContext) => void | Promise<void>,
): Promise<Host> {
  const host = await createHost({
    logger: silentLogger,
    transactions: { logFile: false },
    ...options,
    plugins: [definePlugin({ name, version: '1.0.0', activate })],
  });
  await host.start();
  return host;
}

describe('transactions through hosts (embedded backend)', () => {
  it('a plugin on one host commits with a resource of a plugin on another', async () => {
    const network = new MemoryNetwork();
    const inventory = recordingResource();
    const stock = await startHost('stock', { backend: { memory: network } }, async (context) => {
      await context.transactionManager.registerResource('inventory', inventory.resource).ready;
    });
    let orders!: PluginContext;
    const shop = await startHost(
      'orders',
      { backend: { memory: network } },
      (context) => void (orders = context),
    );
    try {
      const tx = await orders.transactionManager.begin();
      tx.enlist('inventory', { sku: 'A', quantity: 1 });
      await tx.commit();
      assert.deepEqual(inventory.committed, [tx.id]);
      assert.equal(await orders.transactionManager.outcome(tx.id), 'committed');
      assert.equal(stock.plugins[0]!.name, 'stock');
    } finally {
      await shop.stop();
      await stock.stop();
    }
  });

  it('reports a participant that could not be told the outcome as plugin.error', async () => {
    let context!: PluginContext;
    const host = await startHost('orders', {}, (c) => void (context = c));
    try {
      const errors: { pluginId: string; event: string; error: string }[] = [];
      let reported!: () => void;
      const seen = new Promise<void>((resolve) => (reported = resolve));
      context.eventBus.subscribe('plugin.error', (data) => {
        errors.push(data as never);
        reported();
      });
      const tx = await context.transactionManager.begin();
      tx.enlist({
        name: 'stubborn',
        prepare: () => true,
        commit: () => {
          throw new Error('cannot commit');
        },
        rollback: () => undefined,
      });
      await tx.commit();
      await seen;
      assert.equal(errors[0]?.pluginId, 'orders');
      assert.equal(errors[0]?.event, 'transaction.commit');
      assert.match(errors[0].error, /"stubborn".*could not be told to commit/);
    } finally {
      await host.stop();
    }
  });

  it('validates the transactions option, naming the field', async () => {
    const bad: [unknown, string][] = [
      [5, 'transactions'],
      [{ prepareTimeout: 0 }, 'transactions.prepareTimeout'],
      [{ leaseMs: 1.5 }, 'transactions.leaseMs'],
      [{ recoveryInterval: '1s' }, 'transactions.recoveryInterval'],
      [{ retentionMs: -1 }, 'transactions.retentionMs'],
      [{ maxOpen: Number.NaN }, 'transactions.maxOpen'],
      // Past what a Node timer holds: it would fire at once, over and over.
      [{ recoveryInterval: 2 ** 31 }, 'transactions.recoveryInterval'],
      [{ retentionMs: 30 * 24 * 60 * 60 * 1000 }, 'transactions.retentionMs'],
      [{ logFile: '' }, 'transactions.logFile'],
      [{ logFile: true }, 'transactions.logFile'],
    ];
    for (const [transactions, field] of bad) {
      await assert.rejects(
        async () => createHost({ logger: silentLogger, transactions } as HostOptions),
        (error: { code: string; details: { field: string } }) => {
          assert.equal(error.code, 'PB_VALIDATION');
          assert.equal(error.details.field, field);
          return true;
        },
      );
    }
  });

  it('a timing given as undefined keeps its default', async () => {
    let shop!: PluginContext;
    const host = await startHost(
      'shop',
      { transactions: { logFile: false, prepareTimeout: undefined } },
      (context) => void (shop = context),
    );
    try {
      const tx = await shop.transactionManager.begin();
      tx.enlist({
        name: 'slow-but-in-time',
        prepare: () => new Promise<void>((resolve) => setTimeout(resolve, 20)),
        commit: () => undefined,
        rollback: () => undefined,
      });
      await tx.commit();
      assert.equal(tx.state, 'committed');
    } finally {
      await host.stop();
    }
  });

  it('keeps outcomes in the log file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plugboard-tx-'));
    const logFile = join(dir, 'transactions.log');
    try {
      let context!: PluginContext;
      const inventory = recordingResource();
      const first = await startHost('shop', { transactions: { logFile } }, async (c) => {
        context = c;
        await c.transactionManager.registerResource('inventory', inventory.resource).ready;
      });
      const tx = await context.transactionManager.begin();
      tx.enlist('inventory', 1);
      await tx.commit();
      await first.stop();
      assert.ok((await stat(logFile)).size > 0);
      const second = await startHost(
        'shop',
        { transactions: { logFile } },
        (c) => void (context = c),
      );
      try {
        assert.equal(await context.transactionManager.outcome(tx.id), 'committed');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a host that never uses transactions creates no log file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plugboard-tx-'));
    const logFile = join(dir, 'transactions.log');
    try {
      const host = await startHost('idle', { transactions: { logFile } }, () => undefined);
      await host.stop();
      await assert.rejects(stat(logFile), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
