/** The history checker itself: it finds overlapping grants and tokens out of order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Grant } from './fixtures/lock-node.js';
import { checkHistory, smallestHandover } from './history.js';

const grant = (node: string, token: number, grantedAt: number, releaseAt: number): Grant => ({
  node,
  resource: 'r',
  token,
  requestAt: grantedAt - 1,
  grantedAt,
  expiresAt: grantedAt + 400,
  releaseAt,
  written: true,
  lostBeforeRelease: false,
  paused: false,
});

describe('lock history check', () => {
  it('accepts back-to-back grants (a release and the next grant in one ms)', () => {
    const history = [grant('a', 1, 0, 10), grant('b', 2, 10, 20), grant('c', 3, 20, 30)];
    assert.deepEqual(checkHistory(history), []);
    assert.equal(smallestHandover(history), 0);
  });

  it('finds a grant made while another holder still held the resource', () => {
    const violations = checkHistory([grant('a', 1, 0, 10), grant('b', 2, 9, 20)]);
    assert.equal(violations.length, 1);
    assert.match(violations[0]!, /still held it until 10/);
  });

  it('ends a validity at expiresAt when the release came later (a frozen holder)', () => {
    const frozen = { ...grant('a', 1, 0, 5000), expiresAt: 400 };
    assert.deepEqual(checkHistory([frozen, grant('b', 2, 401, 420)]), []);
    assert.equal(checkHistory([frozen, grant('b', 2, 399, 420)]).length, 1);
  });

  it('finds a token that does not exceed the one granted before it', () => {
    const violations = checkHistory([
      grant('a', 5, 0, 10),
      grant('b', 5, 11, 20),
      grant('c', 4, 21, 30),
    ]);
    assert.equal(violations.length, 2);
    assert.ok(violations.every((v) => /does not exceed/.test(v)));
  });

  it('checks each resource on its own', () => {
    const other = { ...grant('b', 1, 5, 15), resource: 's' };
    assert.deepEqual(checkHistory([grant('a', 2, 0, 10), other]), []);
  });
});
