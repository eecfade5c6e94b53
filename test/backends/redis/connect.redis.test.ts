import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
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

  it('rejects start by operationTimeout when Redis connects but never answers CONFIG', async () => {
    const silent = await silentConfigServer();
    try {
      const backend = await createRedisBackend(
        { redis: silent.url, operationTimeout: 500 },
        { nodeId: 'n4', logger: captureLogger().logger },
      );
      const started = Date.now();
      await assert.rejects(
        Promise.race([
          backend.start(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('start() still pending after 5 s')), 5000).unref(),
          ),
        ]),
        BackendUnavailableError,
      );
      assert.ok(silent.configSeen(), 'the server was asked CONFIG');
      assert.ok(Date.now() - started <= 500 + 1000, `took ${Date.now() - started} ms`);
      assert.equal(backend.status, 'closed');
      process.stdout.write(
        `# start rejected ${Date.now() - started} ms after it began (operationTimeout 500)\n`,
      );
    } finally {
      await silent.close();
    }
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

/**
 * A server speaking just enough RESP for ioredis to connect (CLIENT, INFO, SELECT, PING, QUIT)
 * that never answers CONFIG.
 */
async function silentConfigServer(): Promise<{
  url: string;
  configSeen(): boolean;
  close(): Promise<void>;
}> {
  let config = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const parsed = parseCommand(buffered);
        if (parsed === undefined) return;
        buffered = buffered.slice(parsed.length);
        const name = parsed.args[0]?.toUpperCase();
        if (name === 'CONFIG') config = true;
        else if (name === 'INFO')
          socket.write(bulk('# Server\r\nredis_version:7.0.0\r\nloading:0\r\n'));
        else if (name === 'PING') socket.write('+PONG\r\n');
        else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    configSeen: () => config,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

/** One RESP array of bulk strings from the start of `data`, or undefined when incomplete. */
function parseCommand(data: string): { args: string[]; length: number } | undefined {
  if (!data.startsWith('*')) return undefined;
  let at = data.indexOf('\r\n');
  if (at < 0) return undefined;
  const count = Number(data.slice(1, at));
  at += 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const end = data.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const size = Number(data.slice(at + 1, end));
    if (data.length < end + 2 + size + 2) return undefined;
    args.push(data.slice(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  return { args, length: at };
}
