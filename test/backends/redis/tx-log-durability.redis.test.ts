import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import type { Backend, TxDecision } from '../../../src/backends/ports.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, figure, startBackend, uniqueNamespace, waitFor } from './support.js';

/** Decides running at once while Redis is killed. */
const CONCURRENCY = 8;
/** Acknowledged decides before the kill. */
const BEFORE_KILL = 150;

interface Outcome {
  /** Transactions whose decide was acknowledged, with the decision it returned. */
  readonly acknowledged: Map<string, TxDecision>;
  /** Of those, the ones read back after the restart with the same decision. */
  readonly kept: number;
  /** Unacknowledged decides (failed by the kill) found recorded anyway. */
  readonly unacknowledgedKept: number;
  readonly unacknowledged: number;
}

/**
 * Open and decide transactions, CONCURRENCY at a time, and SIGKILL Redis (then start it again on
 * its data directory) once BEFORE_KILL decides were acknowledged; then read every one back.
 */
async function killDuringDecides(
  server: RedisServer,
  log: Backend['transactions'],
): Promise<Outcome> {
  const acknowledged = new Map<string, TxDecision>();
  const failed: string[] = [];
  let next = 0;
  let stop = false;
  let killed: Promise<void> | undefined;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const id = `tx-${next++}`;
      const decision: TxDecision = next % 3 === 0 ? 'abort' : 'commit';
      try {
        await log.open(id, 'coordinator', [{ resource: 'r', work: bytes(id) }], 60_000);
        acknowledged.set(id, await log.decide(id, decision, decision === 'abort' ? ['no'] : []));
      } catch {
        failed.push(id);
        stop = true;
        return;
      }
      if (acknowledged.size === BEFORE_KILL && killed === undefined) killed = server.restart();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await killed;
  await waitFor(
    () =>
      log.get('tx-0').then(
        () => true,
        () => false,
      ),
    10_000,
    'Redis to answer again',
  );
  let kept = 0;
  for (const [id, decision] of acknowledged) {
    const record = await log.get(id);
    if (record?.decision === decision) kept++;
  }
  let unacknowledgedKept = 0;
  for (const id of failed) if ((await log.get(id))?.decision !== undefined) unacknowledgedKept++;
  return { acknowledged, kept, unacknowledgedKept, unacknowledged: failed.length };
}

describe('Redis transaction log across a Redis crash (SIGKILL, restart on the same data)', () => {
  const servers: RedisServer[] = [];
  const backends: Backend[] = [];
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function run(persistence: string[]): Promise<Outcome> {
    const server = await startRedisServer(persistence);
    servers.push(server);
    const node = await startBackend(
      { redis: server.url, namespace: uniqueNamespace('txdur'), operationTimeout: 1000 },
      'tx-durability',
    );
    backends.push(node);
    return killDuringDecides(server, node.transactions);
  }

  const report = (t: TestContext, label: string, o: Outcome): void => {
    figure(
      t,
      `${label}: acknowledged decides lost`,
      o.acknowledged.size - o.kept,
      `of ${o.acknowledged.size}`,
    );
    figure(
      t,
      `${label}: refused decides found recorded`,
      o.unacknowledgedKept,
      `of ${o.unacknowledged}`,
    );
  };

  it('appendonly yes, appendfsync always: every acknowledged decision survives', async (t) => {
    const o = await run(['--appendonly', 'yes', '--appendfsync', 'always']);
    report(t, 'appendfsync always', o);
    assert.ok(o.acknowledged.size >= BEFORE_KILL);
    assert.equal(o.kept, o.acknowledged.size);
  });

  it('appendonly yes, appendfsync everysec: a process kill keeps what reached the kernel', async (t) => {
    const o = await run(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    report(t, 'appendfsync everysec', o);
    // No assertion on the count: Redis may delay an AOF write while a slow fsync runs.
    assert.ok(o.kept <= o.acknowledged.size);
  });

  it('no persistence: the log starts empty, and every transaction presumes an abort', async (t) => {
    const o = await run([]);
    report(t, 'no persistence', o);
    assert.equal(o.kept, 0);
    // What this means: a commit acknowledged before the crash is now presumed aborted.
    const committed = [...o.acknowledged].find(([, d]) => d === 'commit');
    assert.ok(committed);
    assert.equal(await backends.at(-1)!.transactions.decide(committed[0], 'commit', []), 'abort');
  });
});
