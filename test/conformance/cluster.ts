import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  PayloadTooLargeError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../src/errors/errors.js';
import type { ServiceInstance } from '../../src/registry/types.js';
import { durableQueueName } from '../../src/queue/queue-names.js';
import {
  startClusterNode,
  until,
  type BackendHarness,
  type ClusterNode,
  type HarnessFactory,
} from './harness.js';

type Node = ClusterNode;

/**
 * The building blocks across a cluster, on any backend: the chapter's event, RPC and discovery
 * examples with their plugins on different nodes.
 */
export function clusterConformance(name: string, factory: HarnessFactory): void {
  describe(`Cluster conformance: ${name}`, () => {
    let harness: BackendHarness;
    let nodes: Node[];

    const startNode = (): Promise<Node> => startClusterNode(harness, 3000);

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
      // `ready`: every node routes to the member, so no probing is needed before publishing.
      await Promise.all(
        nodes.map(
          (n, i) =>
            n
              .plugin('worker')
              .eventBus.subscribe('job.*', (data: any) => void got.set(data.n, `node${i}`), {
                group: 'workers',
              }).ready,
        ),
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
      // `ready`: the binding is stored and every node's binding table has it.
      await first.context.eventBus.subscribe('invoice.*', () => undefined, {
        durable: true,
        group,
      }).ready;
      await first.release(2000);
      const queue = durableQueueName(group, 'invoice.*');
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
            const tries = (attempts.get(data.n) ?? 0) + 1;
            attempts.set(data.n, tries);
            if (data.n === 7) deliveryAttempts.push(meta.attempt!);
            if (data.n === 7 && tries === 1) throw new Error('transient');
            seen.push(data.n);
          },
          { durable: true, group },
        );
      }
      assert.equal((await nodes[0]!.backend.queues.counts(queue)).ready, 20, 'stored meanwhile');
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
      await Promise.all([
        nodes[1]!
          .plugin('a')
          .eventBus.subscribe('invoice.*', (_d, _n, m) => void got.invoices!.push(m.event), {
            durable: true,
            group,
          }).ready,
        nodes[2]!
          .plugin('b')
          .eventBus.subscribe('payment.*', (_d, _n, m) => void got.payments!.push(m.event), {
            durable: true,
            group,
          }).ready,
      ]);
      await nodes[2]!.plugin('p').eventBus.publish('invoice.created', {});
      await nodes[1]!.plugin('p').eventBus.publish('payment.made', {});
      await until(
        () => got.invoices!.length > 0 && got.payments!.length > 0,
        5000,
        'deliveries to both',
      );
      assert.deepEqual(got, { invoices: ['invoice.created'], payments: ['payment.made'] });
    });

    it('gives a group event meant for a crashed member to a live one: none lost', async () => {
      const got: number[] = [];
      await Promise.all(
        [1, 2].map(
          (i) =>
            nodes[i]!.plugin('w').eventBus.subscribe(
              'task.*',
              (data: any) => void (i === 2 && got.push(data.n)),
              { group: 'survivors' },
            ).ready,
        ),
      );
      const dead = nodes[1]!.backend.nodeId;
      await harness.crash(nodes[1]!.backend);
      // The backend notices a moment later (Redis: once the server sees the socket close); from
      // then on a send to the dead node is refused, and its turns must go to the survivor.
      await until(
        () =>
          nodes[0]!.backend.transport.send(dead, 'pb.none', new Uint8Array(0)).then(
            () => false,
            () => true,
          ),
        5000,
        'sends to the crashed node refused',
      );
      for (let n = 0; n < 200; n++)
        await nodes[n % 2 === 0 ? 0 : 2]!.plugin('p').eventBus.publish(`task.t${n % 7}`, { n });
      await until(() => got.length >= 200, 5000, 'all 200 group events at the survivor').catch(
        (e: Error) => {
          throw new Error(`${e.message}: got ${got.length}`);
        },
      );
      assert.deepEqual(
        [...got].sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i),
      );
    });

    it('stores durable events only in the queue their members read', async () => {
      const group = `only${Math.random().toString(36).slice(2, 7)}`;
      const seen: number[] = [];
      await nodes[1]!
        .plugin('a')
        .eventBus.subscribe('order.*', (data: any) => void seen.push(data.n), {
          durable: true,
          group,
        }).ready;
      // Another node binds another group: every node's binding table changes meanwhile.
      await nodes[2]!
        .plugin('b')
        .eventBus.subscribe('other.*', () => undefined, { durable: true, group: `${group}x` })
        .ready;
      for (let n = 0; n < 50; n++)
        await nodes[n % 3]!.plugin('p').eventBus.publish('order.created', { n });
      await until(() => seen.length >= 50, 10_000, 'all 50 durable events');
      const queues = (await nodes[0]!.backend.queues.queueNames()).filter((q) => q.includes(group));
      assert.deepEqual(
        queues.sort(),
        [durableQueueName(group, 'order.*'), durableQueueName(`${group}x`, 'other.*')].sort(),
      );
      for (const queue of queues) {
        await until(
          async () => (await nodes[0]!.backend.queues.counts(queue)).leased === 0,
          5000,
          'acks',
        );
        assert.deepEqual(await nodes[0]!.backend.queues.counts(queue), {
          ready: 0,
          delayed: 0,
          leased: 0,
          dead: 0,
        });
      }
    });

    it('never shares a durable queue between (group, pattern) pairs that read alike', async () => {
      const g = `q${Math.random().toString(36).slice(2, 7)}`;
      const got: Record<string, string[]> = { first: [], second: [] };
      // `${g}.b` + `c.*` and `${g}` + `b.c.*` once named the same queue.
      await Promise.all([
        nodes[1]!
          .plugin('a')
          .eventBus.subscribe('c.*', (_d, _n, m) => void got.first!.push(m.event), {
            durable: true,
            group: `${g}.b`,
          }).ready,
        nodes[2]!
          .plugin('b')
          .eventBus.subscribe('b.c.*', (_d, _n, m) => void got.second!.push(m.event), {
            durable: true,
            group: g,
          }).ready,
      ]);
      await nodes[0]!.plugin('p').eventBus.publish('c.one', {});
      await nodes[0]!.plugin('p').eventBus.publish('b.c.two', {});
      await until(() => got.first!.length + got.second!.length >= 2, 5000, 'both durable events');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(got, { first: ['c.one'], second: ['b.c.two'] });
    });

    it('lists and removes durable groups, bindings and dead letters', async () => {
      const group = `admin${Math.random().toString(36).slice(2, 7)}`;
      const admin = nodes[0]!.runtime.durable;
      const failing = nodes[1]!.scoped('failing');
      let calls = 0;
      await failing.context.eventBus.subscribe(
        'report.*',
        () => {
          calls++;
          throw new Error('cannot render');
        },
        { durable: true, group },
      ).ready;
      await nodes[2]!.plugin('p').eventBus.publish('report.daily', { day: 1 });
      // five attempts with backoff (100, 200, 400, 800 ms), then the dead-letter list
      await until(
        async () => (await admin.deadLetters(group)).length === 1,
        10_000,
        'a dead letter',
      );
      await failing.release(2000);
      const [dead] = await admin.deadLetters(group);
      assert.deepEqual(
        { ...dead, id: undefined, enqueuedAt: undefined, deadAt: undefined },
        {
          id: undefined,
          group,
          pattern: 'report.*',
          event: 'report.daily',
          data: { day: 1 },
          reason: 'cannot render',
          attempt: 5,
          enqueuedAt: undefined,
          deadAt: undefined,
        },
      );
      assert.equal(calls, 5);
      const mine = (await admin.list()).filter((q) => q.group === group);
      assert.deepEqual(mine, [
        {
          group,
          pattern: 'report.*',
          bound: true,
          counts: { ready: 0, delayed: 0, leased: 0, dead: 1 },
        },
      ]);
      // retry: a healthy member takes it
      const got: unknown[] = [];
      const healthy = nodes[2]!.scoped('healthy');
      await healthy.context.eventBus.subscribe('report.*', (data) => void got.push(data), {
        durable: true,
        group,
      }).ready;
      assert.equal(await admin.retryDeadLetter(group, 'report.*', dead!.id), true);
      await until(() => got.length === 1, 5000, 'the retried event');
      assert.deepEqual(got, [{ day: 1 }]);
      await healthy.release(2000);
      assert.equal(await admin.removeDeadLetter(group, 'report.*', dead!.id), false);
      assert.equal(await admin.purge(group), 0);
      // remove: unbound and gone, so later events are not stored for it
      await admin.remove(group, 'report.*');
      assert.deepEqual(
        (await admin.list()).filter((q) => q.group === group),
        [],
      );
      for (const node of nodes) await node.plugin('p').eventBus.publish('report.weekly', {});
      assert.deepEqual(
        (await nodes[1]!.backend.queues.queueNames()).filter((q) => q.includes(group)),
        [],
        'nothing stored after remove',
      );
      await assert.rejects(admin.deadLetters('bad group'), { name: 'ValidationError' });
    });

    it('durable subscriptions need a group', () => {
      assert.throws(
        () => nodes[0]!.plugin('x').eventBus.subscribe('a.b', () => undefined, { durable: true }),
        /needs a group/,
      );
    });
  });
}
