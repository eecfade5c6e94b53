/**
 * The chapter's examples, as written there, through a real host and `context.<name>`, on the
 * embedded backend and on Redis: event bus, RPC, plugin dependencies in package.json, service
 * discovery, plugin chain, error propagation over `plugin.error`, message queues (send/receive,
 * sendDelayed, sendWithRetry), batch processing, and the "answer 202, work in the background"
 * pattern.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { createHost, definePlugin } from '../../src/host/index.js';
import { MessageStatus } from '../../src/index.js';
import { silentLogger } from '../support/runtime.js';
import { deleteNamespace, SHARED_REDIS_URL, uniqueNamespace } from '../backends/redis/support.js';

/** Plugins `a` and `b`, started, handing us their contexts; `stop` ends everything. */
interface TwoPlugins {
  a: PluginContext;
  b: PluginContext;
  stop(): Promise<void>;
}

function plugin(name: string, contexts: Record<string, PluginContext>) {
  return definePlugin({
    name,
    version: '1.0.0',
    activate: (context) => void (contexts[name] = context),
  });
}

/** Both plugins on one host: the embedded backend, or Redis (a fresh namespace, deleted after). */
async function oneHost(redis: boolean): Promise<TwoPlugins> {
  const contexts: Record<string, PluginContext> = {};
  const namespace = uniqueNamespace('chapter');
  const host = await createHost({
    logger: silentLogger,
    ...(redis ? { backend: { redis: SHARED_REDIS_URL, namespace } } : {}),
    plugins: [plugin('plugin-a', contexts), plugin('plugin-b', contexts)],
  });
  await host.start();
  return {
    a: contexts['plugin-a']!,
    b: contexts['plugin-b']!,
    stop: async () => {
      await host.stop();
      if (redis) await deleteNamespace(SHARED_REDIS_URL, namespace);
    },
  };
}

