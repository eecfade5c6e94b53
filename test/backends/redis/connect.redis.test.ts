import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createRedisBackend } from '../../../src/backends/redis/index.js';
import { BackendUnavailableError, ValidationError } from '../../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { captureLogger, uniqueNamespace } from './support.js';

describe('Redis backend start', () => {
  const servers: RedisServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  async function startWith(args: string[]): Promise<{ warnings: string[]; server: RedisServer }> {
    const server = await startRedisServer(args);
    servers.push(server);
    const log = captureLogger();
    const backend = await createRedisBackend(
      { redis: server.url, namespace: uniqueNamespace('start') },
      { nodeId: 'n1', logger: log.logger },
    );
    await backend.start();
    await backend.close();
    return { server, warnings: log.lines.filter((l) => l.level === 40).map((l) => l.msg) };
  }

  it('warns when maxmemory-policy is not noeviction', async () => {
    const { warnings } = await startWith(['--maxmemory-policy', 'allkeys-lru']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /allkeys-lru.*noeviction/);
  });

  it('stays quiet with noeviction, and tolerates a server that refuses CONFIG', async () => {
    assert.deepEqual((await startWith([])).warnings, []);
    assert.deepEqual((await startWith(['--rename-command', 'CONFIG', ''])).warnings, []);
  });

  it('rejects start with BackendUnavailableError by operationTimeout when Redis is unreachable or frozen', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const { port } = server;
    await server.kill();
    const down = await createRedisBackend(
      { redis: `redis://127.0.0.1:${port}`, operationTimeout: 500 },
      { nodeId: 'n2', logger: captureLogger().logger },
    );
    let started = Date.now();
    await assert.rejects(down.start(), BackendUnavailableError);
    assert.ok(Date.now() - started <= 800, `took ${Date.now() - started} ms`);
    assert.equal(down.status, 'closed');

    await server.restart();
    server.pause();
    const frozen = await createRedisBackend(
      { redis: server.url, operationTimeout: 500 },
      { nodeId: 'n3', logger: captureLogger().logger },
    );
    started = Date.now();
    await assert.rejects(frozen.start(), BackendUnavailableError);
    assert.ok(Date.now() - started <= 800 + 1000, `took ${Date.now() - started} ms`);
    server.resume();
  });

  it('validates options and node ids', async () => {
    const logger = captureLogger().logger;
    await assert.rejects(
      createRedisBackend({ redis: 'redis://x', namespace: 'a{b}' }, { nodeId: 'n', logger }),
      ValidationError,
    );
    await assert.rejects(
      createRedisBackend({ redis: 'redis://x', operationTimeout: 0 }, { nodeId: 'n', logger }),
      ValidationError,
    );
    await assert.rejects(
      createRedisBackend({ redis: 'redis://x' }, { nodeId: 'x'.repeat(256), logger }),
      ValidationError,
    );
  });
});
