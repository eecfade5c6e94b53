import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import {
  ContextClosedError,
  PayloadTooLargeError,
  SerializationError,
  TimeoutError,
  ValidationError,
} from '../../src/errors/errors.js';
import { MessageStatus, type QueueMessage } from '../../src/queue/message-types.js';
import {
  startClusterNode,
  until,
  type BackendHarness,
  type ClusterNode,
  type HarnessFactory,
} from './harness.js';

/** A promise and its resolver. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

const never = (): Promise<never> => new Promise<never>(() => {});

/**
 * `context.messageQueue` across a cluster, on any backend: competing consumers, order,
 * concurrency, priority, idempotency, delays, retries and dead letters, leases (renewed,
 * lapsed, refused when late), bounded stops, stats, and typed errors for bad input.
 */
export function messageQueueConformance(name: string, factory: HarnessFactory): void {
  describe(`message queue conformance: ${name}`, () => {
    let harness: BackendHarness;
    let nodes: ClusterNode[];
    const plugins: Array<[ClusterNode, string]> = [];

    /** Plugin `plugin` on node `n`, released after the test. */
    const ctx = (n: number, plugin = 'worker'): PluginContext => {
      const node = nodes[n]!;
      if (!plugins.some(([k, p]) => k === node && p === plugin)) plugins.push([node, plugin]);
      return node.plugin(plugin);
    };

    beforeEach(async () => {
      harness = await factory();
      nodes = [await startClusterNode(harness, 5000), await startClusterNode(harness, 5000)];
    });
    afterEach(async () => {
      await Promise.all(plugins.splice(0).map(([node, p]) => node.scoped(p).release(1000)));
      await Promise.allSettled(nodes.map((n) => n.runtime.close()));
      await harness.cleanup();
    });

    it('competing consumers on two nodes get each message once', async () => {
      const ids = new Set<string>();
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) ids.add(await ctx(0).messageQueue.send('jobs', { i }));
      for (const n of [0, 1]) {
        ctx(n).messageQueue.receive(
          'jobs',
          (m) => {
            seen.push(m.id);
          },
          { concurrency: 2 },
        );
      }
      await until(() => seen.length >= 20, 10_000, '20 deliveries');
      await until(
        async () => (await ctx(0).messageQueue.stats('jobs')).inFlight === 0,
        5000,
        'acks',
      );
      assert.equal(seen.length, 20);
      assert.deepEqual(new Set(seen), ids);
    });

    it('delivers in order, one at a time, at concurrency 1', async () => {
      const mq = ctx(0).messageQueue;
      for (let i = 0; i < 10; i++) await mq.send('fifo', i);
      const seen: number[] = [];
      let running = 0;
      let most = 0;
      mq.receive<number>('fifo', async (m) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(m.data);
        running--;
      });
      await until(() => seen.length === 10, 10_000, 'ten messages');
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(most, 1);
    });

    it('runs `concurrency` handlers at once', async () => {
      const mq = ctx(0).messageQueue;
      for (let i = 0; i < 6; i++) await mq.send('par', i);
      const go = gate();
      let running = 0;
      let most = 0;
      let done = 0;
      const consumer = mq.receive(
        'par',
        async () => {
          most = Math.max(most, ++running);
          await go.promise;
          running--;
          done++;
        },
        { concurrency: 3 },
      );
      await until(() => running === 3, 5000, 'three running at once');
      assert.equal(consumer.inFlight, 3);
      go.open();
      await until(() => done === 6, 5000, 'all six');
      assert.equal(most, 3);
    });

    it('delivers higher priorities first, FIFO within a priority', async () => {
      const mq = ctx(0).messageQueue;
      await mq.send('prio', 'low-1');
      await mq.send('prio', 'high', { priority: 10 });
      await mq.send('prio', 'low-2');
      await mq.send('prio', 'mid', { priority: 5 });
      const seen: string[] = [];
      mq.receive<string>('prio', (m) => void seen.push(m.data));
      await until(() => seen.length === 4, 5000, 'four messages');
      assert.deepEqual(seen, ['high', 'mid', 'low-1', 'low-2']);
    });

    it('an idempotent send stores the message once and answers with its id', async () => {
      const mq = ctx(0).messageQueue;
      const first = await mq.send('once', { n: 1 }, { id: 'order-42' });
      const again = await ctx(1).messageQueue.send('once', { n: 2 }, { id: 'order-42' });
      assert.equal(again, first);
      assert.equal((await mq.stats('once')).waiting, 1);
    });

    it('never delivers a delayed message early', async () => {
      const mq = ctx(0).messageQueue;
      const received = gate<{ at: number; data: unknown }>();
      mq.receive('later', (m) => received.open({ at: Date.now(), data: m.data }));
      const sentAt = Date.now();
      await mq.sendDelayed('later', 'hello', 300);
      assert.equal((await mq.stats('later')).delayed, 1);
      const { at, data } = await received.promise;
      assert.equal(data, 'hello');
      assert.ok(at - sentAt >= 299, `delivered after ${at - sentAt} ms`);
    });

    it('sendWithRetry (fixed): retries after the delay, then dead-letters with the last error', async () => {
      const mq = ctx(0).messageQueue;
      const times: number[] = [];
      const id = await mq.sendWithRetry(
        'fixed',
        { a: 1 },
        { maxRetries: 2, backoff: 'fixed', delay: 60, jitter: false },
      );
      mq.receive('fixed', (m) => {
        times.push(Date.now());
        throw new Error(`boom ${m.attempt}`);
      });
      await until(async () => (await mq.stats('fixed')).dead === 1, 10_000, 'the dead letter');
      assert.equal(times.length, 3);
      for (let i = 1; i < times.length; i++)
        assert.ok(times[i]! - times[i - 1]! >= 55, times.join(','));
      const [dead] = await mq.deadLetters('fixed');
      assert.equal(dead!.id, id);
      assert.equal(dead!.reason, 'boom 3');
      assert.equal(dead!.attempt, 3);
      assert.deepEqual(dead!.data, { a: 1 });
    });

    it('sendWithRetry (exponential): doubling delays, then the dead letters', async () => {
      const mq = ctx(0).messageQueue;
      const times: number[] = [];
      await mq.sendWithRetry('expo', 'x', {
        maxRetries: 3,
        backoff: 'exponential',
        delay: 40,
        jitter: false,
      });
      mq.receive('expo', () => {
        times.push(Date.now());
        throw new Error('still failing');
      });
      await until(async () => (await mq.stats('expo')).dead === 1, 10_000, 'the dead letter');
      assert.equal(times.length, 4);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      [40, 80, 160].forEach((min, i) => assert.ok(gaps[i]! >= min - 5, `gaps ${gaps.join(',')}`));
      assert.equal((await mq.deadLetters('expo'))[0]!.reason, 'still failing');
    });

    it('a FAILED status and a throw both fail the message; a throw is reported as plugin.error', async () => {
      const mq = ctx(0).messageQueue;
      const errors: unknown[] = [];
      ctx(0, 'watcher').eventBus.subscribe('plugin.error', (e) => void errors.push(e));
      await mq.send('verdict', 'status');
      const thrown = await mq.send('verdict', 'throw');
      mq.receive<string>('verdict', (m) => {
        if (m.data === 'status') return MessageStatus.FAILED;
        throw new Error('handler threw');
      });
      await until(async () => (await mq.stats('verdict')).dead === 2, 5000, 'two dead letters');
      const reasons = (await mq.deadLetters<string>('verdict')).map((d) => [
        d.data,
        d.reason,
        d.attempt,
      ]);
      assert.deepEqual(reasons, [
        ['status', 'handler returned MessageStatus.FAILED', 1],
        ['throw', 'handler threw', 1],
      ]);
      await until(() => errors.length === 1, 5000, 'the plugin.error');
      // Sent outside any handler: the message's trace is its id.
      assert.deepEqual(
        { ...(errors[0] as object), stack: undefined },
        {
          pluginId: 'worker',
          event: 'queue.verdict',
          traceId: thrown,
          nodeId: ctx(0).nodeId,
          error: 'handler threw',
          stack: undefined,
        },
      );
    });

    it('a handler past its timeout frees its slot, the message is redelivered, and the late attempt cannot renew or settle', async () => {
      const mq = ctx(0).messageQueue;
      await mq.sendWithRetry('stuck', 'job', { maxRetries: 1, backoff: 'fixed', delay: 0 });
      await mq.send('stuck', 'next');
      const first = gate<QueueMessage>();
      const finishFirst = gate();
      const lateRenewal = gate<boolean>();
      const seen: Array<[unknown, number]> = [];
      mq.receive(
        'stuck',
        async (m) => {
          seen.push([m.data, m.attempt]);
          if (m.data === 'job' && m.attempt === 1) {
            first.open(m);
            await finishFirst.promise;
            lateRenewal.open(await m.extendLease());
            return MessageStatus.SUCCESS;
          }
          if (m.data === 'job') {
            // The redelivery: let the first attempt finish late, then fail for good.
            finishFirst.open();
            assert.equal(await lateRenewal.promise, false);
            return MessageStatus.FAILED;
          }
          return MessageStatus.SUCCESS;
        },
        { timeout: 200 },
      );
      const stuck = await first.promise;
      await until(() => stuck.signal.aborted, 5000, 'the timeout abort');
      assert.ok(stuck.signal.reason instanceof TimeoutError);
      await until(async () => (await mq.stats('stuck')).dead === 1, 10_000, 'the dead letter');
      // The stuck one's slot was freed: the next message ran (before or after the redelivery).
      assert.deepEqual(
        seen.filter(([data]) => data === 'job'),
        [
          ['job', 1],
          ['job', 2],
        ],
      );
      assert.ok(seen.some(([data]) => data === 'next'));
      // The late SUCCESS of attempt 1 acknowledged nothing: attempt 2's verdict stands.
      const [dead] = await mq.deadLetters('stuck');
      assert.equal(dead!.attempt, 2);
    });

    it('renews the lease while a long handler runs: no redelivery to a competing node', async () => {
      const done = gate();
      const deliveries: Array<[number, number]> = [];
      await ctx(0).messageQueue.send('long', 'x');
      const started = gate();
      ctx(0).messageQueue.receive(
        'long',
        async (m) => {
          deliveries.push([0, m.attempt]);
          started.open();
          await done.promise;
        },
        // Long enough that a loaded machine (a busy event loop) still renews in time.
        { leaseMs: 400 },
      );
      await started.promise;
      ctx(1).messageQueue.receive('long', (m) => void deliveries.push([1, m.attempt]), {
        leaseMs: 400,
      });
      // Four leases long: without renewal node 1 would have claimed it by now.
      await new Promise((resolve) => setTimeout(resolve, 1600));
      done.open();
      await until(
        async () => (await ctx(0).messageQueue.stats('long')).inFlight === 0,
        5000,
        'ack',
      );
      assert.deepEqual(deliveries, [[0, 1]]);
    });

    it("redelivers a crashed receiver's message to another node once its lease lapses", async () => {
      await ctx(0).messageQueue.send('crash', 'x');
      const started = gate();
      ctx(0).messageQueue.receive(
        'crash',
        () => {
          started.open();
          return never();
        },
        { leaseMs: 300 },
      );
      await started.promise;
      // Dead: no renewal, no settle reaches the store any more (the memory network's crash cuts
      // the transport only, so the backend is closed too, without stopping the consumer).
      await harness.crash(nodes[0]!.backend);
      await nodes[0]!.backend.close();
      const redelivered = gate<number>();
      const t0 = Date.now();
      ctx(1).messageQueue.receive('crash', (m) => redelivered.open(m.attempt), { leaseMs: 300 });
      assert.equal(await redelivered.promise, 2);
      assert.ok(Date.now() - t0 < 5000);
    });

    it('consumer.stop() is bounded with a stuck handler and gives the message back', async () => {
      const mq = ctx(0).messageQueue;
      await mq.send('halt', 'x');
      const started = gate<QueueMessage>();
      const consumer = mq.receive('halt', (m) => {
        started.open(m);
        return never();
      });
      const message = await started.promise;
      const t0 = Date.now();
      await consumer.stop(200);
      assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
      assert.equal(message.signal.aborted, true);
      assert.equal(consumer.inFlight, 0);
      const again = gate<number>();
      ctx(1).messageQueue.receive('halt', (m) => again.open(m.attempt));
      assert.equal(await again.promise, 2);
    });

    it('a stopping plugin stops its consumers within the release bound', async () => {
      const mq = ctx(0, 'stopper').messageQueue;
      await mq.send('halt2', 'x');
      const started = gate();
      mq.receive('halt2', () => {
        started.open();
        return never();
      });
      await started.promise;
      const scoped = nodes[0]!.scoped('stopper');
      assert.equal(scoped.holdings().inFlight, 1);
      const t0 = Date.now();
      const { unfinished } = await scoped.release(1000);
      assert.ok(Date.now() - t0 < 3000, `release took ${Date.now() - t0} ms`);
      assert.deepEqual(unfinished, []);
      assert.equal(scoped.holdings().subscriptions, 0);
      await assert.rejects(mq.send('halt2', 'y'), ContextClosedError);
      assert.throws(() => mq.receive('halt2', () => {}), ContextClosedError);
      const again = gate<number>();
      ctx(1).messageQueue.receive('halt2', (m) => again.open(m.attempt));
      assert.equal(await again.promise, 2);
    });

    it('holds receivers to the rate limit across nodes', async () => {
      for (let i = 0; i < 6; i++) await ctx(0).messageQueue.send('rl', i);
      const times: number[] = [];
      for (const n of [0, 1]) {
        ctx(n).messageQueue.receive('rl', () => void times.push(Date.now()), {
          concurrency: 3,
          rateLimit: { max: 2, interval: 200 },
        });
      }
      await until(() => times.length === 6, 10_000, 'six deliveries');
      // Six at two per window need three windows: the last comes a window or more after the first.
      const span = Math.max(...times) - Math.min(...times);
      assert.ok(span >= 190, `six deliveries within ${span} ms`);
    });

    it('repeat: each due time once across hosts running the same schedule; cancel stops it', async () => {
      const times: number[] = [];
      const ids = new Set<string>();
      ctx(0).messageQueue.receive('ticks', (m) => {
        times.push(Date.now());
        ids.add(m.id);
      });
      const handles = await Promise.all(
        [0, 1].map((n) =>
          ctx(n).messageQueue.repeat(
            'ticks',
            { report: 'daily' },
            { every: 200 },
            { name: 'tick' },
          ),
        ),
      );
      assert.equal(handles[0]!.name, 'tick');
      await until(() => times.length >= 4, 10_000, 'four ticks');
      // Two hosts enqueueing each due time would deliver four within about two periods.
      assert.ok(times[3]! - times[0]! >= 350, `four ticks within ${times[3]! - times[0]!} ms`);
      assert.equal(ids.size, times.length);
      await Promise.all(handles.map((h) => h.cancel()));
      await assert.rejects(
        ctx(0).messageQueue.repeat('ticks', 1, { every: 200 }, {} as { name: string }),
        ValidationError,
      );
    });

    it('stats count waiting, delayed, in-flight and dead messages, with rates', async () => {
      const mq = ctx(0).messageQueue;
      await mq.send('st', 1);
      await mq.send('st', 2);
      await mq.sendDelayed('st', 3, 60_000);
      let stats = await mq.stats('st');
      assert.deepEqual([stats.waiting, stats.delayed, stats.inFlight, stats.dead], [2, 1, 0, 0]);
      const hold = gate();
      mq.receive<number>(
        'st',
        async (m) => {
          if (m.data !== 1) return MessageStatus.FAILED;
          await hold.promise;
          return MessageStatus.SUCCESS;
        },
        { concurrency: 2 },
      );
      await until(async () => (await mq.stats('st')).dead === 1, 5000, 'one dead');
      stats = await mq.stats('st');
      assert.deepEqual([stats.waiting, stats.delayed, stats.inFlight, stats.dead], [0, 1, 1, 1]);
      assert.ok(stats.windowMs > 0);
      assert.ok(stats.rates.enqueued > 0 && stats.rates.failed > 0);
      hold.open();
    });

    it('cancels a waiting message', async () => {
      const mq = ctx(0).messageQueue;
      const id = await mq.sendDelayed('cx', 'x', 60_000);
      assert.equal(await mq.cancel('cx', id), true);
      assert.equal(await mq.cancel('cx', id), false);
      assert.equal((await mq.stats('cx')).delayed, 0);
    });

    it('lists, retries, removes and purges dead letters', async () => {
      const mq = ctx(0).messageQueue;
      let healthy = false;
      const ok: string[] = [];
      for (const data of ['a', 'b', 'c', 'd']) {
        await mq.send('dl', data, { headers: { tenant: 't1' } });
      }
      mq.receive<string>('dl', (m) => {
        if (!healthy) return MessageStatus.FAILED;
        ok.push(m.data);
        return MessageStatus.SUCCESS;
      });
      await until(async () => (await mq.stats('dl')).dead === 4, 5000, 'four dead');
      const dead = await mq.deadLetters<string>('dl');
      assert.deepEqual(
        dead.map((d) => d.data),
        ['a', 'b', 'c', 'd'],
      );
      assert.deepEqual(dead[0]!.headers, { tenant: 't1' });
      assert.equal(dead[0]!.queue, 'dl');
      assert.ok(dead[0]!.deadAt >= dead[0]!.enqueuedAt);
      assert.equal((await mq.deadLetters('dl', 2)).length, 2);
      healthy = true;
      assert.equal(await mq.retryDeadLetter('dl', dead[0]!.id), true);
      await until(() => ok.length === 1, 5000, 'the retried message');
      assert.equal(await mq.removeDeadLetter('dl', dead[1]!.id), true);
      assert.equal(await mq.removeDeadLetter('dl', dead[1]!.id), false);
      healthy = false;
      assert.equal(await mq.purgeDeadLetters('dl'), 2);
      assert.deepEqual(await mq.deadLetters('dl'), []);
      assert.equal(await mq.retryDeadLetters('dl'), 0);
    });

    it('refuses bad input with typed errors', async () => {
      const mq = ctx(0).messageQueue;
      for (const bad of ['', 'has space', 'a..b', 'wild.*', 42]) {
        await assert.rejects(mq.send(bad as string, 1), ValidationError);
        assert.throws(() => mq.receive(bad as string, () => {}), ValidationError);
        await assert.rejects(mq.stats(bad as string), ValidationError);
      }
      await assert.rejects(mq.send('big', 'x'.repeat(70 * 1024)), PayloadTooLargeError);
      await assert.rejects(mq.send('fn', { f: () => 1 }), SerializationError);
      const evil: unknown = JSON.parse('{"a":{"__proto__":{"polluted":true}}}');
      await assert.rejects(mq.send('evil', evil), SerializationError);
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      await assert.rejects(mq.send('opts', 1, { priority: 1.5 }), ValidationError);
      await assert.rejects(mq.send('opts', 1, { delay: -1 }), ValidationError);
      await assert.rejects(
        mq.send('opts', 1, { headers: { n: 1 as unknown as string } }),
        ValidationError,
      );
      await assert.rejects(mq.sendDelayed('opts', 1, Number.NaN), ValidationError);
      await assert.rejects(
        mq.sendWithRetry('opts', 1, { maxRetries: 1, backoff: 'linear' as 'fixed', delay: 1 }),
        ValidationError,
      );
      assert.throws(() => mq.receive('opts', () => {}, { concurrency: 0 }), ValidationError);
      assert.throws(
        () => mq.receive('opts', () => {}, { concurrency: 2, prefetch: 1 }),
        ValidationError,
      );
      assert.throws(() => mq.receive('opts', 'nope' as never), ValidationError);
      assert.equal((await mq.stats('opts')).waiting, 0);
    });
  });
}