// Every example as written, on each backend.
for (const [label, redis] of [
  ['embedded backend', false],
  ['Redis', true],
] as const) {
  describe(`the chapter's examples (${label})`, () => {
    let plugins: TwoPlugins;
    let a: PluginContext;
    let b: PluginContext;
    before(async () => ({ a, b } = plugins = await oneHost(redis)));
    after(() => plugins.stop());

    it('1. event bus: publish, subscribe, unsubscribe', async () => {
      const context = { plugin: a, other: b };
      const logged: unknown[] = [];
      const console = { log: (...args: unknown[]) => logged.push(args) };
      // 插件B订阅事件
      const subscription = context.other.eventBus.subscribe('user.created', (data) => {
        console.log('User created:', data);
      });
      // 插件A发布事件
      await context.plugin.eventBus.publish('user.created', { id: '123', name: 'John' });
      // 取消订阅
      subscription.unsubscribe();
      await context.plugin.eventBus.publish('user.created', { id: '456', name: 'Jane' });
      assert.deepEqual(logged, [['User created:', { id: '123', name: 'John' }]]);
    });

    it('3. RPC: the calculator', async () => {
      // 插件A提供服务
      a.rpcServer.register('calculator', {
        add: (a: number, b: number) => a + b,
        multiply: (a: number, b: number) => a * b,
      });
      // 插件B调用服务
      const result = await b.rpcClient.call('calculator', 'add', [2, 3]);
      assert.equal(result, 5); // 输出: 5
      assert.equal(await b.rpcClient.callWithTimeout('calculator', 'multiply', [2, 3], 1000), 6);
    });

    it('2. service discovery: the payment service', async () => {
      const context = a;
      // 注册服务
      context.serviceRegistry.register('payment-service', {
        name: 'Stripe Payment',
        version: '1.0.0',
        endpoint: 'stripe-payment',
        metadata: { supportedCurrencies: ['USD', 'EUR', 'CNY'] },
      });
      // 发现服务
      const services = await b.serviceRegistry.discover('payment-service');
      const stripeService = services.find((s) =>
        (s.metadata.supportedCurrencies as string[]).includes('USD'),
      );
      assert.equal(stripeService?.endpoint, 'stripe-payment');
    });

    it('3. plugin chain: request.received', async () => {
      // 插件A处理请求
      a.eventBus.subscribe('request.received', async (data: any, next) => {
        data.userId = '123';
        await next(); // 传递给下一个插件
      });
      // 插件B处理请求
      b.eventBus.subscribe('request.received', async (data: any, next) => {
        data.timestamp = Date.now();
        await next(); // 传递给下一个插件
      });
      // 执行插件链
      const result = (await a.pluginChain.execute('request.received', {
        url: '/api/users',
      })) as any;
      assert.deepEqual(Object.keys(result).sort(), ['timestamp', 'url', 'userId']);
    });

    it('error propagation: plugin A publishes plugin.error, plugin B listens', async () => {
      const seen: unknown[] = [];
      // 插件B监听错误
      b.eventBus.subscribe('plugin.error', (errorData) => {
        seen.push(errorData);
      });
      const riskyOperation = async () => {
        throw new Error('disk full');
      };
      // 插件A抛出错误
      const attempt = async () => {
        try {
          await riskyOperation();
        } catch (error: any) {
          await a.eventBus.publish('plugin.error', {
            pluginId: 'plugin-a',
            error: error.message,
            stack: error.stack,
          });
          throw error;
        }
      };
      await assert.rejects(attempt(), /disk full/);
      assert.equal((seen[0] as { pluginId: string }).pluginId, 'plugin-a');
      assert.equal((seen[0] as { error: string }).error, 'disk full');
    });

    it('2. message queue: send an email task, receive it with MessageStatus', async () => {
      const delivered: unknown[] = [];
      let settle!: () => void;
      const twoHandled = new Promise<void>((resolve) => (settle = resolve));
      // A mail sender that bounces one address, so FAILED is exercised too.
      const sendEmail = async (email: unknown): Promise<void> => {
        delivered.push(email);
        if (delivered.length === 2) settle();
        if ((email as { to: string }).to === 'bounce@example.com') throw new Error('bounced');
      };
      let context = a;
      // 发送任务到队列
      const messageId = await context.messageQueue.send('email.tasks', {
        to: 'user@example.com',
        subject: 'Welcome',
        body: 'Hello from Claude Code',
      });
      await context.messageQueue.send('email.tasks', {
        to: 'bounce@example.com',
        subject: 'x',
        body: 'y',
      });
      context = b;
      // 处理队列消息
      context.messageQueue.receive('email.tasks', async (message) => {
        try {
          await sendEmail(message.data);
          return MessageStatus.SUCCESS;
          // eslint-disable-next-line @typescript-eslint/no-unused-vars -- as the example has it
        } catch (error) {
          return MessageStatus.FAILED;
        }
      });
      await twoHandled;
      assert.equal(typeof messageId, 'string');
      assert.deepEqual(delivered[0], {
        to: 'user@example.com',
        subject: 'Welcome',
        body: 'Hello from Claude Code',
      });
      // The FAILED one is kept as a dead letter (a plain send is not retried).
      let dead = await a.messageQueue.deadLetters('email.tasks');
      for (let i = 0; dead.length === 0 && i < 500; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        dead = await a.messageQueue.deadLetters('email.tasks');
      }
      assert.equal((dead[0]?.data as { to: string }).to, 'bounce@example.com');
    });

    it('2. message queue: sendDelayed(queue, message, delay)', async () => {
      const sentAt = Date.now();
      const received = new Promise<number>((resolve) =>
        b.messageQueue.receive('reminders', () => resolve(Date.now())),
      );
      await a.messageQueue.sendDelayed('reminders', { text: 'stand up' }, 200);
      assert.ok((await received) - sentAt >= 199);
    });

    it('2. message queue: sendWithRetry(queue, message, retryOptions)', async () => {
      const attempts: number[] = [];
      const succeeded = new Promise<number>((resolve) =>
        b.messageQueue.receive('flaky.tasks', (message) => {
          attempts.push(message.attempt);
          if (message.attempt < 3) return MessageStatus.FAILED;
          resolve(message.attempt);
          return MessageStatus.SUCCESS;
        }),
      );
      await a.messageQueue.sendWithRetry(
        'flaky.tasks',
        { job: 'sync' },
        { maxRetries: 3, backoff: 'exponential', delay: 20 },
      );
      assert.equal(await succeeded, 3);
      assert.deepEqual(attempts, [1, 2, 3]);
    });

    it('performance 1. batch processing: user-events', async () => {
      const context = a;
      let inserted!: (rows: { table: string; events: unknown[] }) => void;
      const insert = new Promise<{ table: string; events: unknown[] }>((r) => (inserted = r));
      const database = {
        batchInsert: async (table: string, events: unknown[]) => inserted({ table, events }),
      };
      // 批量处理事件
      const batchProcessor = context.batchProcessor.create('user-events', {
        batchSize: 100,
        batchTimeout: 1000,
      });
      // 发送事件
      // (Not awaited, as written: add() resolves at once while there is room, and never rejects
      // then; our lint rule asks for `void` or `await`.)
      // eslint-disable-next-line @typescript-eslint/no-floating-promises
      batchProcessor.add({ type: 'created', userId: '123' });
      // eslint-disable-next-line @typescript-eslint/no-floating-promises
      batchProcessor.add({ type: 'updated', userId: '456' });
      // 处理批量
      batchProcessor.on('batch', async (events) => {
        await database.batchInsert('user_events', events);
      });
      // Fewer than batchSize events: they go together batchTimeout (1 s) after the first one.
      const started = Date.now();
      assert.deepEqual(await insert, {
        table: 'user_events',
        events: [
          { type: 'created', userId: '123' },
          { type: 'updated', userId: '456' },
        ],
      });
      assert.ok(Date.now() - started >= 900);
      await batchProcessor.close();
    });

    it('performance 2. asynchronous processing: answer 202 at once, work in the background', async () => {
      const context = b;
      const done: string[] = [];
      const createUser = async (user: { email: string }) => void done.push(`created ${user.email}`);
      const sendWelcomeEmail = async (email: string) => void done.push(`welcomed ${email}`);
      let finished!: () => void;
      const allDone = new Promise<void>((resolve) => (finished = resolve));
      // The route as an RPC method; context.background.run stands for setTimeout(..., 0): the
      // host reports its failures and waits for it (bounded) when the plugin stops.
      context.rpcServer.register('users-api', {
        post(body: { email: string }) {
          context.background.run('create-user', async () => {
            await createUser(body);
            await sendWelcomeEmail(body.email);
            finished();
          });
          return { status: 202, body: { status: 'accepted' } };
        },
      });
      const response = await a.rpcClient.call('users-api', 'post', [{ email: 'ada@example.com' }]);
      assert.deepEqual(response, { status: 202, body: { status: 'accepted' } });
      await allDone;
      assert.deepEqual(done, ['created ada@example.com', 'welcomed ada@example.com']);
    });
  });
}

