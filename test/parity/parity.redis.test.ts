/**
 * The shared parity cases (parity-cases.ts) over a real Redis: the publisher/caller, each
 * subscriber and the provider on their own hosts, parity off, so every payload really crosses
 * the wire. parity.test.ts runs the same cases on one embedded host in parity mode.
 */
import { after, before, describe } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import type { Host } from '../../src/host/index.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';
import { silentLogger } from '../support/runtime.js';
import { parityCases, type ParitySetup } from './parity-cases.js';

describe('the same payloads over Redis (plugins on different hosts, parity off)', () => {
  const namespace = uniqueNamespace('parity');
  const hosts: Host[] = [];
  let setup: ParitySetup;

  const start = async (name: string): Promise<PluginContext> => {
    let ctx: PluginContext | undefined;
    const host = await createHost({
      logger: silentLogger,
      parity: false,
      backend: { redis: SHARED_REDIS_URL, namespace },
      plugins: [
        definePlugin({ name, version: '1.0.0', activate: (context) => void (ctx = context) }),
      ],
    });
    hosts.push(host);
    await host.start();
    return ctx!;
  };

  before(async () => {
    const [publisher, first, second, provider] = await Promise.all(
      ['publisher', 'subscriber-1', 'subscriber-2', 'provider'].map(start),
    );
    setup = {
      publisher: publisher!,
      subscribers: [first!, second!],
      provider: provider!,
      registered: async (service) => void (await publisher!.rpcClient.waitForService(service)),
      // Plain subscriptions take effect on their node at once; the hosts already listen.
      subscribed: async () => undefined,
    };
  });

  after(async () => {
    await Promise.allSettled(hosts.map((host) => host.stop()));
    await deleteNamespace(SHARED_REDIS_URL, namespace);
  });

  parityCases(() => setup);
});
