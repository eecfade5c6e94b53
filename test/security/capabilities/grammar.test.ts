import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHost, definePlugin } from '../../../src/host/index.js';
import { parseCapability, segmentsOf } from '../../../src/security/capabilities/grammar.js';
import { CapabilityMatcher, covers } from '../../../src/security/capabilities/matcher.js';
import { PatternTrie } from '../../../src/bus/pattern-trie.js';
import { silentLogger } from '../../support/runtime.js';

void describe('capability grammar', () => {
  const valid: Array<[string, string, string, string[]]> = [
    ['events:publish:user.*', 'events', 'publish', ['user', '*']],
    ['events:subscribe:order.**', 'events', 'subscribe', ['order', '**']],
    ['rpc:call:payment.*', 'rpc', 'call', ['payment', '*']],
    ['rpc:register:calculator', 'rpc', 'register', ['calculator']],
    ['queue:send:email.tasks', 'queue', 'send', ['email', 'tasks']],
    // Split on the first two colons: the pattern keeps its own.
    ['cache:write:user:*', 'cache', 'write', ['user', '*']],
    // `lock:resource:<p>` (as in the SPEC) is `lock:acquire:<p>`.
    ['lock:resource:*', 'lock', 'acquire', ['*']],
    ['crypto:use:data-encryption-key', 'crypto', 'use', ['data-encryption-key']],
    ['*:*:**', '*', '*', ['**']],
    ['cache:*:session:**', 'cache', '*', ['session', '**']],
  ];
  for (const [text, area, action, segments] of valid) {
    void it(`parses ${text}`, () => {
      const parsed = parseCapability(text);
      assert.ok(typeof parsed !== 'string', typeof parsed === 'string' ? parsed : '');
      assert.deepEqual(
        { area: parsed.area, action: parsed.action, segments: parsed.segments },
        { area, action, segments },
      );
    });
  }

  const invalid: Array<[unknown, RegExp]> = [
    [42, /must be a string/],
    ['events', /area:action:pattern/],
    ['events:publish', /area:action:pattern/],
    ['events:publish:', /empty pattern/],
    ['event:publish:x', /unknown area "event"/],
    ['events:write:x', /unknown action "write" for area "events"/],
    ['events:publish:user..created', /empty segment/],
    ['events:publish:user*', /whole segments/],
    ['events:publish:a.***', /whole segments/],
    ['events:publish:a.**.**', /repeats/],
    ['events:publish:a b', /whole segments, with no spaces/],
    ['*:bogus:x', /unknown action "bogus"/],
  ];
  for (const [text, message] of invalid) {
    void it(`refuses ${JSON.stringify(text)}`, () => {
      const parsed = parseCapability(text);
      assert.equal(typeof parsed, 'string');
      assert.match(parsed as string, message);
    });
  }
});

