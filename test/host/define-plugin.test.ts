import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definePlugin, isPluginDefinition } from '../../src/host/define-plugin.js';

void describe('definePlugin', () => {
  void it('returns a frozen definition with defaults', () => {
    const plugin = definePlugin({ name: 'auth-plugin', version: '1.0.0', activate() {} });
    assert.ok(Object.isFrozen(plugin));
    assert.ok(Object.isFrozen(plugin.dependencies));
    assert.deepEqual(plugin.dependencies, {});
    assert.deepEqual(plugin.permissions, []);
    assert.deepEqual(plugin.options, {});
    assert.ok(isPluginDefinition(plugin));
    assert.equal(definePlugin(plugin), plugin);
  });

  void it('keeps `this` for object-style plugins', async () => {
    const spec = {
      name: 'stateful',
      version: '1.0.0',
      calls: 0,
      activate() {
        this.calls++;
      },
    };
    await definePlugin(spec).activate({} as never);
    assert.equal(spec.calls, 1);
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ['missing name', { version: '1.0.0' }, 'name'],
    ['bad name', { name: 'has space', version: '1.0.0' }, 'name'],
    ['bad version', { name: 'p', version: 'one' }, 'version'],
    [
      'bad range',
      { name: 'p', version: '1.0.0', dependencies: { other: 'not a range!' } },
      'dependencies.other',
    ],
    ['bad timeout', { name: 'p', version: '1.0.0', activateTimeout: -5 }, 'activateTimeout'],
    ['bad permissions', { name: 'p', version: '1.0.0', permissions: [3] }, 'permissions.0'],
    ['no activate', { name: 'p', version: '1.0.0', activate: undefined }, 'activate'],
  ];
  for (const [title, spec, field] of cases) {
    void it(`names the field: ${title}`, () => {
      assert.throws(
        () => definePlugin({ activate() {}, ...spec } as never),
        (error: any) => {
          assert.equal(error.code, 'PB_INVALID_MANIFEST');
          assert.equal(error.details.field, field);
          assert.ok(error.message.includes(`"${field}"`), error.message);
          return true;
        },
      );
    });
  }
});
