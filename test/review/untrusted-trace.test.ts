// A trace carried by another node (RPC frame `r`, event frame `tr`, queue envelope `t`) is
// untrusted: a bare id past the bound a local caller may pass (512 characters) or an empty one
// must not become the trace of the work, logged on every line and passed on to every call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCodec } from '../../src/codec/codec.js';
import { LazyEventMeta } from '../../src/bus/event-meta.js';
import { decodeEnvelope } from '../../src/queue/message-envelope.js';
import { parseTrace } from '../../src/trace/traceparent.js';

const HUGE = 'x'.repeat(200_000);
const TRACEPARENT = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

void describe('untrusted trace input', () => {
  void it('parseTrace keeps W3C traceparents and bounded bare ids, drops empty and oversized ones', () => {
    assert.deepEqual(parseTrace(TRACEPARENT), { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) });
    assert.deepEqual(parseTrace('trace-1'), { traceId: 'trace-1' });
    assert.deepEqual(parseTrace('y'.repeat(512)), { traceId: 'y'.repeat(512) });
    assert.equal(parseTrace(HUGE), undefined);
    assert.equal(parseTrace(''), undefined);
  });

  void it('a queue envelope with an oversized trace gets none (the consumer starts its own)', () => {
    const codec = createCodec();
    const envelope = decodeEnvelope(codec, codec.encode({ d: 1, t: HUGE }));
    assert.equal(envelope.traceId, undefined);
    assert.equal(envelope.data, 1);
  });

  void it('an event frame with an oversized trace falls back to the event id', () => {
    const meta = LazyEventMeta.fromFrame(
      { e: 'a.b', d: new Uint8Array(), i: 'ev-1', s: 'p', n: 'node', t: 1, tr: HUGE },
      () => 'generated',
    );
    assert.equal(meta.traceId, 'ev-1');
  });
});
