import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MatchCache, scanName } from '../../src/bus/match-cache.js';
import { PatternTrie } from '../../src/bus/pattern-trie.js';
import { ValidationError } from '../../src/errors/errors.js';
import { assertName } from '../../src/util/names.js';

interface Sub {
  readonly pattern: string;
  readonly priority: number;
  readonly seq: number;
}

interface Entry {
  readonly subs: readonly Sub[];
}

const bySeq = (a: Sub, b: Sub): number => b.priority - a.priority || a.seq - b.seq;

function setup(patterns: Array<[string, number?]>, capacity = 100) {
  const trie = new PatternTrie<Sub>();
  patterns.forEach(([pattern, priority = 0], seq) => trie.add(pattern, { pattern, priority, seq }));
  let builds = 0;
  const cache = new MatchCache<Sub, Entry>(
    trie,
    bySeq,
    (subs) => {
      builds++;
      return { subs };
    },
    capacity,
  );
  return { trie, cache, builds: () => builds };
}

const patternsOf = (entry: Entry): string[] => entry.subs.map((s) => s.pattern);

describe('MatchCache', () => {
  it('keeps at most `capacity` names, evicting one at a time instead of clearing', () => {
    const { cache } = setup([['order.*.updated']], 4);
    // Look a name up until it is cached (a name is cached on its second miss, and when the cache
    // is full only if missed more often than the name it would evict).
    const admitted = (name: string): void => {
      for (let i = 0; i < 5000 && cache.get(name) === undefined; i++) cache.lookup(name);
      assert.notEqual(cache.get(name), undefined, `${name} never cached`);
    };
    for (let i = 0; i < 4; i++) admitted(`order.${i}.updated`);
    assert.equal(cache.size, 4);
    admitted('order.4.updated');
    // Clearing when full would leave 1 name; eviction keeps the cache full.
    assert.equal(cache.size, 4);
    assert.equal(cache.get('order.0.updated'), undefined, 'the oldest name was evicted');
    for (const i of [1, 2, 3, 4]) assert.notEqual(cache.get(`order.${i}.updated`), undefined);
    for (let i = 5; i < 100; i++) {
      admitted(`order.${i}.updated`);
      assert.ok(cache.size <= 4);
    }
    assert.equal(cache.size, 4);
  });

  it('keeps part of a cyclic working set larger than the cache, so it still hits', () => {
    const { cache } = setup([['order.*.updated']], 100);
    const names = Array.from({ length: 200 }, (_, i) => `order.${i}.updated`);
    for (let pass = 0; pass < 10; pass++) for (const name of names) cache.lookup(name);
    let hits = 0;
    for (let pass = 0; pass < 10; pass++) {
      for (const name of names) {
        if (cache.get(name) !== undefined) hits++;
        cache.lookup(name);
      }
    }
    // Evicting the oldest name would miss every time (each comes back after 199 others).
    assert.ok(hits / (10 * names.length) > 0.3, `hit rate ${hits / (10 * names.length)}`);
  });

  it('caches a name on its second miss, and only a few one-off names', () => {
    const { cache } = setup([['order.*.updated'], ['user.*']], 100);
    cache.lookup('user.created');
    assert.equal(cache.get('user.created'), undefined, 'not cached after one miss');
    cache.lookup('user.created');
    assert.notEqual(cache.get('user.created'), undefined, 'cached after the second');
    for (let i = 0; i < 1000; i++) cache.lookup(`order.${i}.updated`);
    // Every 16th miss is admitted anyway (so colliding names cannot lock each other out).
    assert.ok(cache.size <= 1 + Math.ceil(1000 / 16), `${cache.size} names cached`);
    assert.notEqual(cache.get('user.created'), undefined);
  });

  it('caches nearly all of a rotating working set that fits, even with hash slot collisions', () => {
    const { cache } = setup([['order.*.updated']], 10_000);
    const names = Array.from({ length: 9_000 }, (_, i) => `order.${i}.updated`);
    for (let pass = 0; pass < 4; pass++) for (const name of names) cache.lookup(name);
    const missing = names.filter((name) => cache.get(name) === undefined).length;
    assert.equal(missing, 0, `${missing} of ${names.length} not cached`);
  });

  it('keeps a name that is hit while other names cycle through', () => {
    const { cache } = setup([['order.*.updated'], ['user.created']], 8);
    cache.lookup('user.created');
    cache.lookup('user.created');
    for (let i = 0; i < 500; i++) {
      cache.lookup(`order.${i}.updated`);
      cache.lookup(`order.${i}.updated`);
      // The hot name is hit between evictions, so the clock hand always gives it a second chance.
      assert.notEqual(cache.get('user.created'), undefined, `evicted after ${i} other names`);
    }
    assert.equal(cache.size, 8);
  });

  it('shares one entry among names matching the same patterns, built once', () => {
    const { cache, builds } = setup([['order.*.updated'], ['order.**'], ['user.*']], 2);
    const a = cache.lookup('order.1.updated');
    const b = cache.lookup('order.2.updated');
    const c = cache.lookup('order.3.updated');
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(cache.lookup('order.1.updated'), a);
    assert.equal(cache.lookup('user.x'), cache.lookup('user.y'));
    assert.equal(cache.lookup('nothing.here'), cache.lookup('nobody.listens'));
    assert.deepEqual(patternsOf(cache.lookup('nothing.here')), []);
    assert.equal(builds(), 3); // {order.*.updated, order.**}, {user.*}, {}
  });

  it('orders subscribers by priority, then subscription order, across patterns', () => {
    const { cache } = setup([['a.*'], ['a.b', 5], ['**'], ['*.b', 5], ['a.**', -1], ['a.b']]);
    const subs = cache.lookup('a.b').subs;
    assert.deepEqual(
      subs.map((s) => [s.pattern, s.priority]),
      [
        ['a.b', 5],
        ['*.b', 5],
        ['a.*', 0],
        ['**', 0],
        ['a.b', 0],
        ['a.**', -1],
      ],
    );
    // One pattern with mixed priorities (a single trie node) is sorted too.
    const one = setup([['x.y'], ['x.y', 3], ['x.y', -2], ['x.y', 3]]);
    assert.deepEqual(
      one.cache.lookup('x.y').subs.map((s) => [s.priority, s.seq]),
      [
        [3, 1],
        [3, 3],
        [0, 0],
        [-2, 2],
      ],
    );
  });

  it('caches each name once when every lookup follows a missed get (as the bus publishes)', () => {
    const { cache } = setup([['order.*.updated']], 8);
    const publish = (name: string): Entry => cache.get(name) ?? cache.lookup(name);
    for (let pass = 0; pass < 3; pass++) for (let i = 0; i < 8; i++) publish(`order.${i}.updated`);
    assert.equal(cache.size, 8);
    for (let i = 0; i < 8; i++) assert.notEqual(cache.get(`order.${i}.updated`), undefined);
    // A get that missed, then the name cached by a lookup, then a lookup again: still one entry.
    const { cache: small } = setup([['a.*']], 2);
    assert.equal(small.get('a.x'), undefined);
    small.lookup('a.x');
    small.lookup('a.x');
    small.lookup('a.x');
    assert.equal(small.size, 1);
  });

  it('recomputes after clear() when the trie changed', () => {
    const { trie, cache } = setup([['a.*']]);
    assert.deepEqual(patternsOf(cache.lookup('a.b')), ['a.*']);
    trie.add('a.b', { pattern: 'a.b', priority: 1, seq: 9 });
    cache.clear();
    assert.equal(cache.size, 0);
    assert.deepEqual(patternsOf(cache.lookup('a.b')), ['a.b', 'a.*']);
    assert.deepEqual(patternsOf(cache.lookup('a.c')), ['a.*']);
  });

  it('rejects invalid names with ValidationError and caches nothing for them', () => {
    const { cache } = setup([['**']]);
    for (const bad of ['', 'a..b', '.a', 'a.', 'a.*', 'a.**', 'a b', 'é', 42, undefined]) {
      assert.throws(() => cache.lookup(bad as string), ValidationError, JSON.stringify(bad));
    }
    assert.equal(cache.size, 0);
    assert.deepEqual(patternsOf(cache.lookup('a.b')), ['**']);
  });
});

