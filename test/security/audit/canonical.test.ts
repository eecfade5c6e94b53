import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../../src/security/audit/canonical.js';
import {
  anchorSigned,
  chainHash,
  decodeAnchor,
  encodeAnchor,
} from '../../../src/security/audit/chain.js';
import { entryBytes, prepareEntry } from '../../../src/security/audit/entry.js';
import { compileRedaction } from '../../../src/security/audit/redact.js';

void describe('audit canonical form and chain', () => {
  void it('sorts keys at every level, drops undefined, writes Dates as epoch ms, no whitespace', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, undefined, 'x'], c: undefined, e: new Date(42) }, z: -0 }),
      '{"a":{"d":[1,null,"x"],"e":42},"b":1,"z":0}',
    );
    assert.equal(canonicalJson({ é: 1, e: 2, E: 3 }), '{"E":3,"e":2,"é":1}');
    assert.equal(
      canonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 })),
      '{"a":2,"b":1}',
    );
  });

  void it('refuses what JSON cannot hold unambiguously, naming the field', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const [value, field] of [
      [{ x: Number.NaN }, 'm.x'],
      [{ x: 1n }, 'm.x'],
      [{ x: () => 1 }, 'm.x'],
      [{ x: new Map() }, 'm.x'],
      [{ x: [Symbol('s')] }, 'm.x[0]'],
      [{ x: new Date(Number.NaN) }, 'm.x'],
      [cycle, 'm.self'],
    ] as const)
      assert.throws(
        () => canonicalJson(value, 'm'),
        (e: Error & { code: string; details: { field: string } }) =>
          e.code === 'PB_VALIDATION' && e.details.field === field,
      );
  });

  void it('an entry is the canonical JSON of its fields with the seq in place; its hash chains', () => {
    const prepared = prepareEntry(
      { action: 'a', actor: 'b', metadata: { z: 1, y: new Date(3) }, timestamp: 7, target: 't' },
      'plug',
      'node-1',
      undefined,
      65536,
    );
    const bytes = entryBytes(prepared, 12);
    const fields = {
      seq: 12,
      timestamp: 7,
      target: 't',
      plugin: 'plug',
      nodeId: 'node-1',
      metadata: { y: 3, z: 1 },
      actor: 'b',
      action: 'a',
    };
    assert.equal(bytes.toString(), canonicalJson(fields));
    assert.equal(
      chainHash('prev', bytes),
      createHash('sha256').update(`prev\n${bytes.toString()}`).digest('hex'),
    );
    assert.throws(
      () =>
        prepareEntry(
          { action: 'a', actor: 'b', metadata: { s: 'x'.repeat(100) } },
          'p',
          'n',
          undefined,
          64,
        ),
      {
        code: 'PB_PAYLOAD_TOO_LARGE',
      },
    );
  });

  void it('anchors are signed over kind, seq and hash', () => {
    const key = Buffer.alloc(32, 7);
    const cp = decodeAnchor(encodeAnchor('checkpoint', 5, 'h', key))!;
    assert.equal(anchorSigned('checkpoint', cp, key), true);
    assert.equal(anchorSigned('start', cp, key), false, 'a checkpoint is not a start');
    assert.equal(anchorSigned('checkpoint', { ...cp, seq: 6 }, key), false);
    assert.equal(anchorSigned('checkpoint', cp, Buffer.alloc(32, 8)), false);
    assert.equal(
      anchorSigned('checkpoint', decodeAnchor(encodeAnchor('checkpoint', 5, 'h', undefined))!, key),
      false,
    );
    assert.equal(decodeAnchor(Buffer.from('not json')), undefined);
  });

  void it('redaction replaces values at paths (with * for any key), copying what it changes', () => {
    const redact = compileRedaction(['metadata.password', 'metadata.*.token', 'metadata.list.*'])!;
    const input = {
      action: 'a',
      metadata: { password: 'p', s: { token: 't', keep: 1 }, list: [1, 2], other: 'o' },
    };
    const out = redact(input);
    assert.deepEqual(out.metadata, {
      password: '[REDACTED]',
      s: { token: '[REDACTED]', keep: 1 },
      list: ['[REDACTED]', '[REDACTED]'],
      other: 'o',
    });
    assert.equal(input.metadata.password, 'p', "the caller's object is untouched");
    assert.equal(input.metadata.s.token, 't');
  });
});
