import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definePlugin, isPluginDefinition } from '../../src/host/define-plugin.js';
import { resolveDependencyGraph } from '../../src/host/dependency-graph.js';
import { plugboardVersion } from '../../src/host/engine.js';
import { createHost } from '../../src/host/host.js';

void describe('definePlugin', () => {
  void it('returns a frozen definition with defaults', () => {
    const plugin = definePlugin({ name: 'auth-plugin', version: '1.0.0', activate() {} });
    assert.ok(Object.isFrozen(plugin));
    assert.ok(Object.isFrozen(plugin.dependencies));
    assert.deepEqual(plugin.dependencies, {});
    // No list stays "no list" (trusted unless the host is strict), distinct from [].
    assert.equal(plugin.permissions, undefined);
    assert.deepEqual(
      definePlugin({ name: 'p', version: '1.0.0', permissions: [], activate() {} }).permissions,
      [],
    );
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
    // The host's own name: its events (meta.source) and audit entries would pass for the host's.
    ['reserved name', { name: 'host', version: '1.0.0' }, 'name'],
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

  const typos: [string, Record<string, unknown>, string, string][] = [
    ['dependecies', { dependecies: { auth: '^1.0.0' } }, 'dependecies', 'dependencies'],
    ['optoins', { optoins: { greeting: 'hi' } }, 'optoins', 'options'],
    ['permisions', { permisions: ['x'] }, 'permisions', 'permissions'],
    ['Version', { Version: '2.0.0' }, 'Version', 'version'],
    ['deactivte()', { deactivte() {} }, 'deactivte', 'deactivate'],
    ['plugbaord', { plugbaord: '^0.1.0' }, 'plugbaord', 'plugboard'],
  ];
  for (const [title, extra, field, suggestion] of typos) {
    void it(`refuses a typo of a known key from JavaScript: ${title}`, () => {
      assert.throws(
        () => definePlugin({ name: 'p', version: '1.0.0', activate() {}, ...extra }),
        (error: any) => {
          assert.equal(error.code, 'PB_INVALID_MANIFEST');
          assert.equal(error.details.field, field);
          assert.equal(error.details.suggestion, suggestion);
          assert.ok(
            error.message.includes(`unknown key "${field}"; did you mean "${suggestion}"?`),
            error.message,
          );
          return true;
        },
      );
    });
  }

  void it('keeps other keys of object-style plugins (their own state and helpers)', () => {
    const plugin = definePlugin({
      name: 'p',
      version: '1.0.0',
      activated: false,
      calls: 0,
      cache: new Map(),
      helper() {},
      activate() {},
    } as never);
    assert.equal(plugin.name, 'p');
  });

  void it('checks the supported Plugboard range when the host loads the plugin', async () => {
    const running = plugboardVersion();
    const fits = definePlugin({
      name: 'fits',
      version: '1.0.0',
      plugboard: `>=${running}`,
      activate() {},
    });
    assert.equal(fits.plugboard, `>=${running}`);
    const future = definePlugin({
      name: 'future',
      version: '1.0.0',
      plugboard: '^99.0.0',
      activate() {},
    });
    assert.deepEqual(
      resolveDependencyGraph([
        { definition: fits, source: { kind: 'definition' }, npmCandidates: new Set() },
      ]).order,
      ['fits'],
    );
    const host = await createHost({ plugins: [fits, future], logger: false });
    await assert.rejects(host.start(), (error: any) => {
      assert.equal(error.code, 'PB_DEPENDENCY_VERSION');
      assert.equal(error.details.plugin, 'future');
      assert.equal(error.details.range, '^99.0.0');
      assert.equal(error.details.version, running);
      assert.ok(
        error.message.includes(
          `Plugin "future" supports Plugboard ^99.0.0, but Plugboard ${running} is running`,
        ),
        error.message,
      );
      return true;
    });
    await host.stop();
    assert.throws(
      () => definePlugin({ name: 'p', version: '1.0.0', plugboard: 'soon', activate() {} }),
      (e: any) => e.code === 'PB_INVALID_MANIFEST' && e.details.field === 'plugboard',
    );
  });
});
