// Scenario: events across processes over Redis, counted where they are delivered.
// This child is the publisher; the subscribers run in peer processes (see lib/remote.mjs).
import { setImmediate } from 'node:timers';
import { startPlugboard } from '../lib/plugboard.mjs';
import {
  bounded,
  deleteNamespaceKeys,
  deliveryPump,
  REDIS_URL,
  redisScenarioAvailable,
  startPeer,
  uniqueNamespace,
  waitFor,
  withTimeout,
} from '../lib/remote.mjs';

const NAME = 'redis-events';
const EVENT = 'user.created';
const GROUP = 'workers';
const IN_FLIGHT = 100;
const WINDOW = 5000;

/** The `clusterSecret` of the "with a cluster secret" variants (every frame sealed and checked). */
const SECRET = 'bench cluster secret, at least 32 bytes long';

const payload = (seq) => ({ id: 'u-1', n: 1, email: 'ada@example.com', seq });

/**
 * Subscriber-side bookkeeping: how many times each event number arrived (so the publisher can
 * prove exactly-once across a group), and a cumulative count reported to the publisher once per
 * tick (one IPC message per burst of deliveries, not per event). Probes (seq -1) only prove
 * that the subscription is wired up.
 */
function deliveryCounter(link, sub) {
  let seen = new Uint8Array(1 << 16);
  let count = 0;
  let probes = 0;
  let scheduled = false;
  const report = () => {
    scheduled = false;
    link.send({ type: 'delivered', sub, count, probes });
  };
  return {
    onEvent(data) {
      const seq = data.seq;
      if (seq < 0) probes++;
      else {
        if (seq >= seen.length) {
          const grown = new Uint8Array(Math.max(seen.length * 2, seq + 1));
          grown.set(seen);
          seen = grown;
        }
        if (seen[seq] < 255) seen[seq]++;
        count++;
      }
      if (!scheduled) {
        scheduled = true;
        setImmediate(report);
      }
    },
    full: () => ({ count, probes, seen }),
  };
}

/**
 * The publisher side shared by every implementation: start `subs` subscriber peers, send probes
 * until each has one, then run the delivery pump. `verify` checks that every published event
 * was delivered exactly once across the subscribers.
 */
async function publisherRun({ role, subs, peerOptions, start, publish, close }) {
  let pump = null;
  const probes = new Map();
  const onMessage = (msg) => {
    if (msg.type !== 'delivered') return;
    probes.set(msg.sub, msg.probes);
    pump?.delivered(msg.sub, msg.count);
  };
  const [peers, local] = await Promise.all([
    Promise.all(
      Array.from({ length: subs }, (_, sub) =>
        startPeer(NAME, role, { ...peerOptions(sub), sub }, { onMessage }),
      ),
    ),
    start(),
  ]);
  const send = publish(local);
  // The publisher learns of remote subscribers asynchronously (registry watch / discovery):
  // probe until every subscriber has received at least one event.
  await waitFor(
    async () => {
      if (probes.size === subs && [...probes.values()].every((p) => p > 0)) return true;
      await send(-1);
      return false;
    },
    15_000,
    'every subscriber reached',
    20,
  );
  pump = deliveryPump(send, { inFlight: IN_FLIGHT, window: WINDOW });
  return {
    batch: (n) => pump.batch(n),
    verify: async (ops) => {
      let drainError = null;
      await pump.stop(5000).catch((error) => (drainError = error.message));
      const published = pump.published();
      const reports = await Promise.all(peers.map((p) => p.call('report')));
      const times = new Uint8Array(published);
      let beyond = 0;
      for (const r of reports) {
        const seen = r.seen;
        for (let i = 0; i < seen.length; i++) {
          if (i < published) times[i] += seen[i];
          else if (seen[i]) beyond++;
        }
      }
      let missing = 0;
      let duplicated = 0;
      for (const t of times) {
        if (t === 0) missing++;
        else if (t > 1) duplicated++;
      }
      const split = reports.map((r) => r.count).join(' + ');
      if (missing || duplicated || beyond)
        return `${published} published; ${missing} never delivered, ${duplicated} delivered more than once, ${beyond} unknown (per subscriber: ${split})${drainError ? `; ${drainError}` : ''}`;
      if (reports.some((r) => r.count === 0)) return `a subscriber got nothing (${split})`;
      if (pump.total() < ops) return `delivered ${pump.total()} < harness count ${ops}`;
      return null;
    },
    close: async () => {
      await Promise.all(peers.map((p) => p.stop()));
      await close(local);
    },
  };
}

// ---------------------------------------------------------------- Plugboard

async function plugboard(grouped, sealed = false) {
  const namespace = uniqueNamespace();
  const secret = sealed ? { clusterSecret: SECRET } : {};
  return publisherRun({
    role: 'pb-sub',
    subs: grouped ? 2 : 1,
    peerOptions: (sub) => ({ namespace, nodeId: `${namespace}-sub${sub}`, grouped, sealed }),
    start: () =>
      startPlugboard(['producer'], {
        nodeId: `${namespace}-pub`,
        backend: { redis: REDIS_URL, namespace, ...secret },
        parity: false,
      }),
    publish: (pb) => {
      const bus = pb.ctx.producer.eventBus;
      return (seq) => bus.publish(EVENT, payload(seq));
    },
    close: async (pb) => {
      await bounded(pb.close(), 'publisher host stop');
      await bounded(deleteNamespaceKeys(namespace), 'key cleanup');
    },
  });
}

