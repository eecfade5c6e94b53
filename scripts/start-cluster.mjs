#!/usr/bin/env node
// Runs examples/cluster as three processes on one Redis: two workers (same folder, node ids
// worker-a and worker-b) and a gateway that places orders once both workers provide `billing`.
// Every child's output lines are prefixed with its node id. When the gateway's scenario is over
// the workers are stopped with SIGTERM; the script exits 0 only if every child exited 0.
//
//   node scripts/start-cluster.mjs [--redis <url>] [--kill-one] [--from-source]
//
//   --redis <url>    Redis to use (default: $PLUGBOARD_REDIS or redis://127.0.0.1:6379)
//   --kill-one       SIGKILL worker-b while it packs an order: calls fail over to worker-a, and
//                    the order it held is redelivered to worker-a once its lease lapses (~30 s)
//   --from-source    run src/cli/main.ts through tsx instead of dist/cli/main.js (no build)
//
// Each run uses a fresh namespace on Redis and deletes its keys at the end.
import { spawn } from 'node:child_process';
import console from 'node:console';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKERS = ['worker-a', 'worker-b'];
const GATEWAY = 'gateway';
/** Bounds, ms. */
const STARTUP_BOUND = 30_000;
const STOP_BOUND = 20_000;

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    'kill-one': { type: 'boolean', default: false },
    'from-source': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    'Usage: node scripts/start-cluster.mjs [--redis <url>] [--kill-one] [--from-source]\n' +
      'Runs examples/cluster as three processes (worker-a, worker-b, gateway) on one Redis.',
  );
  process.exit(0);
}

