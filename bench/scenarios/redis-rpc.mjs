// Scenario: RPC between two processes over Redis (calls/s at 1 and 100 in flight, latency at 1).
// This child is the caller; the provider (or echo) runs in a peer process (see lib/remote.mjs).
import { Buffer } from 'node:buffer';
import { plugboardRedis, startPlugboard } from '../lib/plugboard.mjs';
import {
  bounded,
  deleteNamespaceKeys,
  NATS_URL,
  inFlightLoop,
  REDIS_URL,
  redisScenarioAvailable,
  sleep,
  startPeer,
  uniqueNamespace,
  withTimeout,
} from '../lib/remote.mjs';

const NAME = 'redis-rpc';
const HIGH = 100;

/** Caller-side count of calls and the sum of their results (each call returns 2 + 3). */
const tally = () => ({ calls: 0, sum: 0 });

/**
 * Shared run shape. `call()` makes one call and resolves with its result; `remoteCount()` asks
 * the peer how many calls its handler ran. At 1 in flight, `batch(n)` awaits n calls one by
 * one; at `HIGH`, a pump keeps `HIGH` calls out at all times.
 */
function runShape({ call, expect, inFlight, remoteCount, close }) {
  const t = tally();
  const one = () =>
    call().then((r) => {
      t.calls++;
      t.sum += r;
    });
  const loop = inFlightLoop(one, inFlight);
  return {
    batch: loop.batch,
    once: loop.once,
    verify: async (ops) => {
      await loop.stop();
      const done = t.calls;
      if (!loop.countOk(done, ops)) return `caller completed ${done} calls, harness counted ${ops}`;
      if (t.sum !== expect * done) return `results sum ${t.sum}, expected ${expect} × ${done}`;
      const remote = await remoteCount();
      return remote === done ? null : `provider ran ${remote} calls, caller completed ${done}`;
    },
    close,
  };
}

// ---------------------------------------------------------------- Plugboard

/** The `clusterSecret` of the "with a cluster secret" variants (every frame sealed and checked). */
const SECRET = 'bench cluster secret, at least 32 bytes long';

async function plugboard(inFlight, sealed = false) {
  const namespace = uniqueNamespace();
  const backend = { redis: REDIS_URL, namespace, ...(sealed ? { clusterSecret: SECRET } : {}) };
  const [provider, pb] = await Promise.all([
    startPeer(NAME, 'pb-provider', { namespace, nodeId: `${namespace}-provider`, sealed }),
    startPlugboard(['caller'], { nodeId: `${namespace}-caller`, backend, parity: false }),
  ]);
  const rpc = pb.ctx.caller.rpcClient;
  // The caller learns of the provider through its registry watch: wait (bounded) until it does.
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await rpc.call('calculator', 'ready', []);
      break;
    } catch (error) {
      if (Date.now() > end) throw error;
      await sleep(10);
    }
  }
  const params = [2, 3];
  return runShape({
    call: () => rpc.call('calculator', 'add', params),
    expect: 5,
    inFlight,
    remoteCount: () => provider.call('runs'),
    close: async () => {
      await provider.stop();
      await bounded(pb.close(), 'caller host stop');
      await bounded(deleteNamespaceKeys(namespace), 'key cleanup');
    },
  });
}

async function plugboardProvider({ namespace, nodeId, sealed }) {
  const pb = await startPlugboard(['provider'], {
    nodeId,
    backend: { redis: REDIS_URL, namespace, ...(sealed ? { clusterSecret: SECRET } : {}) },
    parity: false,
  });
  let runs = 0;
  const registration = pb.ctx.provider.rpcServer.register('calculator', {
    add: (a, b) => (runs++, a + b),
    ready: () => true,
  });
  await withTimeout(registration.ready, 10_000, 'provider registration');
  return {
    runs: () => runs,
    stop: () => withTimeout(pb.close(), 5000, 'provider host stop'),
  };
}

// ---------------------------------------------------------------- Moleculer

async function moleculerBroker(options) {
  const { ServiceBroker } = await import('moleculer');
  return new ServiceBroker({ logger: false, ...options });
}

async function moleculer(transporter, inFlight) {
  const namespace = uniqueNamespace();
  const [provider, broker] = await Promise.all([
    startPeer(NAME, 'mol-provider', { namespace, transporter }),
    moleculerBroker({ namespace, nodeID: `${namespace}-caller`, transporter }),
  ]);
  await withTimeout(broker.start(), 10_000, 'broker start');
  await broker.waitForServices('calculator', 10_000, 10);
  const params = { a: 2, b: 3 };
  return runShape({
    call: () => broker.call('calculator.add', params),
    expect: 5,
    inFlight,
    remoteCount: () => provider.call('runs'),
    close: async () => {
      await provider.stop();
      await bounded(broker.stop(), 'broker stop');
    },
  });
}

async function moleculerProvider({ namespace, transporter }) {
  const broker = await moleculerBroker({ namespace, nodeID: `${namespace}-provider`, transporter });
  let runs = 0;
  broker.createService({
    name: 'calculator',
    actions: { add: (ctx) => (runs++, ctx.params.a + ctx.params.b) },
  });
  await withTimeout(broker.start(), 10_000, 'broker start');
  return { runs: () => runs, stop: () => withTimeout(broker.stop(), 5000, 'broker stop') };
}

