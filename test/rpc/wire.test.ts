import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MethodNotFoundError } from '../../src/errors/errors.js';
import { errorToWire, wireToError } from '../../src/errors/wire.js';

function throwOnProvider(): never {
  throw Object.assign(new RangeError('card declined'), { code: 'E_DECLINED' });
}

const thrown = (fn: () => void): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('errors crossing the wire keep both stacks', () => {
  it('appends the remote stack after the local one, keeping name, message and code', () => {
    const wire = errorToWire(thrown(throwOnProvider));
    const back = wireToError(wire, 'node-7') as Error & { code: string; remoteStack: string };
    assert.equal(back.name, 'RangeError');
    assert.equal(back.message, 'card declined');
    assert.equal(back.code, 'E_DECLINED');
    const [local, remote] = back.stack!.split('\nCaused on node node-7:\n');
    assert.match(local!, /^RangeError: card declined\n\s+at /);
    assert.doesNotMatch(local!, /throwOnProvider/);
    assert.equal(remote, wire.stack);
    assert.match(remote!, /throwOnProvider/);
    assert.equal(back.remoteStack, wire.stack);
    assert.ok(!Object.keys(back).includes('remoteStack'), 'not enumerable');
  });

  it('keeps the class of a Plugboard error, and says so when the origin is unknown', () => {
    const wire = errorToWire(new MethodNotFoundError('no add', { details: { method: 'add' } }));
    const back = wireToError(wire);
    assert.ok(back instanceof MethodNotFoundError);
    assert.deepEqual(back.details, { method: 'add' });
    assert.match(back.stack!, /^MethodNotFoundError: no add\n[\s\S]*\nCaused on another node:\n/);
  });

  it('has only the local stack when the wire carries none', () => {
    const back = wireToError({ name: 'Error', message: 'plain' });
    assert.doesNotMatch(back.stack!, /Caused on/);
    assert.equal((back as Error & { remoteStack?: string }).remoteStack, undefined);
  });
});
