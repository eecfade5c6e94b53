import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENV_VARIABLES, resolveConfig } from '../../src/cli/config.js';
import { backendFromConfig, hostOptionsFromConfig } from '../../src/cli/start-config.js';
import { parseJsonArgument } from '../../src/cli/json-argument.js';
import { colorsWanted } from '../../src/cli/terminal.js';
import { toArguments } from '../../src/cli/commands/call-command.js';
import { tempDir } from '../host/helpers.js';

/** The ValidationError's message and details, for `assert.rejects`. */
function validation(message: RegExp, details: Record<string, unknown>) {
  return (error: unknown): boolean => {
    const e = error as { code?: string; message: string; details: Record<string, unknown> };
    assert.equal(e.code, 'PB_VALIDATION');
    assert.match(e.message, message);
    for (const [key, value] of Object.entries(details)) assert.equal(e.details[key], value);
    return true;
  };
}

void describe('CLI configuration: flags > environment > config file > defaults', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('plugboard-config-'));
    await writeFile(
      join(dir, 'plugboard.config.json'),
      JSON.stringify({
        redis: 'redis://file:6379',
        namespace: 'from-file',
        nodeId: 'file-node',
        rpcTimeout: 1000,
        livenessTtl: 4000,
      }),
    );
    await writeFile(join(dir, 'other.json'), JSON.stringify({ namespace: 'other-file' }));
    await writeFile(join(dir, 'config.mjs'), "export default { namespace: 'from-module' };\n");
    await writeFile(join(dir, 'bad-field.json'), JSON.stringify({ rpcTimeout: -5 }));
    await writeFile(join(dir, 'unknown.json'), JSON.stringify({ redisUrl: 'redis://x' }));
    await writeFile(join(dir, 'broken.json'), '{ "redis": ');
  });
  after(() => cleanup());

  void it('nothing given: no settings, so the defaults apply', async () => {
    const empty = join(dir, 'nowhere');
    const resolved = await resolveConfig({ env: {}, cwd: empty });
    assert.deepEqual(resolved, { config: {}, sources: {}, file: undefined });
    assert.equal(backendFromConfig(resolved.config), 'memory');
    assert.deepEqual(hostOptionsFromConfig(resolved.config), {});
  });

  void it('each layer overrides the one below, field by field, and says where each came from', async () => {
    const resolved = await resolveConfig({
      cwd: dir,
      env: { PLUGBOARD_NAMESPACE: 'from-env', PLUGBOARD_RPC_TIMEOUT: '2500', PLUGBOARD_REDIS: '' },
      flags: { namespace: 'from-flag', redis: undefined },
    });
    assert.deepEqual(resolved.config, {
      redis: 'redis://file:6379',
      namespace: 'from-flag',
      nodeId: 'file-node',
      rpcTimeout: 2500,
      livenessTtl: 4000,
    });
    assert.deepEqual(resolved.sources, {
      redis: 'file',
      namespace: 'flag',
      nodeId: 'file',
      rpcTimeout: 'env',
      livenessTtl: 'file',
    });
    assert.equal(resolved.file, join(dir, 'plugboard.config.json'));
    assert.deepEqual(backendFromConfig(resolved.config), {
      redis: 'redis://file:6379',
      namespace: 'from-flag',
      livenessTtl: 4000,
    });
    assert.deepEqual(hostOptionsFromConfig(resolved.config), {
      nodeId: 'file-node',
      limits: { rpcTimeout: 2500 },
    });
  });

  void it('every variable is read', async () => {
    const env = {
      PLUGBOARD_REDIS: 'redis://env:6379',
      PLUGBOARD_NAMESPACE: 'ns',
      PLUGBOARD_NODE_ID: 'n1',
      PLUGBOARD_RPC_TIMEOUT: '1',
      PLUGBOARD_HANDLER_TIMEOUT: '2',
      PLUGBOARD_OPERATION_TIMEOUT: '3',
      PLUGBOARD_LIVENESS_TTL: '3000',
      PLUGBOARD_START_TIMEOUT: '5',
      PLUGBOARD_STOP_TIMEOUT: '6',
    };
    assert.deepEqual(Object.values(ENV_VARIABLES).sort(), Object.keys(env).sort());
    const { config } = await resolveConfig({ env, cwd: join(dir, 'nowhere') });
    assert.deepEqual(config, {
      redis: 'redis://env:6379',
      namespace: 'ns',
      nodeId: 'n1',
      rpcTimeout: 1,
      handlerTimeout: 2,
      operationTimeout: 3,
      livenessTtl: 3000,
      startTimeout: 5,
      stopTimeout: 6,
    });
    assert.deepEqual(hostOptionsFromConfig(config), {
      nodeId: 'n1',
      limits: { rpcTimeout: 1, handlerTimeout: 2 },
      startTimeout: 5,
      stopTimeout: 6,
    });
    assert.deepEqual(backendFromConfig(config), {
      redis: 'redis://env:6379',
      namespace: 'ns',
      livenessTtl: 3000,
      operationTimeout: 3,
    });
  });

  void it('--config, or PLUGBOARD_CONFIG, names the file instead (JSON or an .mjs default export)', async () => {
    const named = await resolveConfig({ cwd: dir, env: {}, configFile: 'other.json' });
    assert.deepEqual(named.config, { namespace: 'other-file' });
    const byEnv = await resolveConfig({ cwd: dir, env: { PLUGBOARD_CONFIG: 'config.mjs' } });
    assert.deepEqual(byEnv.config, { namespace: 'from-module' });
    assert.equal(byEnv.file, join(dir, 'config.mjs'));
  });

  void it('errors name the source and the field', async () => {
    await assert.rejects(
      resolveConfig({ cwd: dir, env: { PLUGBOARD_RPC_TIMEOUT: 'soon' } }),
      validation(
        /^PLUGBOARD_RPC_TIMEOUT \(environment variable\) must be a whole number of milliseconds, 1 or more; got "soon"\.$/,
        { source: 'env', field: 'rpcTimeout' },
      ),
    );
    await assert.rejects(
      resolveConfig({ cwd: dir, env: { PLUGBOARD_LIVENESS_TTL: '100' } }),
      validation(/^PLUGBOARD_LIVENESS_TTL .* from 300 to 300000; got 100\.$/, {
        source: 'env',
        field: 'livenessTtl',
      }),
    );
    await assert.rejects(
      resolveConfig({ cwd: dir, env: {}, configFile: 'bad-field.json' }),
      validation(/bad-field\.json: field "rpcTimeout" must be a whole number .*; got -5\.$/, {
        source: 'file',
        field: 'rpcTimeout',
      }),
    );
    await assert.rejects(
      resolveConfig({ cwd: dir, env: {}, configFile: 'unknown.json' }),
      validation(/unknown\.json: field "redisUrl" is not a setting; known: redis, namespace, /, {
        source: 'file',
        field: 'redisUrl',
      }),
    );
    await assert.rejects(
      resolveConfig({ cwd: dir, env: {}, configFile: 'broken.json' }),
      validation(/broken\.json is not valid JSON/, { source: 'file' }),
    );
    await assert.rejects(
      resolveConfig({ cwd: dir, env: {}, configFile: 'missing.json' }),
      validation(/missing\.json does not exist; check --config or PLUGBOARD_CONFIG/, {
        source: 'file',
      }),
    );
    // A password never appears in a message.
    await assert.rejects(
      resolveConfig({ cwd: dir, env: {}, flags: { redis: 'http://user:sekret@x' } }),
      validation(/^--redis must be a Redis URL: .*; got "http:\/\/user:\*\*\*@x"\.$/, {
        source: 'flag',
        field: 'redis',
      }),
    );
  });

  void it('JSON arguments: safe parsing, with the position of a syntax error', () => {
    assert.deepEqual(parseJsonArgument('{"a":[1,2]}', 'The data'), { a: [1, 2] });
    assert.throws(
      () => parseJsonArgument('[1, 2,, 3]', 'The data'),
      validation(/^The data is not valid JSON at position 6: .*\n {2}\[1, 2,, 3\]\n {8}\^$/, {
        position: 6,
      }),
    );
    assert.throws(
      () => parseJsonArgument('{"__proto__": {"admin": true}}', 'The data'),
      /forbidden key "__proto__"/,
    );
    assert.deepEqual(toArguments([1, 2]), [1, 2]);
    assert.deepEqual(toArguments({ a: 1 }), [{ a: 1 }]);
  });

  void it('colors only on a terminal; NO_COLOR turns them off, FORCE_COLOR on', () => {
    assert.equal(colorsWanted({ isTTY: true }, {}), true);
    assert.equal(colorsWanted({ isTTY: false }, {}), false);
    assert.equal(colorsWanted({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorsWanted({ isTTY: false }, { FORCE_COLOR: '1' }), true);
    assert.equal(colorsWanted({ isTTY: true }, { FORCE_COLOR: '0' }), false);
    assert.equal(colorsWanted({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }), false);
  });
});
