import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { expandIncludes, loadScripts } from '../../../src/backends/redis/scripts.js';

/** Commands whose first argument is not a key. */
const NO_KEY = new Set(['TIME', 'PUBLISH']);
const scriptsDir = new URL('../../../src/backends/redis/scripts/', import.meta.url);
const includeDir = new URL('include/', scriptsDir);
const includes = readdirSync(includeDir).filter((f) => f.endsWith('.lua'));
const readInclude = (file: string): string => readFileSync(new URL(file, includeDir), 'utf8');

/** Functions the includes define, with the positions of their key parameters (0-based). */
const KEY_FUNCTIONS: Record<string, number[]> = {
  usable: [0],
  replace_wrong_type: [0],
  deadline_of: [0],
  holds_lease: [0, 1],
  unleased_meta: [0],
  count_activity: [0],
  count_states: [0, 1, 2, 3, 4],
  move_due: [0, 1, 2, 3, 4, 5],
  last_change: [0],
  log_change: [0],
};

describe('Redis Lua scripts', () => {
  for (const script of Object.values(loadScripts())) {
    it(`${script.file}: touches only declared KEYS, and its header documents KEYS and ARGV`, () => {
      // The file as written (includes are checked on their own below).
      const own = readFileSync(new URL(script.file, scriptsDir), 'utf8');
      const header = /^--\[\[([\s\S]*?)\]\]/.exec(own)?.[1] ?? '';
      const body = own.slice(own.indexOf(']]') + 2);
      assert.ok(header.includes(script.file.replace(/\.lua$/, '')), 'header names the script');
      assert.ok(/Returns/.test(header), 'header documents the returns');

      // KEYS: the header lists exactly KEYS[1..n], n from the file name, and the body uses no other.
      const documented = [...header.matchAll(/^\s*KEYS\[(\d+)\]/gm)].map((m) => Number(m[1]));
      assert.deepEqual(
        documented,
        Array.from({ length: script.keys }, (_, i) => i + 1),
      );
      for (const m of body.matchAll(/KEYS\[(\d+)\]/g))
        assert.ok(Number(m[1]) <= script.keys, `KEYS[${m[1]}] is not declared`);
      // Keys past the declared ones (`KEYS[n..]` in the header) only through an index variable.
      const keyPattern = script.variadic ? /^KEYS\[(\d+|[a-z]\w*)\]$/ : /^KEYS\[\d+\]$/;
      assert.equal(
        script.variadic,
        new RegExp(`^\\s*KEYS\\[${script.keys + 1}\\.\\.\\]`, 'm').test(header),
      );

      // ARGV: every one used is documented (singly, or as a trailing range "ARGV[n..]").
      const range = /^\s*ARGV\[(\d+)\.\.\]/m.exec(header);
      for (const m of body.matchAll(/ARGV\[(\d+)\]/g)) {
        const n = Number(m[1]);
        assert.ok(
          new RegExp(`^\\s*ARGV\\[${n}\\]`, 'm').test(header) ||
            (range !== null && n >= Number(range[1])),
          `ARGV[${n}] is not documented`,
        );
      }

      // Every key a command touches is one of KEYS (or a loop variable over a list of KEYS),
      // never a name built in the script; so is every key handed to an include's function.
      const keyVars = [
        ...body.matchAll(/for _, (\w+) in ipairs\(\{\s*KEYS\[\d+\](?:,\s*KEYS\[\d+\])*\s*\}\)/g),
      ].map((m) => m[1]);
      for (const m of body.matchAll(/redis\.p?call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?/g)) {
        const command = m[1]!.toUpperCase();
        if (NO_KEY.has(command) || keyVars.includes(m[2])) continue;
        assert.match(m[2] ?? '', keyPattern, `${command} on ${m[2]} (not a declared key)`);
      }
      for (const [fn, positions] of Object.entries(KEY_FUNCTIONS)) {
        for (const m of body.matchAll(new RegExp(`\\b${fn}\\(([^)]*)\\)`, 'g'))) {
          const args = m[1]!.split(',').map((a) => a.trim());
          for (const p of positions)
            assert.match(args[p] ?? '', /^KEYS\[\d+\]$/, `${fn}(${m[1]}): not a declared key`);
        }
      }

      // The loaded source is the file with its includes expanded, and its SHA1 covers that.
      assert.equal(script.source, expandIncludes(own));
      assert.ok(!script.source.includes('--!include'), 'every include expanded');
      assert.equal(script.sha, createHash('sha1').update(script.source).digest('hex'));
    });
  }

  it('includes touch keys only through their functions’ key parameters', () => {
    for (const file of includes) {
      const source = readInclude(file);
      const params = new Set(
        [...source.matchAll(/local function \w+\(([^)]*)\)/g)].flatMap((m) =>
          m[1]!.split(',').map((p) => p.trim()),
        ),
      );
      for (const m of source.matchAll(/redis\.p?call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?/g)) {
        if (NO_KEY.has(m[1]!.toUpperCase())) continue;
        assert.ok(params.has(m[2]!), `${file}: ${m[1]} on ${m[2]} (not a key parameter)`);
      }
    }
  });

  it('reads the clock and checks leases in one place each (the includes)', () => {
    const files = readdirSync(scriptsDir).filter((f) => f.endsWith('.lua'));
    for (const file of files) {
      const own = readFileSync(new URL(file, scriptsDir), 'utf8');
      assert.ok(!/redis\.call\(\s*'TIME'/.test(own), `${file} reads TIME itself`);
      assert.ok(
        !/HGET', KEYS\[\d\], ARGV\[1\]\)\s*\nif not meta/.test(own),
        `${file} checks a lease itself`,
      );
    }
    const sources = Object.values(loadScripts());
    const leaseUsers = sources.filter((s) => s.source.includes('local function holds_lease'));
    assert.deepEqual(leaseUsers.map((s) => s.name).sort(), [
      'ackMessages',
      'deadLetterMessage',
      'extendLease',
      'releaseMessage',
    ]);
    for (const s of sources) {
      assert.ok(
        (s.source.match(/redis\.call\('TIME'\)/g) ?? []).length <= 1,
        `${s.file} reads TIME at most once`,
      );
    }
  });

  it('expands nested includes once each, and fails loudly on a missing one', () => {
    const files: Record<string, string> = {
      'include/a.lua': '--!include b.lua\nlocal a = b',
      'include/b.lua': 'local b = 1',
    };
    const read = (path: string): string => {
      const found = files[path];
      if (found === undefined) throw new Error(`no ${path}`);
      return found;
    };
    assert.equal(
      expandIncludes('--!include a.lua\n--!include b.lua\nreturn a', read),
      'local b = 1\nlocal a = b\n-- (b.lua already included)\nreturn a',
    );
    assert.throws(() => expandIncludes('--!include nope.lua', read), /no include\/nope.lua/);
  });
});
