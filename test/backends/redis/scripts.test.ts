import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadScripts } from '../../../src/backends/redis/scripts.js';

/** Commands whose first argument is not a key. */
const NO_KEY = new Set(['TIME', 'PUBLISH']);

describe('Redis Lua scripts', () => {
  for (const script of Object.values(loadScripts())) {
    it(`${script.file}: touches only declared KEYS, and its header documents KEYS and ARGV`, () => {
      const header = /^--\[\[([\s\S]*?)\]\]/.exec(script.source)?.[1] ?? '';
      const body = script.source.slice(script.source.indexOf(']]') + 2);
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
      // never a name built in the script.
      const keyVars = [
        ...body.matchAll(/for _, (\w+) in ipairs\(\{\s*KEYS\[\d+\](?:,\s*KEYS\[\d+\])*\s*\}\)/g),
      ].map((m) => m[1]);
      for (const m of body.matchAll(/redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?/g)) {
        const command = m[1]!.toUpperCase();
        if (NO_KEY.has(command) || keyVars.includes(m[2])) continue;
        assert.match(m[2] ?? '', /^KEYS\[\d+\]$/, `${command} on ${m[2]} (not a declared key)`);
      }
    });
  }
});