// ---------------------------------------------------------------- floors: raw ioredis

async function redisClient(options = {}) {
  const Redis = await plugboardRedis();
  const client = new Redis(REDIS_URL, { lazyConnect: true, ...options });
  await withTimeout(client.connect(), 5000, 'redis connect');
  return client;
}

/** `PING` round trips on one connection (auto-pipelined when many are in flight). */
async function ping(inFlight) {
  const redis = await redisClient({ enableAutoPipelining: inFlight > 1 });
  let pongs = 0;
  const call = () => redis.ping().then((r) => (r === 'PONG' ? (pongs++, 1) : 0));
  return runShape({
    call,
    expect: 1,
    inFlight,
    remoteCount: async () => pongs,
    close: async () => redis.disconnect(),
  });
}

/**
 * Raw pub/sub ping-pong: PUBLISH a 4-byte id to the echo process's channel; it PUBLISHes it back
 * to ours. One PUBLISH per message each way (no coalescing), auto-pipelined at 100 in flight.
 * The same two Redis hops, each waking another process, as any request/reply over pub/sub.
 */
async function pubsub(inFlight) {
  const namespace = uniqueNamespace();
  const ping = `${namespace}:ping`;
  const pong = `${namespace}:pong`;
  const [echo, pub, sub] = await Promise.all([
    startPeer(NAME, 'echo', { from: ping, to: pong, pipeline: inFlight > 1 }),
    redisClient({ enableAutoPipelining: inFlight > 1 }),
    redisClient(),
  ]);
  const pending = new Map();
  let next = 0;
  sub.on('messageBuffer', (_channel, message) => {
    const id = message.readUInt32LE(0);
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.(1);
  });
  await sub.subscribe(pong);
  const call = () =>
    new Promise((resolve) => {
      const id = (next = (next + 1) >>> 0);
      pending.set(id, resolve);
      const message = Buffer.allocUnsafe(4);
      message.writeUInt32LE(id, 0);
      pub.publish(ping, message);
    });
  return runShape({
    call,
    expect: 1,
    inFlight,
    remoteCount: () => echo.call('echoed'),
    close: async () => {
      await echo.stop();
      pub.disconnect();
      sub.disconnect();
    },
  });
}