void describe('capability matching', () => {
  const table: Array<[string, string, boolean]> = [
    ['user.*', 'user.created', true],
    ['user.*', 'user', false],
    ['user.*', 'user.created.v2', false],
    ['order.**', 'order', true],
    ['order.**', 'order.a.b.c', true],
    ['order.**', 'orders.a', false],
    ['**', 'anything.at.all', true],
    ['user:*', 'user:42', true],
    ['user:*', 'user.42', true],
    ['user:*', 'session:42', false],
    ['a.**.z', 'a.z', true],
    ['a.**.z', 'a.b.c.z', true],
    ['a.**.z', 'a.b.c', false],
    // Subscription patterns as targets: covered only when every name they match is.
    ['order.**', 'order.*', true],
    ['order.*', 'order.*', true],
    ['order.*', 'order.**', false],
    ['order.*', '**', false],
    ['**', '**', true],
    ['*.created', 'user.created', true],
    ['*.created', '*.created', true],
    ['user.created', 'user.*', false],
    ['**.created', '**.created', true],
    ['*.**', '**', false],
  ];
  for (const [pattern, target, expected] of table) {
    void it(`${pattern} ${expected ? 'covers' : 'does not cover'} ${target}`, () => {
      assert.equal(covers(segmentsOf(pattern), segmentsOf(target)), expected);
    });
  }

  void it('agrees with the event bus on concrete names (same * and ** meaning)', () => {
    const patterns = ['user.*', 'order.**', '**', 'a.**.z', '*.b.*', 'x.**.y.**', 'p.q'];
    const names = [
      'user.created',
      'user',
      'order',
      'order.a.b',
      'a.z',
      'a.q.r.z',
      'a.b.c',
      'k.b.m',
      'x.y',
      'x.1.y.2.3',
      'p.q',
      'p.q.r',
    ];
    for (const pattern of patterns) {
      const trie = new PatternTrie<string>();
      trie.add(pattern, pattern);
      for (const name of names) {
        assert.equal(
          covers(segmentsOf(pattern), segmentsOf(name)),
          trie.match(name).has(pattern),
          `${pattern} vs ${name}`,
        );
      }
    }
  });

  void it('matches area and action (with * for either) and remembers a bounded number of decisions', () => {
    const parsed = ['events:publish:user.*', 'cache:*:session:**', '*:subscribe:audit.**'].map(
      (text) => parseCapability(text) as Exclude<ReturnType<typeof parseCapability>, string>,
    );
    const matcher = new CapabilityMatcher(parsed);
    assert.equal(matcher.allows('events', 'publish', 'user.created'), true);
    assert.equal(matcher.allows('events', 'subscribe', 'user.created'), false);
    assert.equal(matcher.allows('cache', 'read', 'session:1'), true);
    assert.equal(matcher.allows('cache', 'write', 'session:1:x'), true);
    assert.equal(matcher.allows('cache', 'write', 'user:1'), false);
    assert.equal(matcher.allows('events', 'subscribe', 'audit.x'), true);
    assert.equal(matcher.allows('rpc', 'call', 'anything'), false);
    // Many distinct targets: decisions stay right after the oldest are forgotten.
    for (let i = 0; i < 5000; i++) matcher.allows('events', 'publish', `user.n${i}`);
    assert.equal(matcher.allows('events', 'publish', 'user.n0'), true);
    assert.equal(matcher.allows('events', 'publish', 'order.n0'), false);
  });
});

void describe('capabilities are checked at load', () => {
  void it('definePlugin refuses a malformed entry with InvalidManifestError naming plugin and entry', () => {
    assert.throws(
      () =>
        definePlugin({
          name: 'orders',
          version: '1.0.0',
          permissions: ['events:publish:order.*', 'events:pubish:order.*'],
          activate() {},
        }),
      (e: any) => {
        assert.equal(e.code, 'PB_INVALID_MANIFEST');
        assert.match(e.message, /Plugin "orders": permission "events:pubish:order\.\*"/);
        assert.match(e.message, /unknown action "pubish"/);
        assert.deepEqual(
          { plugin: e.details.plugin, entry: e.details.entry, field: e.details.field },
          { plugin: 'orders', entry: 'events:pubish:order.*', field: 'permissions.1' },
        );
        return true;
      },
    );
  });

  void it('a folder plugin with a malformed entry fails start with InvalidManifestError', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pb-caps-'));
    try {
      const dir = join(root, 'plugins', 'bad');
      await mkdir(dir, { recursive: true });
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({
          name: 'bad-plugin',
          version: '1.0.0',
          type: 'module',
          plugboard: { permissions: ['cache:write:user:*', 'cache:write'] },
        }),
      );
      await writeFile(join(dir, 'index.js'), 'export default { activate() {} };\n');
      const host = await createHost({ logger: silentLogger, plugins: [dir] });
      await assert.rejects(host.start(), (e: any) => {
        assert.equal(e.code, 'PB_INVALID_MANIFEST');
        assert.match(e.message, /bad-plugin/);
        assert.match(e.message, /"cache:write"/);
        return true;
      });
      await host.stop();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