describe('scanName', () => {
  it('accepts exactly the names assertName accepts, and splits them on dots', () => {
    const names: unknown[] = [
      'user.created',
      'a',
      'order.v2.paid',
      'x:y/z$@_-9',
      Array(64).fill('a').join('.'),
      Array(65).fill('a').join('.'),
      'a'.repeat(256),
      'a'.repeat(257),
      '',
      '.',
      'a.',
      '.a',
      'a..b',
      'a.*',
      '*',
      '**',
      'a.b c',
      'a.ü',
      'a\u0000',
      'a.b~',
      null,
      7,
    ];
    const next = (
      (seed) => () =>
        (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647
    )(11);
    const alphabet = 'ab.*:/$@_- #Zé';
    for (let i = 0; i < 2000; i++) {
      const length = Math.floor(next() * 8);
      names.push(
        Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''),
      );
    }
    for (const name of names) {
      let valid = true;
      try {
        assertName(name, 'Event name');
      } catch {
        valid = false;
      }
      const out: string[] = [];
      const hash = scanName(name, out);
      assert.equal(hash >= 0, valid, JSON.stringify(name));
      assert.ok(Number.isInteger(hash) && hash <= 0x7fffffff);
      if (valid) assert.deepEqual(out, (name as string).split('.'));
    }
  });
});
