import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatternTrie } from '../../src/bus/pattern-trie.js';

const matchOf = (trie: PatternTrie<string>, name: string): string[] => [...trie.match(name)].sort();

describe('PatternTrie', () => {
  it('matches exact names, * (one segment) and ** (zero or more)', () => {
    const trie = new PatternTrie<string>();
    for (const p of [
      'user.created',
      'user.*',
      '*.created',
      'user.**',
      '**',
      'order.**.paid',
      'a.*.*',
    ])
      trie.add(p, p);
    assert.deepEqual(matchOf(trie, 'user.created'), [
      '**',
      '*.created',
      'user.*',
      'user.**',
      'user.created',
    ]);
    assert.deepEqual(matchOf(trie, 'user'), ['**', 'user.**']);
    assert.deepEqual(matchOf(trie, 'user.profile.updated'), ['**', 'user.**']);
    assert.deepEqual(matchOf(trie, 'order.paid'), ['**', 'order.**.paid']);
    assert.deepEqual(matchOf(trie, 'order.eu.x.paid'), ['**', 'order.**.paid']);
    assert.deepEqual(matchOf(trie, 'a.b.c'), ['**', 'a.*.*']);
    assert.deepEqual(matchOf(trie, 'a.b'), ['**']);
  });

  it('returns each value once even when several paths match', () => {
    const trie = new PatternTrie<string>();
    trie.add('**.*', 'x');
    trie.add('a.**.*.**.b', 'y');
    assert.deepEqual(matchOf(trie, 'a.c.d.b'), ['x', 'y']);
  });

  it('removes values and prunes empty branches', () => {
    const trie = new PatternTrie<string>();
    trie.add('a.*.c', 'v1');
    trie.add('a.*.c', 'v2');
    assert.equal(trie.size, 2);
    assert.equal(trie.remove('a.*.c', 'v1'), true);
    assert.equal(trie.remove('a.*.c', 'v1'), false);
    assert.deepEqual(matchOf(trie, 'a.b.c'), ['v2']);
    trie.remove('a.*.c', 'v2');
    assert.equal(trie.size, 0);
    assert.deepEqual(matchOf(trie, 'a.b.c'), []);
    assert.equal(trie.remove('nope.x', 'v'), false);
  });

  it('stays fast on patterns with several ** (no combinatorial search)', () => {
    const trie = new PatternTrie<string>();
    trie.add('**.a.**.a.**.a.**.z', 'p');
    trie.add('**.b.**.b.**.b.**.b', 'q');
    const name = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 'a' : 'b')).join('.');
    const started = performance.now();
    assert.deepEqual([...trie.match(name)], ['q']);
    assert.deepEqual([...trie.match(`${name}.z`)], ['p']);
    assert.ok(performance.now() - started < 200, 'matching is polynomial');
  });

  it('keeps matching cost flat as unrelated patterns grow', () => {
    const trie = new PatternTrie<number>();
    for (let i = 0; i < 10_000; i++) trie.add(`svc${i}.*.created`, i);
    assert.deepEqual([...trie.match('svc42.user.created')], [42]);
  });
});
