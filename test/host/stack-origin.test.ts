import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { definePlugin, definitionFile } from '../../src/host/define-plugin.js';
import { attributeByStack, isOwnFile, stackFiles } from '../../src/util/stack-origin.js';

const own = fileURLToPath(new URL('../../src/host/plugin-host.ts', import.meta.url));

/** An error whose stack names the given files, innermost first. */
function errorAt(...files: string[]): Error {
  const error = new Error('boom');
  error.stack = ['Error: boom', ...files.map((f, i) => `    at fn${i} (${f}:${i + 1}:2)`)].join(
    '\n',
  );
  return error;
}

void describe('stack-origin: attributing a rejection by its stack trace', () => {
  void it('reads paths and file URLs, skipping internal frames', () => {
    const stack = [
      'Error: x',
      '    at f (/a/b.ts:1:2)',
      `    at async g (${pathToFileURL('/c/d e.js').href}:3:4)`,
      '    at /e/f.js:5:6',
      '    at new Promise (<anonymous>)',
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    ].join('\n');
    assert.deepEqual(stackFiles(stack), ['/a/b.ts', '/c/d e.js', '/e/f.js']);
    assert.equal(isOwnFile(own), true);
    assert.equal(isOwnFile('/x/node_modules/plugboard/dist/host/host.js'), true);
    assert.equal(isOwnFile(fileURLToPath(import.meta.url)), false);
  });

  void it('picks the first frame in a plugin file or the deepest plugin folder', () => {
    const origins = [
      { pluginId: 'outer', dir: '/p' },
      { pluginId: 'inner', dir: '/p/inner' },
      { pluginId: 'file', file: '/q/plugin.ts' },
    ];
    assert.equal(attributeByStack(errorAt(own, '/q/plugin.ts', '/p/x.js'), origins), 'file');
    assert.equal(attributeByStack(errorAt('/elsewhere.js', '/p/inner/a.js'), origins), 'inner');
    assert.equal(attributeByStack(errorAt('/p/a.js'), origins), 'outer');
    // '/p' does not own '/pq/...'.
    assert.equal(attributeByStack(errorAt('/pq/a.js'), origins), undefined);
    assert.equal(attributeByStack('not an error', origins), undefined);
    assert.equal(attributeByStack(errorAt(own), origins), undefined);
  });

  void it('attributes nothing to a file that defined several plugins', () => {
    const origins = [
      { pluginId: 'a', file: '/r/both.ts' },
      { pluginId: 'b', file: '/r/both.ts' },
    ];
    assert.equal(attributeByStack(errorAt('/r/both.ts'), origins), undefined);
  });

  void it('definePlugin records the calling file', () => {
    const definition = definePlugin({ name: 'here', version: '1.0.0', activate() {} });
    assert.equal(definitionFile(definition), fileURLToPath(import.meta.url));
    assert.equal(join(definitionFile(definePlugin(definition))!), fileURLToPath(import.meta.url));
  });
});
