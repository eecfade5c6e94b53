import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definePlugin } from '../../src/host/define-plugin.js';
import { resolveDependencyGraph } from '../../src/host/dependency-graph.js';
import type { LoadedPlugin } from '../../src/host/types.js';

function plugin(
  name: string,
  version = '1.0.0',
  dependencies: Record<string, string> = {},
  npm: string[] = [],
): LoadedPlugin {
  return {
    definition: definePlugin({ name, version, dependencies, activate() {} }),
    source: { kind: 'definition' },
    npmCandidates: new Set(npm),
  };
}

void describe('resolveDependencyGraph', () => {
  void it('orders plugins in levels, by name within a level, whatever the input order', () => {
    const set = [
      plugin('web', '1.0.0', { api: '^1.0.0', auth: '^1.0.0' }),
      plugin('auth'),
      plugin('api', '1.2.0', { storage: '^2.0.0', auth: '*' }),
      plugin('storage', '2.1.0'),
      plugin('metrics'),
    ];
    const expected = [['auth', 'metrics', 'storage'], ['api'], ['web']];
    assert.deepEqual(resolveDependencyGraph(set).levels, expected);
    assert.deepEqual(resolveDependencyGraph([...set].reverse()).levels, expected);
    const graph = resolveDependencyGraph(set);
    assert.deepEqual(graph.order, ['auth', 'metrics', 'storage', 'api', 'web']);
    assert.deepEqual(graph.dependentsOf.get('auth'), ['api', 'web']);
    assert.equal(graph.levelOf.get('web'), 2);
  });

  void it('names both plugins when a dependency is missing', () => {
    assert.throws(
      () => resolveDependencyGraph([plugin('my-plugin', '1.0.0', { 'auth-plugin': '^1.0.0' })]),
      (error: any) => {
        assert.equal(error.code, 'PB_MISSING_DEPENDENCY');
        assert.equal(error.type, 'MissingDependencyError');
        assert.match(error.message, /"my-plugin" depends on plugin "auth-plugin" \(\^1\.0\.0\)/);
        assert.deepEqual(error.details, {
          plugin: 'my-plugin',
          dependency: 'auth-plugin',
          range: '^1.0.0',
        });
        return true;
      },
    );
  });

  void it('names both plugins and the range when a version is out of range', () => {
    assert.throws(
      () =>
        resolveDependencyGraph([
          plugin('auth-plugin', '2.0.0'),
          plugin('my-plugin', '1.0.0', { 'auth-plugin': '^1.0.0' }),
        ]),
      (error: any) => {
        assert.equal(error.code, 'PB_DEPENDENCY_VERSION');
        assert.match(
          error.message,
          /"my-plugin" requires plugin "auth-plugin" \^1\.0\.0, but version 2\.0\.0/,
        );
        assert.equal(error.details.version, '2.0.0');
        return true;
      },
    );
  });

  void it('prints the cycle, starting from its smallest name', () => {
    const set = [
      plugin('solo'),
      plugin('c', '1.0.0', { a: '*' }),
      plugin('b', '1.0.0', { c: '*' }),
      plugin('a', '1.0.0', { b: '*', solo: '*' }),
    ];
    assert.throws(
      () => resolveDependencyGraph(set),
      (error: any) => {
        assert.equal(error.code, 'PB_DEPENDENCY_CYCLE');
        assert.match(error.message, /a -> b -> c -> a/);
        assert.deepEqual(error.details.cycle, ['a', 'b', 'c', 'a']);
        return true;
      },
    );
    // A cycle not reachable from the first name is still found and rotated.
    assert.throws(
      () =>
        resolveDependencyGraph([
          plugin('a', '1.0.0', { y: '*' }),
          plugin('y', '1.0.0', { x: '*' }),
          plugin('x', '1.0.0', { y: '*' }),
        ]),
      (error: any) => error.code === 'PB_DEPENDENCY_CYCLE' && /x -> y -> x/.test(error.message),
    );
    assert.throws(
      () => resolveDependencyGraph([plugin('self', '1.0.0', { self: '*' })]),
      /self -> self/,
    );
  });

  void it('rejects duplicate names', () => {
    assert.throws(
      () => resolveDependencyGraph([plugin('dup'), plugin('other'), plugin('dup', '2.0.0')]),
      (error: any) =>
        error.code === 'PB_DUPLICATE_PLUGIN' &&
        error.details.plugin === 'dup' &&
        /"dup"/.test(error.message),
    );
  });

  void it('treats an installed npm package as an npm dependency unless a plugin has that name', () => {
    const graph = resolveDependencyGraph([
      plugin('app', '1.0.0', { lodash: '^4.0.0', auth: '^1.0.0' }, ['lodash', 'auth']),
      plugin('auth'),
    ]);
    assert.deepEqual(graph.dependenciesOf.get('app'), ['auth']);
    assert.deepEqual(graph.levels, [['auth'], ['app']]);
    // npm candidates may use ranges semver does not know (file:, workspace:)
    assert.doesNotThrow(() => resolveDependencyGraph([plugin('app', '1.0.0', {}, [])]));
  });
});
