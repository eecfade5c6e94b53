// Helpers for scenarios that span processes (the Redis scenarios): peer processes driven over
// IPC, unique namespaces and their cleanup, and the "keep N in flight" pumps.
//
// A scenario's child process (`bench/scenario.mjs`) is the caller / publisher; it forks its
// peers with `startPeer()` (`bench/peer.mjs <scenario> <role> <json>`), which runs
// `scenario.peers[role](options, link)` there. Every wait is bounded; peers exit when their parent
// goes away (IPC disconnect) and are SIGKILLed when the child exits, so nothing outlives a run.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

const PEER = fileURLToPath(new URL('../peer.mjs', import.meta.url));
/** Prefix of every namespace (and Moleculer namespace / channel prefix) the benches create. */
export const NS_PREFIX = 'pbbench';

/** A namespace no other run (ours or another engineer's) can share: `pbbench-<pid>-<hex>`. */
export const uniqueNamespace = () =>
  `${NS_PREFIX}-${process.pid}-${randomBytes(4).toString('hex')}`;

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait for `promise` at most `ms`; a failure or timeout is written to stderr, not thrown. */
export async function bounded(promise, what, ms = 5000) {
  await withTimeout(promise, ms, what).catch((error) => process.stderr.write(`${error.message}\n`));
}

/** A Redis scenario's `available()`: the reason to skip without Redis, else sweep dead runs. */
export async function redisScenarioAvailable() {
  const reason = await redisUnavailable();
  if (!reason) await sweepDeadNamespaces().catch(() => undefined);
  return reason;
}

/** Poll `check()` every `everyMs` until it is truthy; throws after `ms`. */
export async function waitFor(check, ms, what, everyMs = 10) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(everyMs);
  }
}

const live = new Set();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Fork a peer running `scenario.peers[role](options, link)`. Resolves once it reports ready.
 * `onMessage` gets the peer's unsolicited messages (anything without a reply id).
 */
export async function startPeer(scenario, role, options, { onMessage, startMs = 15_000 } = {}) {
  const child = fork(PEER, [scenario, role, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { PLUGBOARD_LOG_LEVEL: 'warn', ...process.env },
  });
  live.add(child);
  const pending = new Map();
  let seq = 0;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const p of pending.values())
        p.reject(new Error(`peer ${role} exited (${code ?? signal})`));
      pending.clear();
      resolve(code ?? signal);
    });
  });
  const ready = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg?.type === 'ready') return resolve();
      if (msg?.type === 'failed') return reject(new Error(`peer ${role} failed: ${msg.error}`));
      if (msg?.reply !== undefined) {
        const p = pending.get(msg.reply);
        pending.delete(msg.reply);
        if (msg.ok) p?.resolve(msg.value);
        else p?.reject(new Error(`peer ${role}: ${msg.error}`));
        return;
      }
      onMessage?.(msg);
    });
    void exited.then((code) => reject(new Error(`peer ${role} exited (${code}) while starting`)));
  });
  try {
    await withTimeout(ready, startMs, `peer ${role} start`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    /** Run a command in the peer; rejects with its error or after `ms`. */
    call(cmd, args, ms = 10_000) {
      const id = ++seq;
      const answer = new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
      child.send({ id, cmd, args });
      return withTimeout(answer, ms, `peer ${role} ${cmd}`).finally(() => pending.delete(id));
    },
    /** Ask the peer to stop (bounded), then make sure it is gone. */
    async stop(ms = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        await this.call('stop', undefined, ms).catch(() => undefined);
        await withTimeout(exited, ms, `peer ${role} exit`).catch(() => child.kill('SIGKILL'));
      }
      await exited;
    },
  };
}

