import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Packr } from 'msgpackr';
import { createCodec } from '../../src/codec/codec.js';
import { safeJsonParse } from '../../src/codec/safe-json.js';
import { PayloadTooLargeError, SerializationError } from '../../src/errors/errors.js';

describe('codec', () => {
  const codec = createCodec({ maxPayloadBytes: 1024 });

  it('round-trips the SPEC types: Date, Buffer, Uint8Array, Map, Set, BigInt, undefined', () => {
    const value = {
      date: new Date('2024-01-01T00:00:00Z'),
      buffer: Buffer.from([0, 1, 255]),
      bytes: new Uint8Array([9, 8]),
      map: new Map<unknown, unknown>([
        ['a', { n: 1 }],
        [2, 'two'],
      ]),
      set: new Set([1, 'x']),
      big: -(2n ** 80n),
      nothing: undefined,
      list: [undefined, null, 1.5, 'é'],
    };
    const out = createCodec().decode(codec.encode(value)) as typeof value;
    assert.deepEqual(out, value);
    assert.ok(out.date instanceof Date);
    assert.ok(Buffer.isBuffer(out.buffer));
    assert.ok(out.map instanceof Map && out.set instanceof Set);
    assert.equal(typeof out.big, 'bigint');
    assert.ok(Object.hasOwn(out, 'nothing'));
  });

  it('refuses values that cannot cross a process boundary', () => {
    assert.throws(() => codec.encode({ f: () => 1 }), SerializationError);
    assert.throws(() => codec.encode([Symbol('s')]), SerializationError);
    assert.throws(() => codec.encode(new Map([['k', () => 1]])), SerializationError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => codec.encode(cyclic), SerializationError);
  });

  it('refuses oversized payloads with a typed error naming the limit', () => {
    assert.throws(
      () => codec.encode('x'.repeat(2000)),
      (e: unknown) => {
        assert.ok(e instanceof PayloadTooLargeError);
        assert.equal(e.details.limit, 1024);
        return true;
      },
    );
  });

  it('turns corrupt bytes into SerializationError', () => {
    assert.throws(() => codec.decode(new Uint8Array([0xc1, 0xff, 0x00])), SerializationError);
  });

  it('refuses an own __proto__ key, a deep payload and an oversized one, naming the argument', () => {
    const evil = (): unknown => JSON.parse('{"__proto__":{"polluted":true}}');
    const nested = { list: [1, new Map<unknown, unknown>([['k', { v: [evil()] }]])] };
    assert.throws(() => codec.encode(nested, 'data'), {
      name: 'SerializationError',
      message:
        /^Payload "data" has an own "__proto__" key at data\.list\[1\]<map "k">\.v\[0\]\.__proto__/,
      details: { key: '__proto__', field: 'data', path: 'data.list[1]<map "k">.v[0].__proto__' },
    });
    // Inside a frame, the path starts at the argument, not at the frame's key for it.
    assert.throws(() => codec.encode({ s: 'svc', p: [evil()] }, 'params', 'p'), {
      details: { key: '__proto__', field: 'params', path: 'params[0].__proto__' },
    });
    // Keys named constructor or prototype are data.
    const plain = { constructor: { prototype: { polluted: true } } };
    assert.deepEqual(codec.decode(codec.encode(plain)), plain);

    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.throws(() => codec.encode(deep, 'value'), {
      name: 'ValidationError',
      message: /^Payload "value" is nested deeper than 64 levels/,
      details: { field: 'value', limit: 64 },
    });
    // A cycle is still a SerializationError, also deep inside a payload.
    const ring: unknown[] = [];
    ring.push([[ring]]);
    assert.throws(() => codec.encode({ a: { b: ring } }, 'data'), {
      name: 'SerializationError',
      message: /^Payload "data" is cyclic/,
    });
    assert.throws(() => codec.encode('x'.repeat(2000), 'work'), {
      name: 'PayloadTooLargeError',
      message: /^Payload "work" is \d+ bytes encoded, over the limit of 1024/,
      details: { field: 'work', size: 2003, limit: 1024 },
    });
  });

  it('cannot pollute prototypes when decoding', () => {
    const evil = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    for (const packer of [
      new Packr({ useRecords: false }),
      new Packr({ structuredClone: true }),
      new Packr(),
    ]) {
      const out = codec.decode(packer.pack(evil)) as Record<string, unknown>;
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.ok([Object.prototype, Map.prototype].includes(Object.getPrototypeOf(out)));
      assert.equal(out.polluted, undefined);
    }
  });
});

describe('safeJsonParse', () => {
  it('parses ordinary JSON', () => {
    assert.deepEqual(safeJsonParse('{"a":[1,{"b":null}]}'), { a: [1, { b: null }] });
  });

  it('refuses prototype-polluting keys, naming the key', () => {
    for (const text of ['{"__proto__":{"x":1}}', '{"a":{"constructor":{"prototype":{"x":1}}}}']) {
      assert.throws(
        () => safeJsonParse(text),
        (e: unknown) => e instanceof SerializationError && /forbidden key/.test(e.message),
      );
    }
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('turns malformed JSON into SerializationError', () => {
    assert.throws(() => safeJsonParse('{"a":'), SerializationError);
  });
});
