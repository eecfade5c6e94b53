import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertPayloadFits,
  parsePubsubHardLimit,
} from '../../../src/backends/redis/output-limit.js';
import { ValidationError } from '../../../src/errors/errors.js';

describe('pub/sub output limit', () => {
  it('reads the hard pub/sub limit from client-output-buffer-limit', () => {
    assert.equal(
      parsePubsubHardLimit('normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'),
      33554432,
    );
    assert.equal(parsePubsubHardLimit('pubsub 256kb 128kb 60'), 256 * 1024);
    assert.equal(parsePubsubHardLimit('pubsub 0 0 0'), 0);
    assert.equal(parsePubsubHardLimit('normal 0 0 0'), undefined);
  });

  it('refuses a maxPayloadBytes that does not fit, or a budget below one payload', () => {
    assert.throws(
      () => assertPayloadFits(32 * 1024 * 1024, 64 * 1024 * 1024, 32 * 1024 * 1024),
      ValidationError,
    );
    assert.throws(
      () => assertPayloadFits(1024 * 1024, 512 * 1024, 32 * 1024 * 1024),
      ValidationError,
    );
    assertPayloadFits(1024 * 1024, 32 * 1024 * 1024, 32 * 1024 * 1024);
    assertPayloadFits(100 * 1024 * 1024, 200 * 1024 * 1024, 0);
  });
});
