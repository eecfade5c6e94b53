import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import {
  BackendUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../src/errors/errors.js';
import { errorToWire } from '../../src/errors/wire.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

/** The Transport port contract (see src/backends/ports.ts). */
export function transportConformance(name: string, factory: HarnessFactory): void {
  describe(`Transport conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    let c: Backend;
    beforeEach(async () => {
      harness = await factory();
      [a, b, c] = await Promise.all([harness.create(), harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start(), c.start()]);
    });
    afterEach(() => harness.cleanup());

    it('broadcasts to subscribers on every other node, not the publisher', async () => {
      const got: string[] = [];
      for (const node of [a, b, c]) {
        await node.transport.subscribe('t.one', (p, info) =>
          got.push(`${node.nodeId}<-${info.from}:${text(p)}`),
        );
      }
      await a.transport.publish('t.one', bytes('hello'));
      await until(() => got.length >= 2, 2000, 'broadcast delivery');
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.deepEqual(
        got.sort(),
        [`${b.nodeId}<-${a.nodeId}:hello`, `${c.nodeId}<-${a.nodeId}:hello`].sort(),
      );
    });

    it('delivers once per subscription, and not after close', async () => {
      let first = 0;
      let second = 0;
      const s1 = await b.transport.subscribe('t.two', () => void first++);
      await b.transport.subscribe('t.two', () => void second++);
      await a.transport.publish('t.two', bytes('1'));
      await until(() => first === 1 && second === 1, 2000, 'both subscriptions');
      await s1.close();
      await s1.close();
      await a.transport.publish('t.two', bytes('2'));
      await until(() => second === 2, 2000, 'second message');
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(first, 1);
    });

    it('sends a direct message to one node only, bytes intact', async () => {
      const got: Array<[string, number[]]> = [];
      await b.transport.subscribe('t.direct', (p) => got.push([b.nodeId, [...p]]));
      await c.transport.subscribe('t.direct', (p) => got.push([c.nodeId, [...p]]));
      const payload = new Uint8Array([0, 255, 1, 0, 128]);
      await a.transport.send(c.nodeId, 't.direct', payload);
      await until(() => got.length === 1, 2000, 'direct delivery');
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.deepEqual(got, [[c.nodeId, [0, 255, 1, 0, 128]]]);
    });

    it('refuses a direct message to a node that is gone, so the sender can pick another', async () => {
      const d = await harness.create();
      await d.start();
      await d.transport.subscribe('t.gone', () => undefined);
      await harness.crash(d);
      // The server notices the dropped connection a moment later; from then on, every send fails.
      await until(
        () =>
          a.transport.send(d.nodeId, 't.gone', bytes('x')).then(
            () => false,
            (error: unknown) => (error as { code?: string }).code === 'PB_SERVICE_UNAVAILABLE',
          ),
        2000,
        'a send to the crashed node to be refused',
      );
    });

    it('answers requests, and returns responder errors with name, message and code', async () => {
      await b.transport.respond('t.rpc', (p, info) => {
        const body = text(p);
        if (body === 'fail') throw Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
        return bytes(`${body}!from:${info.from}`);
      });
      const reply = await a.transport.request(b.nodeId, 't.rpc', bytes('ping'), Date.now() + 2000);
      assert.equal(text(reply), `ping!from:${a.nodeId}`);
      await assert.rejects(
        a.transport.request(b.nodeId, 't.rpc', bytes('fail'), Date.now() + 2000),
        {
          name: 'TypeError',
          message: 'bad input',
          code: 'E_BAD',
        },
      );
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          a.transport.request(b.nodeId, 't.rpc', bytes(`m${i}`), Date.now() + 2000),
        ),
      );
      assert.deepEqual(
        many.map(text),
        Array.from({ length: 50 }, (_, i) => `m${i}!from:${a.nodeId}`),
      );
    });

    it('rejects a request to a node with no responder with ServiceUnavailableError, fast', async () => {
      const started = Date.now();
      await assert.rejects(
        a.transport.request(c.nodeId, 't.none', bytes('x'), Date.now() + 3000),
        ServiceUnavailableError,
      );
      await assert.rejects(
        a.transport.request('no-such-node', 't.none', bytes('x'), Date.now() + 3000),
        ServiceUnavailableError,
      );
      assert.ok(Date.now() - started < 1500, 'should not wait for the deadline');
    });

    it('rejects with TimeoutError at the deadline when the responder never answers', async () => {
      await b.transport.respond('t.slow', () => new Promise<Uint8Array>(() => undefined));
      const started = Date.now();
      await assert.rejects(
        a.transport.request(b.nodeId, 't.slow', bytes('x'), Date.now() + 150),
        TimeoutError,
      );
      const took = Date.now() - started;
      assert.ok(took >= 100 && took < 1500, `took ${took} ms`);
    });

    it('settles a request by its deadline when the responder node crashes mid-request', async () => {
      let received!: () => void;
      const arrived = new Promise<void>((resolve) => (received = resolve));
      await b.transport.respond('t.crash', () => {
        received();
        return new Promise<Uint8Array>(() => undefined);
      });
      const pending = a.transport.request(b.nodeId, 't.crash', bytes('x'), Date.now() + 400);
      await arrived;
      await harness.crash(b);
      await assert.rejects(
        pending,
        (e: unknown) => e instanceof TimeoutError || e instanceof ServiceUnavailableError,
      );
    });

    it('closing a backend settles its requests in flight at once (nothing waits for a deadline)', async () => {
      await b.transport.respond('t.never', () => new Promise<Uint8Array>(() => undefined));
      const d = await harness.create();
      await d.start();
      const pending = d.transport.request(b.nodeId, 't.never', bytes('x'), Date.now() + 60_000);
      // Let the request reach the responder before closing the requester.
      await new Promise((resolve) => setImmediate(resolve));
      const refused = assert.rejects(pending, BackendUnavailableError);
      const started = Date.now();
      await d.close();
      await refused;
      const took = Date.now() - started;
      assert.ok(took < 1000, `the request settled ${took} ms after close`);
    });

    it('a closed backend rejects every port call with BackendUnavailableError, never throws', async () => {
      const d = await harness.create();
      await d.start();
      await d.close();
      const payload = bytes('x');
      const calls: Array<[string, () => unknown]> = [
        ['transport.publish', () => d.transport.publish('t.closed', payload)],
        ['transport.send', () => d.transport.send(a.nodeId, 't.closed', payload)],
        ['transport.subscribe', () => d.transport.subscribe('t.closed', () => undefined)],
        [
          'transport.request',
          () => d.transport.request(a.nodeId, 't.closed', payload, Date.now() + 500),
        ],
        ['transport.respond', () => d.transport.respond('t.closed', () => payload)],
        ['registry.put', () => d.registry.put('k.closed', 'i', payload)],
        ['registry.remove', () => d.registry.remove('k.closed', 'i')],
        ['registry.list', () => d.registry.list('k.closed')],
        ['registry.watch', () => d.registry.watch('k.closed', () => undefined)],
        ['registry.liveNodes', () => d.registry.liveNodes()],
        ['queues.enqueue', () => d.queues.enqueue('q.closed', payload)],
        ['cache.get', () => d.cache.get('k.closed')],
        ['cache.set', () => d.cache.set('k.closed', payload)],
        ['cache.exec', () => d.cache.exec([{ op: 'delete', key: 'k.closed' }])],
        ['locks.acquire', () => d.locks.acquire('r.closed', 'o', 1000, 0)],
        ['locks.release', () => d.locks.release('r.closed', 'o')],
        ['locks.watch', () => d.locks.watch('r.closed', () => undefined)],
        [
          'feeds.append',
          () => d.feeds.append('c.closed', payload, { maxChanges: 10, maxAgeMs: 60_000 }),
        ],
        ['feeds.read', () => d.feeds.read('c.closed', 0, 10)],
        ['feeds.seqBefore', () => d.feeds.seqBefore('c.closed', Date.now())],
        ['feeds.lastSeq', () => d.feeds.lastSeq('c.closed')],
        ['feeds.watch', () => d.feeds.watch('c.closed', () => undefined)],
        ['feeds.saveCursor', () => d.feeds.saveCursor('c.closed', 'n', 1)],
        ['feeds.loadCursor', () => d.feeds.loadCursor('c.closed', 'n')],
      ];
      for (const [what, call] of calls) {
        let result: unknown;
        assert.doesNotThrow(() => (result = call()), `${what} threw synchronously`);
        assert.ok(result instanceof Promise, `${what} returned no promise`);
        await assert.rejects(result, (e: unknown) => {
          assert.equal(
            (e as { code?: string }).code,
            'PB_BACKEND_UNAVAILABLE',
            `${what}: ${String(e)}`,
          );
          return true;
        });
      }
    });

    it('carries the wire form of Plugboard errors', () => {
      const wire = errorToWire(new ServiceUnavailableError('x', { details: { service: 's' } }));
      assert.deepEqual(
        { name: wire.name, code: wire.code, details: wire.details },
        {
          name: 'ServiceUnavailableError',
          code: 'PB_SERVICE_UNAVAILABLE',
          details: { service: 's' },
        },
      );
    });
  });
}
