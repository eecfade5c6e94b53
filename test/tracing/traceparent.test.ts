/** The carried form of a trace: a W3C traceparent with a span, the bare trace id without. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createTraceIdGenerator,
  formatTrace,
  isW3cTraceId,
  parseTrace,
} from '../../src/trace/traceparent.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('a trace with a span travels as a traceparent and reads back', () => {
  const carried = formatTrace({ traceId: TRACE, spanId: SPAN });
  assert.equal(carried, `00-${TRACE}-${SPAN}-01`);
  assert.deepEqual(parseTrace(carried), { traceId: TRACE, spanId: SPAN });
});

test('a bare or non-W3C trace id travels as is', () => {
  assert.equal(formatTrace({ traceId: TRACE }), TRACE);
  assert.equal(formatTrace({ traceId: 'order-42', spanId: SPAN }), 'order-42');
  assert.deepEqual(parseTrace('Ab3x-1f'), { traceId: 'Ab3x-1f' });
  assert.deepEqual(parseTrace(TRACE), { traceId: TRACE });
});

test('malformed traceparents are kept as opaque trace ids, never half-read', () => {
  for (const value of [
    `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero trace id
    `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero span id
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-0`.padEnd(55, 'x'),
  ]) {
    assert.deepEqual(parseTrace(value), { traceId: value });
  }
});

test('generated trace ids are W3C and distinct', () => {
  const next = createTraceIdGenerator();
  const ids = new Set(Array.from({ length: 1000 }, next));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.ok(isW3cTraceId(id), id);
  assert.notEqual(createTraceIdGenerator()(), next());
});
