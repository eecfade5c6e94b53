/** The bounded record behind what a node remembers of applied phase messages and outcomes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedRecord } from '../../src/tx/bounded-record.js';

describe('BoundedRecord', () => {
  it('forgets the oldest entries past its limit; a rewrite makes an entry new again', () => {
    const record = new BoundedRecord<number>(3);
    for (const key of ['a', 'b', 'c']) record.set(key, 1);
    record.set('a', 2); // a is now the newest
    record.set('d', 1); // b goes
    assert.equal(record.size, 3);
    assert.equal(record.get('b'), undefined);
    assert.equal(record.get('a'), 2);
    for (let i = 0; i < 100; i++) record.set(`k${i}`, i);
    assert.equal(record.size, 3);
    assert.deepEqual(
      ['k97', 'k98', 'k99'].map((k) => record.get(k)),
      [97, 98, 99],
    );
    record.clear();
    assert.equal(record.size, 0);
  });
});