const redisUrl = args.redis ?? process.env['PLUGBOARD_REDIS'] ?? 'redis://127.0.0.1:6379';
const killOne = args['kill-one'];
const namespace = `cluster-demo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const cli = args['from-source']
  ? ['--import', 'tsx', 'src/cli/main.ts']
  : [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))];
const started = performance.now();

/** Lines on our own stdout, prefixed like the children's. */
const say = (line) => console.log(`${'cluster'.padEnd(8)} │ ${line}`);

if (!args['from-source'] && !existsSync(cli[0])) {
  console.error('start-cluster: dist/cli/main.js is missing; run `npm run build` first.');
  process.exit(1);
}

const redis = new Redis(redisUrl, {
  lazyConnect: true,
  connectTimeout: 2000,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
});
/** @type {Error | undefined} the connection's own error (more telling than "Connection is closed") */
let redisError;
redis.on('error', (error) => (redisError ??= error));
try {
  await redis.connect();
  await redis.ping();
} catch (error) {
  const reason = (redisError ?? error) instanceof Error ? (redisError ?? error).message : error;
  console.error(
    `start-cluster: cannot reach Redis at ${redisUrl} (${String(reason)}).\n` +
      'Start one (`redis-server`, or `docker run --rm -p 6379:6379 redis:7`), or point ' +
      'PLUGBOARD_REDIS / --redis at yours.',
  );
  redis.disconnect();
  process.exit(1);
}

/** @type {Map<string, Child>} */
const children = new Map();
let stopping = false;

// Never leave a child behind, whatever happens to this script.
process.once('exit', () => {
  for (const child of children.values()) if (child.running) child.process.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    say(`${signal}: stopping every process`);
    void finish(130);
  });
}

/**
 * @typedef {object} Child
 * @property {string} id
 * @property {import('node:child_process').ChildProcess} process
 * @property {boolean} running
 * @property {boolean} expectedToExit   we stopped or killed it
 * @property {Promise<{ code: number | null, signal: string | null }>} exited
 * @property {Array<(line: string) => void>} watchers
 */

/**
 * Start `plugboard start examples/cluster/<folder>` as node `id`.
 * @param {string} id
 * @param {string} folder
 * @param {string[]} extra
 * @returns {Child}
 */
function startNode(id, folder, extra = []) {
  const proc = spawn(
    process.execPath,
    [
      ...cli,
      'start',
      `examples/cluster/${folder}`,
      '--redis',
      redisUrl,
      '--namespace',
      namespace,
      '--node-id',
      id,
      ...extra,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PLUGBOARD_LOG_LEVEL: process.env['PLUGBOARD_LOG_LEVEL'] ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl+C reaches only this script, which stops the children with
      // one SIGTERM each (a second signal would make a child exit without stopping cleanly).
      detached: true,
    },
  );
  /** @type {Child} */
  const child = {
    id,
    process: proc,
    running: true,
    expectedToExit: false,
    watchers: [],
    exited: new Promise((resolve) =>
      proc.once('close', (code, signal) => {
        child.running = false;
        resolve({ code, signal });
      }),
    ),
  };
  proc.once('error', (error) => say(`${id} could not start: ${error.message}`));
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      console.log(`${id.padEnd(8)} │ ${line}`);
      for (const watcher of child.watchers) watcher(line);
    });
  }
  children.set(id, child);
  void child.exited.then(({ code, signal }) => {
    if (!child.expectedToExit && !stopping) {
      say(`${id} exited on its own (${describeExit(code, signal)}); stopping the others`);
      void finish(1);
    }
  });
  return child;
}

/**
 * Resolve with the first line of `child` that matches `pattern`, within `ms`.
 * @param {Child} child
 * @param {RegExp} pattern
 * @param {number} ms
 * @returns {Promise<RegExpMatchArray>}
 */
function waitForLine(child, pattern, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      remove();
      reject(new Error(`${child.id} printed no line matching ${pattern} within ${ms} ms`));
    }, ms);
    const watcher = (line) => {
      const match = line.match(pattern);
      if (match === null) return;
      remove();
      resolve(match);
    };
    const remove = () => {
      clearTimeout(timer);
      child.watchers.splice(child.watchers.indexOf(watcher), 1);
    };
    child.watchers.push(watcher);
  });
}

/**
 * Wait for `child` to exit within `ms`; then SIGKILL it.
 * @param {Child} child
 * @param {number} ms
 */
async function exitWithin(child, ms) {
  let timer;
  const outcome = await Promise.race([
    child.exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]);
  clearTimeout(timer);
  if (outcome !== undefined) return outcome;
  say(`${child.id} did not exit within ${ms} ms; killing it`);
  child.process.kill('SIGKILL');
  await child.exited;
  return { code: null, signal: 'SIGKILL (timeout)' };
}

/** @type {Promise<never> | undefined} */
let finishing;

/**
 * Stop every child still running (SIGTERM, then SIGKILL past the bound), delete the namespace's
 * keys, and exit with `code` (or 1 if a child did not exit cleanly).
 * @param {number} code
 * @returns {Promise<never>}
 */
function finish(code) {
  finishing ??= (async () => {
    stopping = true;
    // The gateway first (it would go on calling the workers), then the workers.
    const stopAll = async (ids) =>
      Promise.all(
        [...children.values()]
          .filter((child) => ids.includes(child.id))
          .map(async (child) => {
            if (child.running) {
              child.expectedToExit = true;
              child.process.kill('SIGTERM');
            }
            return /** @type {const} */ ([child, await exitWithin(child, STOP_BOUND)]);
          }),
      );
    const results = [...(await stopAll([GATEWAY])), ...(await stopAll(WORKERS))];
    let exitCode = code;
    const summary = results.map(([child, { code: childCode, signal }]) => {
      const killedByUs = killOne && child.id === 'worker-b' && signal === 'SIGKILL';
      if (childCode !== 0 && !killedByUs) exitCode = exitCode === 0 ? 1 : exitCode;
      return `${child.id} ${killedByUs ? 'killed by --kill-one' : describeExit(childCode, signal)}`;
    });
    await removeNamespace().catch((error) =>
      say(`could not delete the keys of namespace ${namespace}: ${error.message}`),
    );
    redis.disconnect();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const outcome = exitCode === 0 ? 'done' : code === 130 ? 'interrupted' : 'FAILED';
    say(`${outcome} in ${seconds} s: ${summary.join(', ')}`);
    process.exit(exitCode);
  })();
  return finishing;
}

/** Delete every key of this run's namespace. */
async function removeNamespace() {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${namespace}}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** @param {number | null} code @param {string | null} signal */
function describeExit(code, signal) {
  return code === null ? `killed by ${signal}` : `exit ${code}`;
}

async function run() {
  say(`Redis ${redisUrl}, namespace ${namespace}${killOne ? ', --kill-one' : ''}`);
  say(`starting ${WORKERS.join(' and ')} (examples/cluster/worker)`);
  const workers = WORKERS.map((id) => startNode(id, 'worker'));
  await Promise.all(workers.map((w) => waitForLine(w, /plugins active/, STARTUP_BOUND)));

  say(`starting ${GATEWAY} (examples/cluster/gateway)`);
  // --once stops the gateway when its scenario is over. With --kill-one the scenario waits for a
  // lease to lapse (30 s, past the bound of --once), so it runs until we see its summary.
  const gateway = startNode(GATEWAY, 'gateway', killOne ? [] : ['--once']);

  if (killOne) {
    const victim = workers[1];
    // worker-b is holding the lease of the order it is packing: kill it right there.
    const [, orderId] = await waitForLine(
      victim,
      /\[fulfilment@worker-b\] packing (o-(?:[3-9]|\d{2,}))/,
      STARTUP_BOUND,
    );
    victim.expectedToExit = true;
    victim.process.kill('SIGKILL');
    say(
      `SIGKILL worker-b while it packs ${orderId}: billing calls move to worker-a, and ` +
        `${orderId} waits for its lease to lapse (about 30 s), then goes to worker-a`,
    );
    await waitForLine(gateway, /summary:/, 90_000);
    gateway.expectedToExit = true;
    gateway.process.kill('SIGTERM');
  } else {
    gateway.expectedToExit = true;
  }
  const { code, signal } = await exitWithin(gateway, killOne ? STOP_BOUND : 60_000);
  if (stopping) return finishing; // interrupted meanwhile
  if (code !== 0) {
    say(`gateway failed (${describeExit(code, signal)})`);
    return finish(1);
  }
  say('the scenario is over; stopping the workers (SIGTERM)');
  return finish(0);
}

run().catch((error) => {
  say(`error: ${error instanceof Error ? error.message : String(error)}`);
  void finish(1);
});
