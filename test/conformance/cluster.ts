import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Backend } from '../../src/backends/ports.js';
import { createRuntime } from '../../src/context/runtime.js';
import type { PluginContext, Runtime, ScopedContext } from '../../src/context/types.js';
import {
  PayloadTooLargeError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../src/errors/errors.js';
import type { ServiceInstance } from '../../src/registry/types.js';
import { silentLogger } from '../support/runtime.js';
import { until, type BackendHarness, type HarnessFactory } from './harness.js';

interface Node {
  backend: Backend;
  runtime: Runtime;
  plugin(name: string): PluginContext;
  scoped(name: string): ScopedContext;
}

/**
 * The building blocks across a cluster, on any backend: the chapter's event, RPC and discovery
 * examples with their plugins on different nodes.
 */
export function clusterConformance(name: string, factory: HarnessFactory): void {
  describe(`Cluster conformance: ${name}`, () => {
    let harness: BackendHarness;
    let nodes: Node[];

    const startNode = async (): Promise<Node> => {
      const backend = await harness.create();
      const runtime = createRuntime({
        backend,
        logger: silentLogger,
        limits: { rpcTimeout: 3000, maxPayloadBytes: 64 * 1024 },
      });
      await runtime.start();
      const scopes = new Map<string, ScopedContext>();
      const scoped = (plugin: string): ScopedContext => {
        let s = scopes.get(plugin);
        if (!s)
          scopes.set(
            plugin,
            (s = runtime.createContext({
              name: plugin,
              version: '1.0.0',
              permissions: [],
              options: {},
            })),
          );
        return s;
      };
      return { backend, runtime, scoped, plugin: (p) => scoped(p).context };
    };

    beforeEach(async () => {
      harness = await factory();
      nodes = [await startNode(), await startNode(), await startNode()];
    });
    afterEach(async () => {
      await Promise.allSettled(nodes.map((n) => n.runtime.close()));
      await harness.cleanup();
    });

    /** Wait until every node has seen `count` providers of `service`. */
    const providersVisible = (service: string, count: number) =>
      until(
        () =>
          nodes.every((n) => {
            let seen = 0;
            n.plugin('probe')
              .rpcClient.subscribeService(service, (s) => (seen = s.instances.length))
              .unsubscribe();
            return seen >= count;
          }),
        3000,
        `${count} providers of ${service}`,
      );

    it("delivers the chapter's user.created event to subscribers on every node", async () => {
      const seen: string[] = [];
      nodes.forEach((n, i) =>
        n
          .plugin('plugin-b')
          .eventBus.subscribe('user.created', (data: any) => void seen.push(`${i}:${data.name}`)),
      );
      await nodes[0]!
        .plugin('plugin-a')
        .eventBus.publish('user.created', { id: '123', name: 'John' });
      await until(() => seen.length === 3, 3000, 'all three nodes');
      assert.deepEqual(seen.sort(), ['0:John', '1:John', '2:John']);
    });

    it('shares group events across nodes: each event to exactly one member', async () => {
      const got = new Map<number, string>();
      nodes.forEach((n, i) =>
        n.plugin('worker').eventBus.subscribe(
          'job.*',
          (data: any, _next, meta) => {
            if (meta.event === 'job.probe') probes[data.from]!.add(i);
            else got.set(data.n, `node${i}`);
          },
          { group: 'workers' },
        ),
      );
      // Every node must know the others' group members before the real publishes: probe until
      // each publisher's turns have reached all three nodes.
      const probes = [new Set<number>(), new Set<number>(), new Set<number>()];
      await until(
        async () => {
          for (let from = 0; from < 3; from++)
            await nodes[from]!.plugin('p').eventBus.publish('job.probe', { from });
          return probes.every((seen) => seen.size === 3);
        },
        5000,
        'group members known everywhere',
      );
      let total = 0;
      nodes.forEach((n) =>
        n.plugin('counter').eventBus.subscribe('job.created', () => void total++),
      );
      for (let n = 0; n < 30; n++)
        await nodes[n % 3]!.plugin('p').eventBus.publish('job.created', { n });
      await until(() => got.size === 30 && total === 90, 3000, 'all group deliveries').catch(
        (e) => {
          throw new Error(`${e.message}: got ${got.size}, total ${total}`);
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(got.size, 30);
      const perNode = [...got.values()].reduce<Record<string, number>>(
        (acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }),
        {},
      );
      assert.equal(
        Object.keys(perNode).length,
        3,
        `balanced across nodes: ${JSON.stringify(perNode)}`,
      );
    });

    it("answers the chapter's calculator call from another node, keeping value types", async () => {
      nodes[1]!.plugin('plugin-a').rpcServer.register('calculator', {
        add: (a: number, b: number) => a + b,
        echo: (v: unknown) => v,
        fail: () => {
          throw Object.assign(new RangeError('no such account'), { code: 'E_ACCOUNT' });
        },
      });
      await providersVisible('calculator', 1);
      const client = nodes[0]!.plugin('plugin-b').rpcClient;
      assert.equal(await client.call('calculator', 'add', [2, 3]), 5);
      const value = {
        when: new Date('2024-01-31T00:00:00Z'),
        buf: Buffer.from('hi'),
        bytes: new Uint8Array([1, 2]),
        map: new Map([['k', 1]]),
        set: new Set(['s']),
        big: 2n ** 70n,
        nothing: undefined,
      };
      const echoed = (await client.call('calculator', 'echo', [value])) as typeof value;
      assert.ok(echoed.when instanceof Date && echoed.when.getTime() === value.when.getTime());
      assert.ok(Buffer.isBuffer(echoed.buf) && echoed.buf.toString() === 'hi');
      assert.deepEqual([...echoed.bytes], [1, 2]);
      assert.ok(echoed.map instanceof Map && echoed.map.get('k') === 1);
      assert.ok(echoed.set instanceof Set && echoed.set.has('s'));
      assert.equal(echoed.big, 2n ** 70n);
      assert.ok('nothing' in echoed && echoed.nothing === undefined);
      await assert.rejects(client.call('calculator', 'fail', []), {
        name: 'RangeError',
        message: 'no such account',
        code: 'E_ACCOUNT',
      });
      await assert.rejects(client.call('calculator', 'nope', []), { name: 'MethodNotFoundError' });
    });

    it('prefers a local provider and balances remote ones', async () => {
      nodes[1]!.plugin('p').rpcServer.register('where', { am: () => 'node1' });
      nodes[2]!.plugin('p').rpcServer.register('where', { am: () => 'node2' });
      await providersVisible('where', 2);
      const answers = new Set<unknown>();
      for (let i = 0; i < 6; i++)
        answers.add(await nodes[0]!.plugin('c').rpcClient.call('where', 'am'));
      assert.deepEqual([...answers].sort(), ['node1', 'node2']);
      assert.equal(
        await nodes[1]!.plugin('c').rpcClient.call('where', 'am', [], { preferLocal: true }),
        'node1',
      );
    });

    it('refuses payloads over the size limit before sending', async () => {
      nodes[1]!.plugin('p').rpcServer.register('sink', { take: () => true });
      await providersVisible('sink', 1);
      await assert.rejects(
        nodes[0]!.plugin('c').rpcClient.call('sink', 'take', ['x'.repeat(100 * 1024)]),
        PayloadTooLargeError,
      );
      await assert.rejects(
        nodes[0]!.plugin('c').eventBus.publish('big.event', 'x'.repeat(100 * 1024)),
        PayloadTooLargeError,
      );
    });

    it('fails over from a crashed provider node; calls never hang', async () => {
      nodes[1]!
        .plugin('p')
        .rpcServer.register(
          'svc',
          { ping: () => 'node1', hang: () => new Promise(() => undefined) },
          { idempotent: ['ping'] },
        );
      nodes[2]!.plugin('p').rpcServer.register('svc', {
        ping: () => 'node2',
        hang: () => new Promise(() => undefined),
      });
      await providersVisible('svc', 2);
      const client = nodes[0]!.plugin('c').rpcClient;
      const hanging = client.callWithTimeout('svc', 'hang', [], 800);
      await harness.crash(nodes[1]!.backend);
      const started = Date.now();
      await assert.rejects(
        hanging,
        (e: unknown) => e instanceof TimeoutError || e instanceof ServiceUnavailableError,
      );
      assert.ok(Date.now() - started < 2000);
      // after the crash, calls reach the live provider (possibly after the dead one expires)
      await until(
        async () => (await client.call('svc', 'ping').catch(() => 'err')) === 'node2',
        harness.livenessMs + 3000,
        'failover to node2',
      );
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => client.call('svc', 'ping')),
      );
      assert.deepEqual(new Set(answers), new Set(['node2']));
    });

    it("discovers the chapter's payment service registered on another node, and watches it", async () => {
      const events: string[] = [];
      nodes[0]!
        .plugin('shop')
        .serviceRegistry.watch('payment-service', (e) =>
          events.push(`${e.type}:${e.instance.name}`),
        );
      const provider = nodes[1]!.scoped('payments');
      const registration = provider.context.serviceRegistry.register('payment-service', {
        name: 'Stripe Payment',
        version: '1.0.0',
        endpoint: 'stripe-payment',
        metadata: { supportedCurrencies: ['USD', 'EUR', 'CNY'] },
      });
      await registration.ready;
      nodes[2]!.plugin('payments').serviceRegistry.register('payment-service', {
        name: 'Legacy Pay',
        version: '0.9.0',
        endpoint: 'legacy',
        metadata: { supportedCurrencies: ['GBP'] },
      });
      let services: ServiceInstance[] = [];
      await until(
        async () =>
          (services = await nodes[0]!.plugin('shop').serviceRegistry.discover('payment-service'))
            .length === 2,
        3000,
        'two instances',
      );
      const stripeService = services.find((s) =>
        (s.metadata.supportedCurrencies as string[]).includes('USD'),
      );
      assert.equal(stripeService?.endpoint, 'stripe-payment');
      assert.equal(stripeService?.nodeId, nodes[1]!.backend.nodeId);
      const v1 = await nodes[2]!
        .plugin('x')
        .serviceRegistry.discover('payment-service', { version: '^1.0.0' });
      assert.deepEqual(
        v1.map((s) => s.name),
        ['Stripe Payment'],
      );
      const gbp = await nodes[2]!
        .plugin('x')
        .serviceRegistry.discover('payment-service', { metadata: { supportedCurrencies: 'GBP' } });
      assert.deepEqual(
        gbp.map((s) => s.name),
        ['Legacy Pay'],
      );
      await provider.release(500);
      await until(() => events.includes('removed:Stripe Payment'), 3000, 'removal seen by watcher');
      assert.ok(events.includes('added:Stripe Payment') && events.includes('added:Legacy Pay'));
    });

    it('durable group subscriptions: stored while nobody listens, each event once, retried, resumed', async () => {
      const group = `billing${Math.random().toString(36).slice(2, 7)}`;
      // Bind the group, then stop its only consumer: later events must wait for it.
      const first = nodes[1]!.scoped('billing');
      first.context.eventBus.subscribe('invoice.*', () => undefined, { durable: true, group });
      await until(
        async () =>
          (await nodes[1]!.backend.queues.bindings()).some((b) =>
            b.queue.startsWith(`ev.${group}.`),
          ),
        3000,
        'binding',
      );
      await first.release(2000);
      // Wait until node 0 knows the binding: its probes start landing in the queue.
      const queue = `ev.${group}.invoice.*`;
      await until(
        async () => {
          await nodes[0]!.plugin('p').eventBus.publish('invoice.probe', {});
          return (await nodes[0]!.backend.queues.counts(queue)).ready > 0;
        },
        3000,
        'binding known to the publisher',
      );
      for (let n = 0; n < 20; n++)
        await nodes[0]!.plugin('p').eventBus.publish('invoice.created', { n });
      // Two members on two nodes resume the group; one of them fails each event's first try.
      const seen: number[] = [];
      const attempts = new Map<number, number>();
      const deliveryAttempts: number[] = [];
      for (const node of [nodes[1]!, nodes[2]!]) {
        node.plugin('billing2').eventBus.subscribe(
          'invoice.*',
          (data: any, _next, meta) => {
            if (data.n === undefined) return; // a probe
            const tries = (attempts.get(data.n) ?? 0) + 1;
            attempts.set(data.n, tries);
            if (data.n === 7) deliveryAttempts.push(meta.attempt!);
            if (data.n === 7 && tries === 1) throw new Error('transient');
            seen.push(data.n);
          },
          { durable: true, group },
        );
      }
      await until(() => new Set(seen).size === 20, 10_000, 'all 20 durable events');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(
        [...new Set(seen)].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i),
      );
      assert.equal(seen.length, 20, 'each event handled successfully exactly once');
      assert.equal(attempts.get(7), 2);
      assert.deepEqual(deliveryAttempts, [1, 2], 'meta.attempt counts deliveries');
    });

    it('keeps durable members of one group with different patterns apart', async () => {
      const group = `split${Math.random().toString(36).slice(2, 7)}`;
      const got: Record<string, string[]> = { invoices: [], payments: [] };
      nodes[1]!
        .plugin('a')
        .eventBus.subscribe('invoice.*', (_d, _n, m) => void got.invoices!.push(m.event), {
          durable: true,
          group,
        });
      nodes[2]!
        .plugin('b')
        .eventBus.subscribe('payment.*', (_d, _n, m) => void got.payments!.push(m.event), {
          durable: true,
          group,
        });
      await until(
        async () =>
          (await nodes[0]!.backend.queues.bindings()).filter((b) =>
            b.queue.startsWith(`ev.${group}.`),
          ).length === 2,
        3000,
        'both bindings',
      );
      await until(
        async () => {
          await nodes[1]!.plugin('p').eventBus.publish('invoice.created', {});
          await nodes[2]!.plugin('p').eventBus.publish('payment.made', {});
          return got.invoices!.length > 0 && got.payments!.length > 0;
        },
        5000,
        'deliveries to both',
      );
      assert.ok(got.invoices!.every((e) => e === 'invoice.created'));
      assert.ok(got.payments!.every((e) => e === 'payment.made'));
    });

    it('durable subscriptions need a group', () => {
      assert.throws(
        () => nodes[0]!.plugin('x').eventBus.subscribe('a.b', () => undefined, { durable: true }),
        /needs a group/,
      );
    });
  });
}
