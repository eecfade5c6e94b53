import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InboundLimiter } from '../../src/backends/inbound-limiter.js';
import type { TransportFault } from '../../src/backends/ports.js';

const info = { from: 'n' };
const payload = new Uint8Array();

describe('InboundLimiter', () => {
  it('counts a handler while its promise runs, and sheds past the bound', async () => {
    const faults: TransportFault[] = [];
    const limiter = new InboundLimiter(
      2,
      () => undefined,
      (fault) => faults.push(fault),
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    assert.equal(
      limiter.deliver(() => held, payload, info, 't'),
      true,
    );
    assert.equal(
      limiter.deliver(() => held, payload, info, 't'),
      true,
    );
    assert.equal(
      limiter.deliver(() => undefined, payload, info, 't'),
      false,
      'shed',
    );
    assert.equal(limiter.active, 2);
    assert.equal(limiter.dropped, 1);
    release();
    await held;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(limiter.active, 0);
    assert.equal(
      limiter.deliver(() => 42, payload, info, 't'),
      true,
      'other values are ignored',
    );
    assert.equal(limiter.active, 0);
    limiter.close();
  });

  it('reports drops at most once per second, summing the drops in between', async () => {
    const faults: TransportFault[] = [];
    const limiter = new InboundLimiter(
      1,
      () => undefined,
      (fault) => faults.push(fault),
    );
    const never = new Promise<void>(() => undefined);
    limiter.deliver(() => never, payload, info, 't');
    for (let i = 0; i < 5; i++) limiter.deliver(() => undefined, payload, info, 't');
    assert.equal(faults.length, 1, 'the first drop is reported at once');
    assert.equal(faults[0]!.details['dropped'], 1);
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (faults.length === 2) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    assert.ok(Date.now() - started >= 900, 'not before the interval');
    assert.equal(faults[1]!.details['dropped'], 4);
    assert.equal(faults[1]!.details['total'], 5);
    limiter.close();
  });

  it('reports a throwing or rejecting handler and stops counting it', async () => {
    const errors: unknown[] = [];
    const limiter = new InboundLimiter(
      5,
      (error) => errors.push(error),
      () => undefined,
    );
    limiter.deliver(
      () => {
        throw new Error('sync');
      },
      payload,
      info,
      't',
    );
    limiter.deliver(() => Promise.reject(new Error('async')), payload, info, 't');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['sync', 'async'],
    );
    assert.equal(limiter.active, 0);
  });
});