describe("the chapter's dependency example: package.json plugins", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'pb-chapter-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  const folderPlugin = async (
    name: string,
    version: string,
    dependencies: Record<string, string>,
  ) => {
    await mkdir(join(dir, name));
    // package.json exactly as in the chapter, plus `main`
    await writeFile(
      join(dir, name, 'package.json'),
      JSON.stringify({ name, version, main: 'index.js', dependencies }),
    );
    await writeFile(
      join(dir, name, 'index.js'),
      `export default { async activate(context) { await context.eventBus.publish('started.${name}'); } };`,
    );
  };

  it('activates auth-plugin and storage-plugin before my-plugin', async () => {
    await folderPlugin('my-plugin', '1.0.0', {
      'auth-plugin': '^1.0.0',
      'storage-plugin': '^2.0.0',
    });
    await folderPlugin('auth-plugin', '1.4.2', {});
    await folderPlugin('storage-plugin', '2.1.0', {});
    const host = await createHost({
      logger: silentLogger,
      plugins: [join(dir, 'my-plugin'), join(dir, 'auth-plugin'), join(dir, 'storage-plugin')],
    });
    const order: string[] = [];
    host.onLifecycle((event) => {
      if (event.type === 'activated') order.push(event.plugin);
    });
    const result = await host.start();
    assert.equal(result.ok, true);
    assert.equal(order.at(-1), 'my-plugin');
    assert.deepEqual(order.slice(0, 2).sort(), ['auth-plugin', 'storage-plugin']);
    await host.stop();
  });

  it('refuses to start when storage-plugin is outside ^2.0.0, naming both plugins', async () => {
    const sub = await mkdtemp(join(dir, 'old-'));
    await mkdir(join(sub, 'storage-plugin'));
    await writeFile(
      join(sub, 'storage-plugin', 'package.json'),
      JSON.stringify({ name: 'storage-plugin', version: '1.9.0', main: 'index.js' }),
    );
    await writeFile(join(sub, 'storage-plugin', 'index.js'), 'export default { activate() {} };');
    const host = await createHost({
      logger: silentLogger,
      plugins: [join(dir, 'my-plugin'), join(dir, 'auth-plugin'), join(sub, 'storage-plugin')],
    });
    await assert.rejects(host.start(), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'PB_DEPENDENCY_VERSION');
      assert.match(e.message, /my-plugin/);
      assert.match(e.message, /storage-plugin/);
      return true;
    });
    await host.stop();
  });
});
