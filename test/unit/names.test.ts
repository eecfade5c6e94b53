import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/errors/errors.js';
import { assertName, assertPattern } from '../../src/util/names.js';

describe('names', () => {
  it('accepts dotted names and, for patterns, whole-segment wildcards', () => {
    for (const ok of ['user.created', 'a', 'order.v2.paid', 'email.tasks', 'user:123', 'x-y_z'])
      assertName(ok, 'Name');
    for (const ok of ['user.*', '**', 'a.**.b', '*.created']) assertPattern(ok, 'Pattern');
  });

  it('rejects empty segments, spaces, partial wildcards, non-strings and huge names', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', 'a.**', 'ü.x', 'a\nb']) {
      assert.throws(() => assertName(bad, 'Event name'), ValidationError, JSON.stringify(bad));
    }
    for (const bad of ['a.*b', 'a.b**', '***', 'a..*'])
      assert.throws(() => assertPattern(bad, 'Pattern'), ValidationError, bad);
    assert.throws(() => assertPattern('a.**.**.b', 'Pattern'), /repeats/);
    assert.throws(() => assertPattern('**.a.**.b.**.c.**.d.**', 'Pattern'), /more than 4/);
    assert.throws(() => assertName(Array(70).fill('a').join('.'), 'Event name'), /segments/);
    assert.throws(() => assertName(undefined, 'Event name'), /must be a string/);
    assert.throws(() => assertName('a'.repeat(300), 'Event name'), /longer than/);
  });
});
