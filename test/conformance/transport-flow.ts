import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_MAX_INBOUND_HANDLERS } from '../../src/backends/inbound-limiter.js';
import type { Backend, TransportFault } from '../../src/backends/ports.js';
import { bytes, text, until, type BackendHarness, type HarnessFactory } from './harness.js';

/** Flow control of the Transport port: inbound handlers are bounded, requests are not. */
export function transportFlowConformance(name: string, factory: HarnessFactory): void {
  describe(`Transport flow conformance: ${name}`, () => {
    let harness: BackendHarness;
    let a: Backend;
    let b: Backend;
    beforeEach(async () => {
      harness = await factory();
      [a, b] = await Promise.all([harness.create(), harness.create()]);
      await Promise.all([a.start(), b.start()]);
    });
    afterEach(() => harness.cleanup());

    it('bounds running inbound handlers, sheds the excess with a counted fault, and still answers requests', async () => {
      const bound = DEFAULT_MAX_INBOUND_HANDLERS;
      const extra = 50;
      const faults: TransportFault[] = [];
      b.transport.onFault((fault) => faults.push(fault));
      let started = 0;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      await b.transport.subscribe('t.flow', () => {
        started++;
        return released;
      });
      await b.transport.respond('t.flow.rpc', (p) => bytes(`re:${text(p)}`));
      await Promise.all(
        Array.from({ length: bound + extra }, (_, i) =>
          a.transport.publish('t.flow', bytes(String(i))),
        ),
      );
      await until(
        () => started + b.transport.stats().shedMessages >= bound + extra,
        10_000,
        'every message to be handled or shed',
      );
      assert.equal(started, bound, 'no more handlers than the bound ran at once');
      assert.equal(b.transport.stats().shedMessages, extra);
      assert.equal(b.transport.stats().runningHandlers, bound);
      await until(() => faults.length > 0, 3000, 'the shed to be reported');
      assert.equal(faults[0]!.kind, 'inbound-shed');
      assert.ok(Number(faults[0]!.details['dropped']) >= 1);

      // Requests are neither shed nor queued behind the running handlers.
      const reply = await a.transport.request(
        b.nodeId,
        't.flow.rpc',
        bytes('x'),
        Date.now() + 3000,
      );
      assert.equal(text(reply), 're:x');

      release();
      await until(() => b.transport.stats().runningHandlers === 0, 3000, 'handlers to finish');
      await a.transport.publish('t.flow', bytes('after'));
      await until(() => started === bound + 1, 3000, 'delivery once handlers finished');
      assert.equal(b.transport.stats().shedMessages, extra);
    });

    it('does not count handlers that return nothing', async () => {
      let got = 0;
      await b.transport.subscribe('t.flow.sync', () => void got++);
      const total = DEFAULT_MAX_INBOUND_HANDLERS + 100;
      await Promise.all(
        Array.from({ length: total }, () => a.transport.publish('t.flow.sync', bytes('x'))),
      );
      await until(() => got === total, 10_000, 'every message');
      assert.equal(b.transport.stats().shedMessages, 0);
      assert.equal(b.transport.stats().runningHandlers, 0);
    });
  });
}
