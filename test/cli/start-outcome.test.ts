// Library side of the CLI's start reporting: strictStart, the partial-start warning, Redis
// addresses and the root cause of a Redis start failure, as `createHost` users meet them.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino, type Logger } from 'pino';
import { redisAddress, resolveSettings } from '../../src/backends/redis/options.js';
import {
  createHost,
  definePlugin,
  isPlugboardError,
  plugboardLogSerializers,
  PluginStartError,
} from '../../src/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function captured(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug', serializers: plugboardLogSerializers },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

const ok = definePlugin({ name: 'ok-plugin', version: '1.0.0', activate() {} });
const broken = definePlugin({
  name: 'broken-plugin',
  version: '1.0.0',
  activate() {
    throw new Error('no database');
  },
});
const dependent = definePlugin({
  name: 'after-plugin',
  version: '1.0.0',
  dependencies: { 'broken-plugin': '*' },
  activate() {},
});

void describe('start outcome', () => {
  void it('without strictStart, a partial start resolves ok: false and warns once, naming every plugin left out', async () => {
    const { logger, lines } = captured();
    const host = await createHost({ plugins: [ok, broken, dependent], logger });
    const result = await host.start();
    await host.stop();
    assert.equal(result.ok, false);
    assert.deepEqual(result.failed, ['broken-plugin']);
    assert.deepEqual(result.skipped, ['after-plugin']);
    const started = lines.filter((l) => String(l['msg']).startsWith('Host started'));
    assert.equal(started.length, 1);
    assert.equal(started[0]!['level'], 40);
    assert.match(
      String(started[0]!['msg']),
      /1 of 3 plugins: "broken-plugin" failed \(no database\); "after-plugin" not started \(depends on "broken-plugin", which failed\)\. .*strictStart/,
    );
    assert.deepEqual(started[0]!['failed'], ['broken-plugin']);
    assert.deepEqual(started[0]!['skipped'], ['after-plugin']);
  });

  void it('strictStart: start() rejects with PluginStartError naming the failed and skipped plugins, and stops the host', async () => {
    const { logger } = captured();
    const host = await createHost({ plugins: [ok, broken, dependent], logger, strictStart: true });
    const error: unknown = await host.start().then(
      () => assert.fail('start() should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PluginStartError);
    assert.equal(error.code, 'PB_PLUGIN_START');
    assert.match(
      error.message,
      /2 of 3 plugins did not start \(strictStart\): "broken-plugin" failed \(no database\)/,
    );
    assert.deepEqual(error.details['failed'], ['broken-plugin']);
    assert.deepEqual(error.details['skipped'], ['after-plugin']);
    assert.deepEqual(error.details['errors'], { 'broken-plugin': 'no database' });
    assert.equal(host.health().plugins['ok-plugin']?.state, 'stopped');
    await host.stop();
  });

  void it('strictStart with every plugin active resolves as usual; a non-boolean is refused', async () => {
    const host = await createHost({ plugins: [ok], logger: false, strictStart: true });
    assert.equal((await host.start()).ok, true);
    await host.stop();
    await assert.rejects(
      createHost({ logger: false, strictStart: 'yes' as unknown as boolean }),
      (e: unknown) => isPlugboardError(e) && e.details['field'] === 'strictStart',
    );
  });

  void it('a logged Plugboard error does not repeat its cause inside its message, even on a plain pino logger', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const host = await createHost({ plugins: [broken], logger });
    await host.start();
    await host.stop();
    const failed = lines.find((l) => l['plugin'] === 'broken-plugin' && l['level'] === 50);
    const err = failed?.['err'] as { message: string; cause?: { message: string } };
    assert.equal(err.message, 'Plugin "broken-plugin" failed to activate: no database');
    assert.equal(err.cause?.message, 'no database');
  });
});

void describe('Redis addresses', () => {
  void it('accepts redis:, rediss: and Unix socket forms; socket URLs become paths', () => {
    assert.equal(redisAddress('redis://127.0.0.1:6379/2'), 'redis://127.0.0.1:6379/2');
    assert.equal(
      redisAddress('rediss://user:pw@example.com:6380'),
      'rediss://user:pw@example.com:6380',
    );
    assert.equal(redisAddress('redis+unix:///run/redis.sock?db=2'), '/run/redis.sock?db=2');
    assert.equal(redisAddress('unix:///run/redis.sock'), '/run/redis.sock');
    assert.equal(redisAddress('/run/redis.sock'), '/run/redis.sock');
    assert.equal(resolveSettings({ redis: 'redis+unix:///x.sock' }).url, '/x.sock');
  });

  void it('refuses what is not a Redis URL with a ValidationError naming the field (password hidden)', () => {
    for (const url of [
      'http://x',
      'localhost:6379',
      'redis://',
      'redis+unix://host/x.sock',
      '',
      'https://u:secret@h',
    ]) {
      assert.throws(
        () => resolveSettings({ redis: url }),
        (e: unknown) =>
          isPlugboardError(e) &&
          e.code === 'PB_VALIDATION' &&
          e.details['field'] === 'redis' &&
          /redis:\/\/host:port/.test(e.message) &&
          !e.message.includes('secret'),
        url,
      );
    }
  });

  void it('createHost with { redis: "http://x" }: start() rejects with the ValidationError', async () => {
    const host = await createHost({ backend: { redis: 'http://x' }, logger: false });
    await assert.rejects(host.start(), /Redis URL "http:\/\/x" is not a Redis URL/);
    await host.stop();
  });
});

void describe('Redis start failures name the root cause', () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedisServer(['--requirepass', 'sekret']);
  });
  after(() => server.stop());

  async function startError(url: string): Promise<Error> {
    const host = await createHost({
      backend: { redis: url, operationTimeout: 3000 },
      logger: false,
    });
    const error = await host.start().then(
      () => assert.fail(`start() should reject for ${url}`),
      (e: unknown) => e as Error,
    );
    await host.stop();
    assert.ok(isPlugboardError(error) && error.code === 'PB_BACKEND_UNAVAILABLE', String(error));
    assert.doesNotMatch(error.message, /Connection is closed/);
    return error;
  }

  void it('connection refused', async () => {
    const port = await closedPort();
    const error = await startError(`redis://127.0.0.1:${port}`);
    assert.equal(
      error.message,
      `Cannot connect to Redis at redis://127.0.0.1:${port}: connection refused: nothing listens there (ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  void it('host not found', async () => {
    const error = await startError('redis://plugboard-test.invalid:6379');
    assert.match(
      error.message,
      /: host not found \((ENOTFOUND|EAI_AGAIN) plugboard-test\.invalid\)$/,
    );
  });

  void it('no password, wrong password (the password is not shown)', async () => {
    const noAuth = await startError(server.url);
    assert.match(noAuth.message, /: authentication failed \(NOAUTH Authentication required\.\)$/);
    const wrong = await startError(`redis://:wrongpw@127.0.0.1:${server.port}`);
    assert.match(
      wrong.message,
      /at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: authentication failed \(WRONGPASS /,
    );
    assert.doesNotMatch(wrong.message, /wrongpw/);
  });

  void it('the right password connects', async () => {
    const host = await createHost({
      backend: { redis: `redis://:sekret@127.0.0.1:${server.port}` },
      logger: false,
    });
    assert.equal((await host.start()).ok, true);
    await host.stop();
  });
});
