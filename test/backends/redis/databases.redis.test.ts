import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, RegistryChange } from '../../../src/backends/ports.js';
import { ServiceUnavailableError } from '../../../src/errors/errors.js';
import {
  bytes,
  deleteNamespace,
  figure,
  SHARED_REDIS_URL,
  startBackend,
  text,
  uniqueNamespace,
  waitFor,
} from './support.js';

function inDatabase(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

/** Keys are per database but pub/sub is server-wide: one namespace in two databases, no cross-talk. */
describe('Redis backends in two databases with one namespace', () => {
  const namespace = uniqueNamespace('dbs');
  const db0 = inDatabase(SHARED_REDIS_URL, 0);
  const db1 = inDatabase(SHARED_REDIS_URL, 1);
  let zero: Backend;
  let zeroPeer: Backend;
  let one: Backend;

  before(async () => {
    zero = await startBackend({ redis: db0, namespace }, 'db-node');
    zeroPeer = await startBackend({ redis: db0, namespace }, 'db-peer');
    one = await startBackend({ redis: db1, namespace }, 'db-node-1');
  });
  after(async () => {
    await Promise.allSettled([zero?.close(), zeroPeer?.close(), one?.close()]);
    await deleteNamespace(db0, namespace);
    await deleteNamespace(db1, namespace);
  });

  it('no broadcast, direct message, request or registry change crosses between databases', async (t) => {
    const heard: string[] = [];
    const changes: RegistryChange[] = [];
    await zero.transport.subscribe('t.shared', (p) => heard.push(text(p)));
    await zero.registry.watch('k.shared', (c) => changes.push(c));
    await zero.transport.respond('t.rpc', () => bytes('db0 answered'));

    // From database 1: broadcast, registry put, and direct traffic to db 0's node id.
    await one.transport.publish('t.shared', bytes('from db1'));
    await one.registry.put('k.shared', 'db1-entry', bytes('x'));
    await assert.rejects(
      one.transport.send('db-node', 't.shared', bytes('direct from db1')),
      ServiceUnavailableError,
    );
    await assert.rejects(
      one.transport.request('db-node', 't.rpc', bytes('?'), Date.now() + 2000),
      ServiceUnavailableError,
    );

    // The same from database 0 arrives (so silence above is not a broken subscription).
    await zeroPeer.transport.publish('t.shared', bytes('from db0'));
    await zeroPeer.registry.put('k.shared', 'db0-entry', bytes('y'));
    await waitFor(() => heard.length >= 1 && changes.length >= 1, 2000, 'db 0 traffic');
    assert.deepEqual(heard, ['from db0']);
    const crossed = heard.filter((m) => m !== 'from db0').length;
    // The direct send and the request were refused above (ServiceUnavailableError).
    figure(t, 'messages from db 1 that reached db 0', crossed + changes.length - 1, 'of 4 sent');
    assert.deepEqual(
      changes.map((c) => (c.type === 'put' ? c.record.id : c.id)),
      ['db0-entry'],
    );
    assert.deepEqual(
      (await zero.registry.list('k.shared')).map((r) => r.id),
      ['db0-entry'],
    );
    assert.deepEqual(
      (await one.registry.list('k.shared')).map((r) => r.id),
      ['db1-entry'],
    );
  });
});
