import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Backend, TransportFault } from '../../../src/backends/ports.js';
import { createRedisBackend } from '../../../src/backends/redis/index.js';
import type { RedisBackend } from '../../../src/backends/redis/redis-backend.js';
import type { RedisBackendOption } from '../../../src/backends/redis/options.js';
import { createRuntime } from '../../../src/context/runtime.js';
import { BackpressureError, ValidationError } from '../../../src/errors/errors.js';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server.js';
import { bytes, captureLogger, startBackend, text, uniqueNamespace, waitFor } from './support.js';

const MiB = 1024 * 1024;

/** A backend not started yet, with the payload size its runtime would announce. */
async function createBackend(
  option: RedisBackendOption,
  nodeId: string,
  maxPayloadBytes?: number,
): Promise<Backend> {
  const backend = await createRedisBackend(option, { nodeId, logger: captureLogger().logger });
  if (maxPayloadBytes !== undefined) backend.transport.setMaxPayloadBytes(maxPayloadBytes);
  return backend;
}

const rssMiB = (): number => Math.round(process.memoryUsage().rss / MiB);

describe('Redis flow control while Redis is frozen (SIGSTOP)', () => {
  let server: RedisServer;
  let a: Backend;
  let b: Backend;
  const BUDGET = 2 * MiB;

  before(async () => {
    server = await startRedisServer();
    const option = {
      redis: server.url,
      namespace: uniqueNamespace('flow-freeze'),
      // Longer than the freeze: every PUBLISH written before it is answered after the thaw.
      operationTimeout: 15_000,
      maxPendingBytes: BUDGET,
    };
    a = await startBackend(option, 'flow-freeze-a');
    b = await startBackend(option, 'flow-freeze-b');
  });
  after(async () => {
    server.resume();
    await Promise.allSettled([a?.close(), b?.close()]);
    await server.stop();
  });

  it('holds at most maxPendingBytes, refuses the rest with BackpressureError, and never delivers a refused publish', async (t) => {
    const received = new Set<number>();
    let ended = false;
    await b.transport.subscribe('t.flood', (p) => {
      const body = text(p);
      if (body === 'end') ended = true;
      else received.add(Number(body.slice(0, body.indexOf(':'))));
    });
    const filler = 'x'.repeat(1000);
    const resolved = new Set<number>();
    const refused = new Set<number>();
    const otherwise: unknown[] = [];
    const settled: Array<Promise<void>> = [];
    let maxHeld = 0;
    const rssBefore = rssMiB();

    server.pause();
    // About 10 000 un-awaited 1 KB publishes per second for 3 s, as in the issue.
    const stopAt = Date.now() + 3000;
    let seq = 0;
    while (Date.now() < stopAt) {
      for (let i = 0; i < 10; i++) {
        const n = seq++;
        settled.push(
          a.transport.publish('t.flood', bytes(`${n}:${filler}`)).then(
            () => void resolved.add(n),
            (error: unknown) => {
              if (error instanceof BackpressureError) refused.add(n);
              else otherwise.push(error);
            },
          ),
        );
      }
      maxHeld = Math.max(maxHeld, (a as RedisBackend).pendingBytes);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const rssFrozen = rssMiB();
    const heldFrozen = (a as RedisBackend).pendingBytes;
    server.resume();

    await Promise.all(settled);
    await a.transport.publish('t.flood', bytes('end'));
    // Pub/sub keeps one sender's order: once 'end' arrived, everything before it has.
    await waitFor(() => ended, 10_000, 'the end marker');
    t.diagnostic(
      `publishes ${seq}, refused ${refused.size}, delivered ${received.size}; ` +
        `held at most ${maxHeld} bytes (budget ${BUDGET}), ${heldFrozen} at the thaw; ` +
        `RSS ${rssBefore} MiB before, ${rssFrozen} MiB after 3 s frozen`,
    );

    assert.ok(maxHeld <= BUDGET, `held ${maxHeld} bytes`);
    assert.ok(refused.size > 0, 'publishes past the budget are refused');
    assert.deepEqual(otherwise, [], 'only BackpressureError, nothing timed out');
    for (const n of received) assert.ok(!refused.has(n), `refused publish ${n} was delivered`);
    assert.equal(received.size, resolved.size, 'every accepted publish is delivered');
    assert.equal((a as RedisBackend).pendingBytes, 0);
  });
});

describe('Redis flow control: a connection lost with PUBLISHes unanswered', () => {
  let server: RedisServer;
  let a: Backend;

  before(async () => {
    server = await startRedisServer();
    a = await createBackend(
      {
        redis: server.url,
        namespace: uniqueNamespace('flow-drop'),
        maxPendingBytes: 64 * 1024 + 2048,
      },
      'flow-drop-a',
      64 * 1024,
    );
    await a.start();
  });
  after(async () => {
    server.resume();
    await a?.close();
    await server.stop();
  });

  it('releases their bytes: ioredis never answers them, nothing stays held', async () => {
    server.pause();
    const outcomes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 200; i++)
      outcomes.push(
        a.transport.publish('t.drop', bytes('x'.repeat(1000))).catch((e: unknown) => e),
      );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok((a as RedisBackend).pendingBytes > 60_000, 'the budget is full');
    // The network drops the command connection while Redis is frozen.
    (a as unknown as { commands: { stream: { destroy(): void } } }).commands.stream.destroy();
    await Promise.all(outcomes);
    await waitFor(() => (a as RedisBackend).pendingBytes === 0, 2000, 'the bytes to be released');
    server.resume();
    await waitFor(() => a.status === 'ready', 5000, 'reconnect');
    await a.transport.publish('t.drop', bytes('after'));
  });
});

