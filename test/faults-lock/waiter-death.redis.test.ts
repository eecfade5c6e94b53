/**
 * Two ways a lock's other party goes away. A waiter killed with SIGKILL while it waits in a
 * resource's line holds up the waiters behind it only until its place lapses (`lineMs`:
 * `2 × retryInterval + 1 s`), never for good. A holder whose host stops gracefully
 * (`host.stop()`) releases its locks at once: its waiter is served long before the TTL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKeys } from '../../src/backends/redis/keys.js';
import { until } from '../conformance/harness.js';
import type { LockProcess } from './lock-process.js';
import { cleanUp, figure, placeOn, SHARED_REDIS_URL, startLockProcesses } from './support.js';

const RETRY = 200;
/** How long a silent waiter keeps its place in the line (the lock's rule, see above). */
const LINE_MS = 2 * RETRY + 1000;

describe('locks: a waiter killed in line, a holder stopped', { timeout: 60_000 }, () => {
  const where = placeOn(SHARED_REDIS_URL, 'lock-line');
  const raw = new Redis(SHARED_REDIS_URL);
  let nodes: LockProcess[] = [];

  before(async () => {
    nodes = await startLockProcesses(4, where, 'line');
  });
  after(async () => {
    raw.disconnect();
    await cleanUp(nodes, where.namespace);
  });

  /** Waiters in the resource's line, as Redis keeps it. */
  const inLine = (resource: string): Promise<number> =>
    raw.zcard(createKeys(where.namespace).lock(resource).line);

  it('a waiter killed in line holds up the next one only until its place lapses', async (t) => {
    const [holder, doomed, next] = nodes as [LockProcess, LockProcess, LockProcess];
    const held = await holder.hold('h', 'line', { ttl: 20_000, autoExtend: false });
    const waiting = { ttl: 5000, autoExtend: false, waitTimeout: 15_000, retryInterval: RETRY };
    const doomedWait = doomed.hold('w', 'line', waiting).catch(() => undefined);
    await until(async () => (await inLine('line')) === 1, 5000, 'the first waiter in line');
    const served = next.hold('w', 'line', waiting);
    await until(async () => (await inLine('line')) === 2, 5000, 'the second waiter in line');
    await doomed.kill();
    await doomedWait;
    const killedAt = Date.now();
    await holder.run({ cmd: 'release', id: 'h' });
    const got = await served;
    figure(
      t,
      `next waiter served after the first was killed (lineMs ${LINE_MS})`,
      got.grantedAt - killedAt,
      'ms',
    );
    assert.ok(got.token > held.token);
    assert.ok(
      got.grantedAt - killedAt <= LINE_MS + RETRY + 1000,
      `served ${got.grantedAt - killedAt} ms after the kill: the dead waiter kept its place`,
    );
    await next.run({ cmd: 'release', id: 'w' });
  });

  // A lock granted from the line whose new holder dies at once: the next waiter last heard the
  // old holder's remaining TTL (20 s), so the grant itself must wake it to learn the new one's,
  // or it sleeps its whole retryInterval.
  it('a lock handed down the line to a holder that dies: the next waiter is served as its TTL runs out', async (t) => {
    const [holder, , next, relay] = nodes as [LockProcess, LockProcess, LockProcess, LockProcess];
    await holder.hold('h', 'relay', { ttl: 20_000, autoExtend: false });
    const handedDown = relay.hold('r', 'relay', {
      ttl: 300,
      autoExtend: false,
      waitTimeout: 15_000,
    });
    await until(async () => (await inLine('relay')) === 1, 5000, 'the first waiter in line');
    const served = next.hold('n', 'relay', {
      ttl: 5000,
      autoExtend: false,
      waitTimeout: 15_000,
      retryInterval: 3000,
    });
    await until(async () => (await inLine('relay')) === 2, 5000, 'the second waiter in line');
    await holder.run({ cmd: 'release', id: 'h' });
    const dead = await handedDown;
    await relay.kill(); // holds the lock for 300 ms more, and never releases it
    const got = await served;
    const late = got.grantedAt - dead.expiresAt;
    figure(
      t,
      'next waiter served after the dead relay’s expiresAt (its retryInterval 3 s)',
      late,
      'ms',
    );
    assert.ok(got.token > dead.token);
    assert.ok(late <= 1000, `served ${late} ms after the relay's lock ran out`);
  });

  it('a holder whose host stops releases its lock at once', async (t) => {
    const [holder, , next] = nodes as [LockProcess, LockProcess, LockProcess];
    const held = await holder.hold('s', 'stop', { ttl: 20_000, autoExtend: false });
    const served = next.hold('s', 'stop', { ttl: 5000, autoExtend: false, waitTimeout: 15_000 });
    await until(async () => (await inLine('stop')) === 1, 5000, 'the waiter in line');
    const stoppedAt = Date.now();
    await holder.stop();
    const got = await served;
    figure(
      t,
      'waiter served after host.stop() began (holder TTL 20 s)',
      got.grantedAt - stoppedAt,
      'ms',
    );
    assert.ok(got.grantedAt < held.expiresAt, 'served only when the stopped holder’s TTL ran out');
    assert.ok(got.token > held.token);
  });
});
