import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatternTrie, type PatternNode } from '../../src/bus/pattern-trie.js';

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

/** Reference semantics, by brute force: `*` one segment, `**` zero or more. */
function matches(pattern: string[], name: string[]): boolean {
  if (pattern.length === 0) return name.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return name.some((_, i) => matches(rest, name.slice(i))) || matches(rest, []);
  if (name.length === 0) return false;
  return (head === '*' || head === name[0]) && matches(rest, name.slice(1));
}

/** Small deterministic PRNG so a failure can be replayed. */
function random(seed: number): () => number {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('PatternTrie.matchNodes', () => {
  it('reports each matching pattern node once, agreeing with brute-force matching', () => {
    const next = random(7);
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(next() * xs.length)]!;
    const words = ['a', 'b', 'c'];
    for (let round = 0; round < 40; round++) {
      const trie = new PatternTrie<string>();
      const patterns = new Set<string>();
      const withGlobstar = round % 2 === 0;
      while (patterns.size < 12) {
        const length = 1 + Math.floor(next() * 4);
        const parts = Array.from({ length }, () =>
          pick(withGlobstar ? [...words, '*', '**'] : [...words, '*']),
        );
        if (parts.some((p, i) => p === '**' && parts[i - 1] === '**')) continue;
        patterns.add(parts.join('.'));
      }
      for (const p of patterns) trie.add(p, p);
      for (let n = 0; n < 30; n++) {
        const name = Array.from({ length: 1 + Math.floor(next() * 5) }, () => pick(words));
        const nodes: Array<PatternNode<string>> = [];
        trie.matchNodes(name, nodes);
        const got = nodes.flatMap((node) => [...node.values]).sort();
        const want = [...patterns].filter((p) => matches(p.split('.'), name)).sort();
        assert.deepEqual(got, want, `${name.join('.')} against ${[...patterns].join(' ')}`);
        assert.equal(new Set(nodes).size, nodes.length, 'each node once');
      }
    }
  });

  it('keeps matching ** correctly after the last ** pattern is removed and another added', () => {
    const trie = new PatternTrie<string>();
    trie.add('a.**', 'x');
    trie.remove('a.**', 'x');
    assert.deepEqual(matchOf(trie, 'a.b'), []);
    trie.add('**.b', 'y');
    trie.add('*.b', 'z');
    assert.deepEqual(matchOf(trie, 'a.b'), ['y', 'z']);
    assert.deepEqual(matchOf(trie, 'b'), ['y']);
  });

  it('gives the same node for names that match the same pattern', () => {
    const trie = new PatternTrie<string>();
    trie.add('order.*.updated', 'p');
    const first: Array<PatternNode<string>> = [];
    const second: Array<PatternNode<string>> = [];
    trie.matchNodes(['order', '1', 'updated'], first);
    trie.matchNodes(['order', '2', 'updated'], second);
    assert.equal(first.length, 1);
    assert.equal(first[0], second[0]);
  });
});
