import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'ioredis';
import { Redis } from 'ioredis';
import { createKeys, txPartition } from '../../../src/backends/redis/keys.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import { loadScripts } from '../../../src/backends/redis/scripts.js';
import {
  bytes,
  deleteNamespace,
  SHARED_REDIS_URL,
  startBackend,
  uniqueNamespace,
  waitFor,
} from './support.js';

const OPERATION_TIMEOUT = 300;
/** The smallest budget a backend accepts (one largest message of 1 MiB, plus framing). */
const BUDGET = 1_200_000;
const WORK = new Uint8Array(700_000);

/**
 * The work bytes of an `open` count against `maxPendingBytes` until Redis answers (held here, as
 * a frozen Redis would); forged records are skipped and counted, never returned.
 */
describe('Redis transaction log: byte budget and forged records', () => {
  const namespace = uniqueNamespace('txfault');
  const keys = createKeys(namespace);
  let backend: RedisBackend;
  let client: Redis;
  const openSha = loadScripts().openTx.sha;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in after()
  const original = Redis.prototype.sendCommand;
  let hold = false;
  const held: Array<() => void> = [];

  before(async () => {
    backend = (await startBackend(
      {
        redis: SHARED_REDIS_URL,
        namespace,
        operationTimeout: OPERATION_TIMEOUT,
        maxPendingBytes: BUDGET,
      },
      'txfault-node',
    )) as RedisBackend;
    client = new Redis(SHARED_REDIS_URL);
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: unknown) {
      const isOpen = /^eval(sha)?$/i.test(command.name) && String(command.args[0]) === openSha;
      if (!hold || !isOpen) return original.call(this, command, stream as never);
      held.push(() => void original.call(this, command, stream as never));
      return command.promise;
    };
  });
  after(async () => {
    Redis.prototype.sendCommand = original;
    await backend?.close();
    client?.disconnect();
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  it('keeps unanswered work bytes counted past the timeout and refuses the next open unsent', async () => {
    const log = backend.transactions;
    hold = true;
    await assert.rejects(
      log.open('tx-held', 'c', [{ resource: 'r', work: WORK }], 60_000),
      (error: Error & { code?: string }) => error.code === 'PB_TIMEOUT',
    );
    assert.equal(held.length, 1, 'the open was written (held unanswered)');
    await assert.rejects(
      log.open('tx-refused', 'c', [{ resource: 'r', work: WORK }], 60_000),
      (error: Error & { code?: string; details?: Record<string, unknown> }) =>
        error.code === 'PB_BACKPRESSURE' && error.details?.['sent'] === false,
    );
    assert.equal(held.length, 1, 'the refused open was never written');
    hold = false;
    held.shift()!(); // Redis answers at last: the bytes are released
    await waitFor(
      () =>
        log.open('tx-after', 'c', [{ resource: 'r', work: WORK }], 60_000).then(
          () => true,
          () => false,
        ),
      2000,
      'an open to fit again',
    );
    // The held open ran when Redis got it (outcome unknown to its caller): deciding settles it.
    assert.equal((await log.get('tx-held'))?.participants[0]?.work.byteLength, WORK.byteLength);
    assert.equal(
      await log.decide('tx-refused', 'commit', []),
      'abort',
      'never opened: presumed abort',
    );
    await log.finish('tx-refused', 0); // as whoever decided it does
  });

  it('skips and counts a forged record; its index entry does not block the others', async () => {
    const log = backend.transactions;
    const forged = 'tx-forged';
    const p = keys.txPartitions[txPartition(forged)]!;
    await client.hset(p.record(forged), 'n', 'many', 'l', '0', 'c', 'x', 't', '0');
    await client.zadd(p.unfinished, 0, forged);
    const before = backend.faults.malformedTxRecord;
    assert.equal(await log.get(forged), undefined);
    assert.equal(backend.faults.malformedTxRecord, before + 1);

    await log.open('tx-sound', 'dead', [{ resource: 'r', work: bytes('w') }], 1);
    const leaseUntil = (await log.get('tx-sound'))!.leaseUntil;
    await waitFor(
      async () => {
        const [seconds, micros] = await client.time();
        return Number(seconds) * 1000 + Number(micros) / 1000 > leaseUntil;
      },
      5000,
      'the sound lease to lapse by Redis TIME',
    );
    const claimed = await log.claimExpired('rec', 60_000, 10);
    assert.deepEqual(
      claimed.map((r) => r.id).filter((id) => id.startsWith('tx-')),
      ['tx-sound'],
      'the forged one is skipped (and counted), the sound one claimed',
    );
    assert.ok(backend.faults.malformedTxRecord >= before + 2);
  });
});
