import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  errorClasses,
  hasErrorCode,
  isPlugboardError,
  MethodNotFoundError,
  PlugboardError,
  TimeoutError,
} from '../../src/errors/errors.js';
import { errorToWire, wireToError } from '../../src/errors/wire.js';

describe('errors', () => {
  it('have a stable code, name and type equal to the class name, and JSON form', () => {
    const error = new TimeoutError('too slow', { details: { timeout: 5 } });
    assert.equal(error.name, 'TimeoutError');
    assert.equal(error.type, 'TimeoutError');
    assert.equal(error.code, 'PB_TIMEOUT');
    assert.equal(error.retryable, true);
    assert.deepEqual(JSON.parse(JSON.stringify(error)), {
      name: 'TimeoutError',
      code: 'PB_TIMEOUT',
      message: 'too slow',
      details: { timeout: 5 },
    });
    assert.ok(isPlugboardError(error) && hasErrorCode(error, 'PB_TIMEOUT'));
    assert.ok(!isPlugboardError(new Error('x')));
  });

  it('every class has a distinct PB_ code', () => {
    const codes = Object.values(errorClasses)
      .filter((C) => C !== PlugboardError)
      .map((C) => new (C as unknown as new (m: string) => PlugboardError)('m').code);
    assert.equal(new Set(codes).size, codes.length);
    for (const code of codes) assert.match(code, /^PB_[A-Z_]+$/);
  });

  it('cross the wire as the same class, and foreign errors keep name, message and code', () => {
    const back = wireToError(
      errorToWire(new MethodNotFoundError('no add', { details: { method: 'add' } })),
    );
    assert.ok(back instanceof MethodNotFoundError);
    assert.equal(back.code, 'PB_METHOD_NOT_FOUND');
    assert.deepEqual(back.details, { method: 'add' });
    const foreign = wireToError(
      errorToWire(Object.assign(new RangeError('bad'), { code: 'E_RANGE' })),
    );
    assert.equal(foreign.name, 'RangeError');
    assert.equal(foreign.message, 'bad');
    assert.equal((foreign as Error & { code: string }).code, 'E_RANGE');
    assert.equal(wireToError(errorToWire('just a string')).message, 'just a string');
  });
});

describe('wireToError against hostile or look-alike input', () => {
  it('never calls Object.prototype members, and keeps user errors named like ours', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const error = wireToError({ name, message: 'm' });
      assert.ok(error instanceof Error);
      assert.equal(error.message, 'm');
    }
    const user = wireToError({ name: 'ValidationError', code: 'E_USER', message: 'bad form' });
    assert.ok(!isPlugboardError(user));
    assert.equal((user as Error & { code: string }).code, 'E_USER');
    const dom = wireToError({ name: 'TimeoutError', message: 'signal timed out' });
    assert.ok(!isPlugboardError(dom));
    assert.equal(dom.name, 'TimeoutError');
  });
});