async function echoPeer({ from, to, pipeline }) {
  const [pub, sub] = await Promise.all([
    redisClient({ enableAutoPipelining: pipeline }),
    redisClient(),
  ]);
  let echoed = 0;
  sub.on('messageBuffer', (_channel, message) => {
    echoed++;
    pub.publish(to, message);
  });
  await sub.subscribe(from);
  return {
    echoed: () => echoed,
    stop: async () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

export default {
  name: NAME,
  title: 'Redis RPC between two processes (calls/s at 1 and 100 in flight, latency)',
  latency: true,
  // ~2.5 s of calls before the latency sample: two fresh processes otherwise measure V8 still
  // compiling in the background (and the p50 then depends on which vCPU each process woke on).
  settings: { warmupMs: 2500 },
  notes: `Two processes on the shared local Redis (NATS for the NATS anchor): this child is the caller,
a forked peer process is the provider; both are fresh for every run, with a namespace no other
run shares. At 1 in flight each call is awaited before the next (p50/p99 from per-call
\`hrtime\` after the window); at 100 in flight a pump keeps 100 calls outstanding at all times
(a new call starts as each one completes, the window never drains between batches) and ops/s is
the completion rate. Each run checks that the caller got every result (sum = 5 × calls) and
that the provider's handler ran exactly once per completed call.

Per call:
- **Plugboard**: \`await rpcClient.call('calculator', 'add', [2, 3])\` from a \`caller\` host to a
  \`provider\` host (\`backend: { redis, namespace }\`), default 10 s deadline. The request frame
  is PUBLISHed to the provider's inbox channel, the reply frame back to the caller's inbox:
  two pub/sub hops. Frames to one channel within a tick leave as one PUBLISH (so at 100 in
  flight many calls share a PUBLISH), and ioredis auto-pipelines.
- **Plugboard, with a cluster secret**: the same with \`clusterSecret\` on both hosts: each
  request and reply PUBLISH is sealed (HMAC-SHA256) and checked on receipt.
- **Moleculer 0.15, Redis transporter**: \`await broker.call('calculator.add', { a: 2, b: 3 })\`
  between two brokers (\`transporter: 'redis://127.0.0.1:6379'\`, JSON serializer, default
  \`requestTimeout\` 0 = no timer). Also two pub/sub hops, one PUBLISH per packet.
- **Moleculer 0.15, NATS transporter**: the same against the local NATS server.
- **raw ioredis \`PING\`**: one round trip to Redis, nothing else (auto-pipelined at 100 in
  flight): the physical floor of anything that talks to Redis.
- **raw ioredis pub/sub ping-pong**: PUBLISH a 4-byte id to a channel the echo process
  subscribes to; it PUBLISHes it back. The honest floor for request/reply over pub/sub: two
  Redis hops, each waking another process, and no framing, codec, deadline or registry at all.

The p50 comparisons are ratios of p50 latencies (lower is better for ours), paired per round.
On this VM latencies at 1 in flight depend on how idle the CPUs are: a process woken from an
idle CPU pays a wake-up of tens of µs, so raw \`PING\` p50 is ~70 µs on a quiet machine and
~11 µs when other work keeps both CPUs busy. Compare latencies within a round, and check the
load average of the run.`,
  available: redisScenarioAvailable,
  peers: {
    'pb-provider': plugboardProvider,
    'mol-provider': moleculerProvider,
    echo: echoPeer,
  },
  variants: [
    { id: 'ours-1', side: 'ours', label: 'Plugboard, 1 in flight', setup: () => plugboard(1) },
    {
      id: 'ours-100',
      side: 'ours',
      label: 'Plugboard, 100 in flight',
      setup: () => plugboard(HIGH),
    },
    {
      id: 'ours-1-secret',
      side: 'ours',
      label: 'Plugboard, 1 in flight, with a cluster secret',
      setup: () => plugboard(1, true),
    },
    {
      id: 'ours-100-secret',
      side: 'ours',
      label: 'Plugboard, 100 in flight, with a cluster secret',
      setup: () => plugboard(HIGH, true),
    },
    {
      id: 'mol-redis-1',
      side: 'anchor',
      label: 'Moleculer 0.15 Redis, 1 in flight',
      setup: () => moleculer(REDIS_URL, 1),
    },
    {
      id: 'mol-redis-100',
      side: 'anchor',
      label: 'Moleculer 0.15 Redis, 100 in flight',
      setup: () => moleculer(REDIS_URL, HIGH),
    },
    {
      id: 'mol-nats-1',
      side: 'anchor',
      label: 'Moleculer 0.15 NATS, 1 in flight',
      setup: () => moleculer(NATS_URL, 1),
    },
    {
      id: 'mol-nats-100',
      side: 'anchor',
      label: 'Moleculer 0.15 NATS, 100 in flight',
      setup: () => moleculer(NATS_URL, HIGH),
    },
    { id: 'ping-1', side: 'anchor', label: 'raw ioredis PING, 1 in flight', setup: () => ping(1) },
    {
      id: 'ping-100',
      side: 'anchor',
      label: 'raw ioredis PING, 100 in flight',
      setup: () => ping(HIGH),
    },
    {
      id: 'pubsub-1',
      side: 'anchor',
      label: 'raw ioredis pub/sub ping-pong, 1 in flight',
      setup: () => pubsub(1),
    },
    {
      id: 'pubsub-100',
      side: 'anchor',
      label: 'raw ioredis pub/sub ping-pong, 100 in flight',
      setup: () => pubsub(HIGH),
    },
  ],
  comparisons: [
    {
      label: 'with ÷ without a cluster secret, calls/s at 100 in flight',
      a: 'ours-100-secret',
      b: 'ours-100',
    },
    {
      label: 'with ÷ without a cluster secret, p50 at 1 in flight (lower is better)',
      a: 'ours-1-secret',
      b: 'ours-1',
      metric: 'p50',
    },
    {
      label: 'ours ÷ Moleculer Redis, calls/s at 100 in flight',
      a: 'ours-100',
      b: 'mol-redis-100',
      target: { op: '>=', value: 2 },
    },
    {
      label: 'ours ÷ Moleculer Redis, p50 at 1 in flight (lower is better)',
      a: 'ours-1',
      b: 'mol-redis-1',
      metric: 'p50',
      target: { op: '<=', value: 1 },
    },
    {
      label: 'ours ÷ raw PING, p50 at 1 in flight (lower is better)',
      a: 'ours-1',
      b: 'ping-1',
      metric: 'p50',
      target: { op: '<=', value: 2 },
    },
    {
      label: 'ours ÷ raw pub/sub ping-pong, p50 at 1 in flight (lower is better)',
      a: 'ours-1',
      b: 'pubsub-1',
      metric: 'p50',
    },
    { label: 'ours ÷ Moleculer Redis, calls/s at 1 in flight', a: 'ours-1', b: 'mol-redis-1' },
    { label: 'ours ÷ Moleculer NATS, calls/s at 100 in flight', a: 'ours-100', b: 'mol-nats-100' },
    { label: 'ours ÷ Moleculer NATS, calls/s at 1 in flight', a: 'ours-1', b: 'mol-nats-1' },
    {
      label: 'ours ÷ Moleculer NATS, p50 at 1 in flight (lower is better)',
      a: 'ours-1',
      b: 'mol-nats-1',
      metric: 'p50',
    },
    { label: 'ours ÷ raw PING, ops/s at 100 in flight', a: 'ours-100', b: 'ping-100' },
    {
      label: 'ours ÷ raw pub/sub ping-pong, calls/s at 100 in flight',
      a: 'ours-100',
      b: 'pubsub-100',
    },
  ],
};
