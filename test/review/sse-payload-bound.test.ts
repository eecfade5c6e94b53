// The live stream shows at most 2 KB of an event's data. Making that preview must cost about
// 2 KB too, not a serialization of the whole value: a 50 MB string or an object of 100 000
// fields, published while a dashboard watches, is read only as far as the preview needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_DATA_CHARS, showData } from '../../src/dashboard/server/payload.js';

void describe('live stream preview bound', () => {
  void it('serializes no more of a large value than the preview needs', () => {
    let reads = 0;
    const item = (i: number): object => ({
      get detail() {
        reads++;
        return { value: i, label: `item number ${i}` };
      },
    });
    const wide = Array.from({ length: 100_000 }, (_, i) => item(i));
    const shown = showData({ items: wide });
    assert.equal(shown.truncated, true);
    assert.ok(reads < 1000, `serialized ${reads} items for a ${MAX_DATA_CHARS}-character preview`);
    assert.match(
      JSON.parse(shown.json) as string,
      /^\{"items":\[\{"detail":\{"value":0,"label":"item number 0"\}\}/,
    );
    assert.ok(shown.json.length <= MAX_DATA_CHARS + 1024);
  });

  void it('cuts a huge string before serializing it', () => {
    const huge = 'x'.repeat(5_000_000);
    const shown = showData({ huge });
    assert.equal(shown.truncated, true);
    assert.ok(shown.json.length <= MAX_DATA_CHARS + 1024, `json of ${shown.json.length}`);
    assert.match(JSON.parse(shown.json) as string, /^\{"huge":"x{100}/);
  });

  void it('leaves small data whole', () => {
    assert.deepEqual(showData({ a: 1, b: 'two' }), { json: '{"a":1,"b":"two"}', truncated: false });
  });
});