/** Delete every key matching one of `patterns` (SCAN + DEL, bounded). */
async function deleteMatching(patterns, what) {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await withTimeout(redis.connect(), 3000, `redis connect (${what})`);
    let deleted = 0;
    for (const pattern of patterns) {
      let cursor = '0';
      do {
        const [next, keys] = await withTimeout(
          redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
          3000,
          `redis scan (${what})`,
        );
        cursor = next;
        if (keys.length) deleted += await redis.del(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/**
 * Key cleanup: delete every key of `namespace`. Namespace-wide keys start with `{<namespace>}`,
 * a queue's or lock's keys with `{<namespace>:q:<queue>}` / `{<namespace>:l:<resource>}` (a hash
 * tag each), cache keys with `<namespace>:c:` (no tag: each hashes on its own name). Never
 * FLUSHDB: the server is shared.
 */
export const deleteNamespaceKeys = (namespace) =>
  deleteMatching([`{${namespace}}*`, `{${namespace}:*`, `${namespace}:*`], 'cleanup');

/** A key prefix for another library's keys (`<prefix>:...`), unique like a namespace. */
export const uniquePrefix = (library) => `${uniqueNamespace()}-${library}`;

/** Delete every key under an anchor library's `prefix` (`<prefix>:*`). */
export const deletePrefixKeys = (prefix) => deleteMatching([`${prefix}:*`], 'cleanup');

/**
 * Keys left by crashed runs whose process is gone, found by the pid in their name (the runs
 * happen on this machine, so a live pid means a run may still use them): anchor libraries'
 * `pbbench-<pid>-<hex>-<library>:*`, and our queues' `{pbbench-<pid>-<hex>:q:<queue>}:*` (a
 * namespace's queue keys outlive its node list).
 */
async function sweepDeadPrefixes(redis) {
  const prefixes = new Set();
  const namespaces = new Set();
  for (const pattern of [`${NS_PREFIX}-*`, `{${NS_PREFIX}-*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const ours = key.startsWith('{');
        const name = ours ? key.slice(1).split(/[}:]/)[0] : key.slice(0, key.indexOf(':'));
        const pid = Number(name.split('-')[1]);
        if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
        (ours ? namespaces : prefixes).add(name);
      }
    } while (cursor !== '0');
  }
  for (const prefix of prefixes) await deletePrefixKeys(prefix);
  for (const namespace of namespaces) await deleteNamespaceKeys(namespace);
  return prefixes.size + namespaces.size;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Remove what crashed earlier runs left: namespaces `{pbbench-*}` whose every node's liveness
 * deadline passed more than a minute ago (nobody alive can be using them), and keys of runs
 * whose process is gone (see sweepDeadPrefixes). Safe on a shared server: live namespaces always
 * hold a fresh deadline, live runs a live pid.
 */
export async function sweepDeadNamespaces() {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await withTimeout(redis.connect(), 3000, 'redis connect (sweep)');
    const [sec] = await redis.time();
    const now = Number(sec) * 1000;
    let cursor = '0';
    const dead = [];
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `{${NS_PREFIX}-*}:nodes`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of keys) {
        const top = await redis.zrange(key, -1, -1, 'WITHSCORES');
        if (top.length === 0 || Number(top[1]) < now - 60_000)
          dead.push(key.slice(1, key.indexOf('}')));
      }
    } while (cursor !== '0');
    for (const ns of dead) await deleteNamespaceKeys(ns);
    return dead.length + (await sweepDeadPrefixes(redis));
  } finally {
    redis.disconnect();
  }
}

/** Resolves with a reason string when Redis does not answer a PING within 2 s, else null. */
export async function redisUnavailable() {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await withTimeout(redis.connect(), 2000, 'connect');
    await withTimeout(redis.ping(), 2000, 'PING');
    return null;
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${error.message})`;
  } finally {
    redis.disconnect();
  }
}

/**
 * Keep `inFlight` operations running at all times; `batch(n)` resolves after `n` more have
 * completed. The window never drains between batches (a drain per batch would count ramp-up and
 * tail time against every implementation), so ops/s is the steady-state completion rate.
 * `stop()` stops launching and waits (bounded) for the operations still out.
 */
export function pump(op, inFlight) {
  let done = 0;
  let goal = 0;
  let active = 0;
  let running = false;
  let stopping = false;
  let failure = null;
  let waiter = null;
  let drained = null;
  const settle = () => {
    if (waiter && (failure || done >= goal)) {
      const w = waiter;
      waiter = null;
      if (failure) w.reject(failure);
      else w.resolve();
    }
  };
  const onDone = () => {
    active--;
    done++;
    settle();
    if (!stopping && !failure) launch();
    else if (active === 0) drained?.();
  };
  const onError = (error) => {
    active--;
    failure ??= error;
    settle();
    if (active === 0) drained?.();
  };
  const launch = () => {
    active++;
    let r;
    try {
      r = op();
    } catch (error) {
      onError(error);
      return;
    }
    r.then(onDone, onError);
  };
  return {
    completed: () => done,
    batch(n) {
      goal += n;
      if (failure) return Promise.reject(failure);
      if (!running) {
        running = true;
        for (let i = 0; i < inFlight; i++) launch();
      }
      if (done >= goal) return Promise.resolve();
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    async stop(ms = 10_000) {
      stopping = true;
      if (active === 0) return;
      await withTimeout(new Promise((resolve) => (drained = resolve)), ms, 'drain in-flight ops');
    },
    error: () => failure,
  };
}

/**
 * The timed loop over an async operation `one()`: at 1 in flight `batch(n)` awaits n of them one
 * by one (and `once` is `one`, for the latency sample); above, a {@link pump} keeps `inFlight`
 * out at all times. `stop()` drains the pump; `countOk(done, ops)` checks the operations
 * completed against the harness count (a pump may have completed more).
 */
export function inFlightLoop(one, inFlight) {
  const p = inFlight > 1 ? pump(one, inFlight) : null;
  return {
    batch: p
      ? (n) => p.batch(n)
      : async (n) => {
          for (let i = 0; i < n; i++) await one();
        },
    once: p ? undefined : one,
    stop: async () => {
      if (p) await p.stop();
    },
    countOk: (done, ops) => (p ? done >= ops : done === ops),
  };
}

/**
 * Publisher side of a delivery-counted event run. `publish(seq)` publishes event number `seq`;
 * subscribers report their cumulative delivery counts, fed in with `delivered(sub, count)`.
 * At most `inFlight` publishes are pending at once (each resolves when the implementation says
 * the event was handed off), and the publisher never runs more than `window` events ahead of
 * the deliveries confirmed so far (pub/sub has no backpressure; this keeps Redis buffers and
 * the subscriber's backlog bounded). `batch(n)` resolves once `n` more events were delivered,
 * so ops/s is the delivered rate. `stop()` stops publishing and waits for every event out to
 * be delivered (bounded); `published()` is how many were published.
 */
export function deliveryPump(publish, { inFlight, window }) {
  const counts = new Map();
  let total = 0;
  let seq = 0;
  let pending = 0;
  let goal = 0;
  let stopping = false;
  let failure = null;
  let waiter = null;
  let idle = null;
  const settle = () => {
    if (waiter && (failure || total >= goal)) {
      const w = waiter;
      waiter = null;
      if (failure) w.reject(failure);
      else w.resolve();
    }
    if (idle && pending === 0 && total >= seq) idle();
  };
  const onPublished = () => {
    pending--;
    fill();
    settle();
  };
  const onError = (error) => {
    pending--;
    failure ??= error;
    settle();
  };
  let filling = false;
  const fill = () => {
    if (filling) return;
    filling = true;
    while (!stopping && !failure && pending < inFlight && seq - total < window) {
      pending++;
      let r;
      try {
        r = publish(seq++);
      } catch (error) {
        onError(error);
        break;
      }
      r.then(onPublished, onError);
    }
    filling = false;
  };
  return {
    delivered(sub, count) {
      total += count - (counts.get(sub) ?? 0);
      counts.set(sub, count);
      fill();
      settle();
    },
    batch(n) {
      goal += n;
      if (failure) return Promise.reject(failure);
      fill();
      if (total >= goal) return Promise.resolve();
      return new Promise((resolve, reject) => (waiter = { resolve, reject }));
    },
    async stop(ms = 10_000) {
      stopping = true;
      if (pending === 0 && total >= seq) return;
      await withTimeout(
        new Promise((resolve) => (idle = resolve)),
        ms,
        `delivery of the last events (${total} of ${seq} delivered)`,
      );
    },
    published: () => seq,
    total: () => total,
  };
}
