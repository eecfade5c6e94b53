/**
 * Hostile input on Redis: the table of hostile-input-table.ts, the sender in this process and the
 * probe in a child process (fixtures/probe-node.ts) on the shared Redis, in a fresh namespace.
 * What gets through is decoded in the other process, which reports its own prototypes. Parity is
 * off (the production default), so the refusals come from encoding for the wire; the memory file
 * runs the same table with parity on.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { PluginContext } from '../../src/context/types.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import {
  describeHostileInput,
  HOSTILE_MAX_PAYLOAD_BYTES,
  installSender,
} from './hostile-input-table.js';

const PROBE_NODE = fileURLToPath(new URL('./fixtures/probe-node.ts', import.meta.url));

describeHostileInput('hostile input (Redis, probe in another process)', async () => {
  const namespace = uniqueNamespace('hostile');
  const child = fork(PROBE_NODE, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      PB_PROBE_NODE: JSON.stringify({ redisUrl: SHARED_REDIS_URL, namespace, nodeId: 'probe' }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the probe did not start within 30 s')),
      30_000,
    );
    child.on('message', (message: { type?: string }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the probe exited with ${code} while starting`));
    });
  });

  let sender: PluginContext | undefined;
  const host = await createHost({
    logger: false,
    // As in production: nothing is checked locally, what refuses is the encoding for the wire.
    parity: false,
    nodeId: 'sender',
    limits: { maxPayloadBytes: HOSTILE_MAX_PAYLOAD_BYTES },
    backend: { redis: SHARED_REDIS_URL, namespace },
    plugins: [
      definePlugin({
        name: 'hostile-sender',
        version: '1.0.0',
        activate(context) {
          installSender(context);
          sender = context;
        },
      }),
    ],
  });
  await host.start();
  await sender!.rpcClient.waitForService('hostile-probe', { timeout: 10_000 });
  const raw = new Redis(SHARED_REDIS_URL);
  return {
    sender: sender!,
    probePid: child.pid!,
    // A cache entry is `ns:c:<key>`: a 16-byte version, then the value's bytes (keys.ts).
    forgeCacheEntry: async (key, bytes) =>
      void (await raw.set(`${namespace}:c:${key}`, Buffer.concat([Buffer.alloc(16, 7), bytes]))),
    stop: async () => {
      await host.stop();
      child.send({ cmd: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      raw.disconnect();
      await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
});