async function plugboardSubscriber({ namespace, nodeId, grouped, sealed, sub }, link) {
  const pb = await startPlugboard(['consumer'], {
    nodeId,
    backend: { redis: REDIS_URL, namespace, ...(sealed ? { clusterSecret: SECRET } : {}) },
    parity: false,
  });
  const counter = deliveryCounter(link, sub);
  pb.ctx.consumer.eventBus.subscribe(
    EVENT,
    (data) => counter.onEvent(data),
    grouped ? { group: GROUP } : undefined,
  );
  return {
    report: () => counter.full(),
    stop: () => withTimeout(pb.close(), 5000, 'subscriber host stop'),
  };
}

// ---------------------------------------------------------------- Moleculer

async function moleculerBroker(options) {
  const { ServiceBroker } = await import('moleculer');
  return new ServiceBroker({ logger: false, transporter: REDIS_URL, ...options });
}

async function moleculer(balanced) {
  const namespace = uniqueNamespace();
  return publisherRun({
    role: 'mol-sub',
    subs: balanced ? 2 : 1,
    peerOptions: (sub) => ({ namespace, nodeID: `${namespace}-sub${sub}` }),
    start: async () => {
      const broker = await moleculerBroker({ namespace, nodeID: `${namespace}-pub` });
      await withTimeout(broker.start(), 10_000, 'broker start');
      await broker.waitForServices('consumer', 10_000, 10);
      return broker;
    },
    publish: (broker) =>
      balanced
        ? (seq) => broker.emit(EVENT, payload(seq))
        : (seq) => broker.broadcast(EVENT, payload(seq)),
    close: (broker) => bounded(broker.stop(), 'broker stop'),
  });
}

async function moleculerSubscriber({ namespace, nodeID, sub }, link) {
  const broker = await moleculerBroker({ namespace, nodeID });
  const counter = deliveryCounter(link, sub);
  broker.createService({
    name: 'consumer',
    events: { [EVENT]: (ctx) => counter.onEvent(ctx.params) },
  });
  await withTimeout(broker.start(), 10_000, 'broker start');
  return {
    report: () => counter.full(),
    stop: () => withTimeout(broker.stop(), 5000, 'broker stop'),
  };
}

export default {
  name: NAME,
  title: 'Redis events between processes (delivered events/s, broadcast and group)',
  notes: `The publisher is this child; subscribers are forked peer processes on the shared local Redis,
all fresh for every run, with a namespace no other run shares. **ops/s = events delivered to the
remote subscriber(s) per second**, counted on the subscriber side: each subscriber reports its
cumulative count to the publisher once per tick of deliveries (IPC), and a batch of n ends
when n more deliveries have been confirmed. The publisher keeps **up to 100 publishes pending**
(a new one starts as each resolves) and never runs more than 5,000 events ahead of the
confirmed deliveries (pub/sub has no backpressure; this bounds Redis buffers and backlogs).
Payload \`{ id, n, email, seq }\`. Each run checks, from per-subscriber counts of every \`seq\`,
that every published event was delivered **exactly once** (across both members for a group)
and that every subscriber got some.

- **Plugboard, broadcast**: \`eventBus.publish('user.created', payload)\` from a \`producer\`
  host; one subscriber host with a plain \`subscribe\`. A publish resolves once its frame's
  PUBLISH is acknowledged by Redis; frames within a tick share one PUBLISH.
- **Plugboard, broadcast, with a cluster secret**: the same with \`clusterSecret\` on every
  host: each PUBLISH is sealed (HMAC-SHA256) and checked on receipt.
- **Plugboard, group**: two subscriber hosts, each \`subscribe(..., { group: '${GROUP}' })\`;
  each event goes to one of them (round-robin across the cluster).
- **Moleculer 0.15 Redis, \`broker.broadcast\`**: one subscriber broker with a \`consumer\` service
  listening to \`user.created\`.
- **Moleculer 0.15 Redis, \`broker.emit\`** (balanced): two subscriber brokers with the same
  \`consumer\` service; each event goes to one of them. Moleculer's Redis transporter resolves a
  publish at once (fire-and-forget PUBLISH), so for it only the 5,000-event window limits the
  publisher.`,
  available: redisScenarioAvailable,
  peers: { 'pb-sub': plugboardSubscriber, 'mol-sub': moleculerSubscriber },
  variants: [
    {
      id: 'ours-broadcast',
      side: 'ours',
      label: 'Plugboard, broadcast, 1 subscriber process',
      setup: () => plugboard(false),
    },
    {
      id: 'ours-broadcast-secret',
      side: 'ours',
      label: 'Plugboard, broadcast, 1 subscriber process, with a cluster secret',
      setup: () => plugboard(false, true),
    },
    {
      id: 'mol-broadcast',
      side: 'anchor',
      label: 'Moleculer 0.15 Redis `broadcast`, 1 subscriber process',
      setup: () => moleculer(false),
    },
    {
      id: 'ours-group',
      side: 'ours',
      label: 'Plugboard, group of 2 subscriber processes',
      setup: () => plugboard(true),
    },
    {
      id: 'mol-emit',
      side: 'anchor',
      label: 'Moleculer 0.15 Redis `emit` (balanced), 2 subscriber processes',
      setup: () => moleculer(true),
    },
  ],
  comparisons: [
    { label: 'ours ÷ Moleculer `broadcast`, broadcast', a: 'ours-broadcast', b: 'mol-broadcast' },
    { label: 'ours ÷ Moleculer `emit`, group of 2', a: 'ours-group', b: 'mol-emit' },
    {
      label: 'with ÷ without a cluster secret, broadcast',
      a: 'ours-broadcast-secret',
      b: 'ours-broadcast',
    },
  ],
};
