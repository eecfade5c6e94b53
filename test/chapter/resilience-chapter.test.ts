/**
 * The chapter's error handling and recovery examples, as written there, through a real host
 * and `context.<name>`, on the embedded backend and on Redis: error propagation over
 * `plugin.error`, the circuit breaker (`create('external-service', { failureThreshold: 50,
 * successThreshold: 10, timeout: 5000 })`, `execute`, `error.type === 'CircuitOpenError'` →
 * fallback) and degrading to cached data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import type { CircuitStateChange } from '../../src/resilience/types.js';
import { chapterHost, type ChapterHost } from './chapter-host.js';

// The two backends side by side (hosts of their own; each waits out the breaker's 5 s timeout),
// the tests of each one after another.
describe("the chapter's resilience examples", { concurrency: true }, () => {
  for (const [label, redis] of [
    ['embedded backend', false],
    ['Redis', true],
  ] as const) {
    describe(`the chapter's resilience examples (${label})`, { concurrency: false }, () => {
      let host: ChapterHost;
      let a: PluginContext;
      let b: PluginContext;
      before(async () => {
        host = await chapterHost(redis, ['plugin-a', 'plugin-b']);
        a = host.contexts['plugin-a']!;
        b = host.contexts['plugin-b']!;
      });
      after(() => host.stop());

      it('1. error propagation: plugin A publishes plugin.error and rethrows, plugin B listens', async () => {
        const context = a;
        const seen: unknown[] = [];
        let heard!: () => void;
        const arrived = new Promise<void>((resolve) => (heard = resolve));
        // 插件B监听错误
        b.eventBus.subscribe('plugin.error', (errorData) => {
          seen.push(errorData);
          heard();
        });
        const riskyOperation = async (): Promise<void> => {
          throw new Error('disk full');
        };
        const attempt = async () => {
          // 插件A抛出错误
          try {
            await riskyOperation();
          } catch (error: any) {
            void context.eventBus.publish('plugin.error', {
              pluginId: 'plugin-a',
              error: error.message,
              stack: error.stack,
            });
            throw error;
          }
        };
        await assert.rejects(attempt(), /disk full/);
        await arrived;
        const errorData = seen[0] as { pluginId: string; error: string; stack: string };
        assert.equal(errorData.pluginId, 'plugin-a');
        assert.equal(errorData.error, 'disk full');
        assert.match(errorData.stack, /riskyOperation/);
      });

      it('2. circuit breaker: opens on failures, answers with the fallback while open, closes after 10 probe successes', async () => {
        const context = a;
        let healthy = false;
        let serviceCalls = 0;
        const callExternalService = async (): Promise<string> => {
          serviceCalls++;
          if (!healthy) throw new Error('external service down');
          return 'live result';
        };
        const fallbackResult = () => 'degraded result';
        const handler = async () => {
          // 创建熔断器
          const circuitBreaker = context.circuitBreakerFactory.create('external-service', {
            failureThreshold: 50,
            successThreshold: 10,
            timeout: 5000,
          });

          // 使用熔断器
          try {
            const result = await circuitBreaker.execute(() => callExternalService());
            return result;
          } catch (error: any) {
            if (error.type === 'CircuitOpenError') {
              // 熔断器打开，返回降级结果
              return fallbackResult();
            }
            throw error;
          }
        };

        // Failing calls reach the caller until the window holds its minimum of 10 calls.
        for (let i = 0; i < 10; i++) await assert.rejects(handler(), /external service down/);
        const breaker = b.circuitBreakerFactory.get('external-service')!;
        assert.equal(breaker.state, 'open', 'one breaker per name: plugin B sees it open too');
        const halfOpen = new Promise<CircuitStateChange>((resolve) =>
          breaker.on('half-open', resolve),
        );

        // Open: the fallback at once, the service is not called.
        assert.equal(await handler(), 'degraded result');
        assert.equal(serviceCalls, 10);
        assert.equal(breaker.stats.rejectedTotal, 1);

        // After `timeout` (5 s) half-open; 10 successful probes close it.
        // (The breaker's timer never keeps a process alive; this test's idle host would exit.)
        const keepAlive = setInterval(() => {}, 1000);
        await halfOpen.finally(() => clearInterval(keepAlive));
        healthy = true;
        for (let i = 0; i < 9; i++) assert.equal(await handler(), 'live result');
        assert.equal(breaker.state, 'half-open');
        assert.equal(await handler(), 'live result');
        assert.equal(breaker.state, 'closed');
      });

      it('3. degrading: the database fails, the cached users are returned', async () => {
        const context = a;
        const cache = context.cache;
        await cache.set('users:all', [{ id: 'u1', name: 'Ann' }], { ttl: 60 });
        const database = {
          query: async (_sql: string): Promise<unknown> => {
            throw new Error('connection refused');
          },
        };

        // 降级策略示例
        async function getUsers() {
          try {
            return await database.query('SELECT * FROM users');
          } catch {
            // 数据库失败，返回缓存数据
            context.logger.warn('Database failed, falling back to cache');
            return cache.get('users:all');
          }
        }

        assert.deepEqual(await getUsers(), [{ id: 'u1', name: 'Ann' }]);

        // The same through a breaker's fallback argument.
        const users = await context.circuitBreakerFactory.create('database').execute(
          () => database.query('SELECT * FROM users'),
          () => cache.get('users:all'),
        );
        assert.deepEqual(users, [{ id: 'u1', name: 'Ann' }]);
      });
    });
  }
});