describe('Redis flow control: the pub/sub output buffer limit', () => {
  let server: RedisServer;
  let probe: Redis;
  const LIMIT = 256 * 1024;

  before(async () => {
    server = await startRedisServer([
      '--client-output-buffer-limit',
      'pubsub',
      String(LIMIT),
      String(LIMIT / 2),
      '60',
    ]);
    probe = new Redis(server.url);
  });
  after(async () => {
    probe?.disconnect();
    await server.stop();
  });

  it('refuses to start when maxPayloadBytes does not fit the pub/sub limit, and starts when it does', async () => {
    const namespace = uniqueNamespace('flow-limit');
    const tooBig = await createBackend({ redis: server.url, namespace }, 'limit-big', 1 * MiB);
    await assert.rejects(tooBig.start(), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.details['field'], 'maxPayloadBytes');
      assert.equal(error.details['pubsubHardLimit'], LIMIT);
      return true;
    });
    await tooBig.close();
    // The runtime announces its own maxPayloadBytes (default 1 MiB) to its backend.
    const runtimeBackend = await createBackend({ redis: server.url, namespace }, 'limit-runtime');
    const runtime = createRuntime({ backend: runtimeBackend, logger: captureLogger().logger });
    await assert.rejects(runtime.start(), ValidationError);
    await runtime.close();

    const fits = await createBackend({ redis: server.url, namespace }, 'limit-fits', 64 * 1024);
    await fits.start();
    await fits.close();
  });

  it('reports a subscriber cut for its output buffer as a fault, and receives again after the reconnect', async () => {
    const namespace = uniqueNamespace('flow-cut');
    const option = { redis: server.url, namespace };
    const a = await createBackend(option, 'cut-a', 64 * 1024);
    const b = await createBackend(option, 'cut-b', 64 * 1024);
    await Promise.all([a.start(), b.start()]);
    try {
      const faults: TransportFault[] = [];
      b.transport.onFault((fault) => faults.push(fault));
      let got = 0;
      await b.transport.subscribe('t.cut', () => void got++);
      // 1.6 MB to one subscriber inside one script: Redis cannot write any of it out before
      // the script ends, so the subscriber's output buffer passes the 256 KB hard limit.
      await probe.eval(
        "for i = 1, tonumber(ARGV[2]) do redis.call('PUBLISH', KEYS[1], ARGV[1]) end return 1",
        1,
        `{${namespace}}:t:t.cut`,
        'x'.repeat(16 * 1024),
        '100',
      );
      await waitFor(() => faults.length > 0, 5000, 'the cut to be reported');
      assert.equal(faults[0]!.kind, 'receiver-cut');
      assert.equal(b.transport.stats().receiverCuts, 1);
      assert.equal(a.transport.stats().receiverCuts, 0);
      await waitFor(
        async () => {
          await a.transport.publish('t.cut', bytes('again'));
          return got > 0;
        },
        5000,
        'delivery after the reconnect',
      );
    } finally {
      await Promise.allSettled([a.close(), b.close()]);
    }
  });

  it('turns a cut subscriber (CLIENT KILL) into a backend.error event and a log line', async () => {
    const namespace = uniqueNamespace('flow-kill');
    const backend = await createBackend({ redis: server.url, namespace }, 'kill-a');
    const captured = captureLogger();
    const runtime = createRuntime({
      backend,
      logger: captured.logger,
      limits: { maxPayloadBytes: 64 * 1024 },
    });
    await runtime.start();
    try {
      const scoped = runtime.createContext({
        name: 'watcher',
        version: '1.0.0',
        permissions: undefined,
        options: {},
      });
      const events: unknown[] = [];
      scoped.context.eventBus.subscribe('backend.error', (data: unknown) => void events.push(data));
      // Only the subscriber connection: Redis itself stays up.
      await probe.client('KILL', 'TYPE', 'PUBSUB');
      await waitFor(() => events.length > 0, 5000, 'the backend.error event');
      assert.equal((events[0] as TransportFault).kind, 'receiver-cut');
      assert.equal((events[0] as { nodeId: string }).nodeId, 'kill-a');
      assert.ok(
        captured.lines.some((line) => line.level === 40 && line['kind'] === 'receiver-cut'),
        'a warning is logged',
      );
      assert.equal(backend.transport.stats().receiverCuts, 1);
    } finally {
      await runtime.close();
    }
  });
});

describe('Redis flow control when CONFIG is refused', () => {
  let server: RedisServer;

  before(async () => {
    server = await startRedisServer(['--rename-command', 'CONFIG', '']);
  });
  after(() => server.stop());

  it("assumes Redis's default 32 MB pub/sub limit", async () => {
    const namespace = uniqueNamespace('flow-noconfig');
    const big = await createBackend(
      { redis: server.url, namespace, maxPendingBytes: 64 * MiB },
      'noconfig-big',
      40 * MiB,
    );
    await assert.rejects(big.start(), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.details['pubsubHardLimit'], 32 * MiB);
      return true;
    });
    await big.close();
    const fits = await createBackend({ redis: server.url, namespace }, 'noconfig-fits', 1 * MiB);
    await fits.start();
    await fits.close();
  });
});
