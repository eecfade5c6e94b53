import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definePlugin } from '../../src/host/define-plugin.js';
import { PluginHost } from '../../src/host/plugin-host.js';
import { sharedDeadlines, TICK_MS } from '../../src/util/deadlines.js';
import type { HostOptions, LifecycleEvent, PluginSpec } from '../../src/host/types.js';
import { deferred, fakeRuntimeFactory, silentLogger } from './helpers.js';

function makeHost(options: HostOptions, runtimeOptions?: Parameters<typeof fakeRuntimeFactory>[0]) {
  const fake = fakeRuntimeFactory(runtimeOptions);
  const host = new PluginHost({ logger: silentLogger, ...options }, fake.factory);
  const events: LifecycleEvent[] = [];
  host.onLifecycle((event) => events.push(event));
  return { host, runtime: fake.runtime, events };
}

function p(name: string, extra: Partial<PluginSpec> = {}, log?: string[]): PluginSpec {
  return {
    name,
    version: '1.0.0',
    activate: () => {
      log?.push(`activate ${name}`);
    },
    deactivate: () => {
      log?.push(`deactivate ${name}`);
    },
    ...extra,
  };
}

void describe('host lifecycle', () => {
  void it('activates in dependency order and stops in reverse order', async () => {
    const log: string[] = [];
    const { host, runtime } = makeHost({
      plugins: [
        p('web', { dependencies: { api: '^1.0.0' } }, log),
        p('api', { dependencies: { auth: '^1.0.0', storage: '^1.0.0' } }, log),
        p('storage', {}, log),
        p('auth', {}, log),
      ],
    });
    await host.start();
    assert.deepEqual(log, ['activate auth', 'activate storage', 'activate api', 'activate web']);
    const health = host.health();
    assert.equal(health.status, 'running');
    assert.equal(health.ok, true);
    assert.equal(health.backend, 'memory');
    assert.deepEqual(health.levels, [['auth', 'storage'], ['api'], ['web']]);
    assert.deepEqual(Object.keys(health.plugins), ['auth', 'storage', 'api', 'web']);
    assert.equal(health.plugins['api']!.state, 'active');
    assert.equal(typeof health.plugins['api']!.activationMs, 'number');
    assert.equal(typeof health.plugins['api']!.activateStartedAt, 'number');
    assert.equal(health.plugins['api']!.level, 1);

    log.length = 0;
    await host.stop();
    assert.deepEqual(log, [
      'deactivate web',
      'deactivate api',
      'deactivate auth',
      'deactivate storage',
    ]);
    assert.deepEqual(runtime().releases, ['web', 'api', 'auth', 'storage']);
    assert.equal(runtime().closed, true);
    assert.equal(host.health().status, 'stopped');
    assert.equal(host.health().plugins['web']!.state, 'stopped');
    assert.deepEqual(host.health().plugins['web']!.holdings, {
      subscriptions: 0,
      registrations: 0,
      registryEntries: 0,
      timers: 0,
      background: 0,
      inFlight: 0,
      locks: 0,
      feedWatches: 0,
      cacheTiers: 0,
    });
    const published = runtime().published.map((e) => `${e.event}:${e.data.pluginId}`);
    assert.ok(published.includes('plugin.activated:auth'));
    assert.ok(published.includes('plugin.stopped:web'));
  });

  void it('gives each plugin its own identity and options', async () => {
    const { host, runtime } = makeHost({
      plugins: [
        p('a', { permissions: ['events:publish:a.*'], options: { x: 1 }, version: '2.3.4' }),
      ],
    });
    await host.start();
    const scoped = runtime().scopes.get('a')!;
    assert.deepEqual(scoped.identity, {
      name: 'a',
      version: '2.3.4',
      permissions: ['events:publish:a.*'],
      options: { x: 1 },
    });
    await host.stop();
  });

  void it('activates independent plugins in parallel (their activations overlap)', async () => {
    const running = new Set<string>();
    let maxConcurrent = 0;
    const bothStarted = deferred();
    const slow = (name: string): PluginSpec =>
      p(name, {
        async activate() {
          running.add(name);
          maxConcurrent = Math.max(maxConcurrent, running.size);
          if (running.size === 2) bothStarted.resolve();
          // Each activate waits for the other to have started: only parallel activation ends.
          await bothStarted.promise;
          running.delete(name);
        },
      });
    const { host } = makeHost({ plugins: [slow('one'), slow('two')], activateTimeout: 2_000 });
    await host.start();
    assert.equal(maxConcurrent, 2);
    assert.equal(host.health().ok, true);
    await host.stop();
  });

  void it('reports a throwing activate by name, skips dependents transitively, runs the rest', async () => {
    const { host, runtime, events } = makeHost({
      plugins: [
        p('broken', {
          activate() {
            throw new Error('database unreachable');
          },
        }),
        p('needs-broken', { dependencies: { broken: '^1.0.0' } }),
        p('needs-needs-broken', { dependencies: { 'needs-broken': '*' } }),
        p('fine'),
        p('needs-fine', { dependencies: { fine: '*' } }),
      ],
    });
    const result = await host.start(); // does not throw
    assert.deepEqual(result, {
      ok: false,
      active: ['fine', 'needs-fine'],
      failed: ['broken'],
      skipped: ['needs-broken', 'needs-needs-broken'],
    });
    const health = host.health();
    assert.equal(health.status, 'running');
    assert.equal(health.ok, false);
    const broken = health.plugins['broken']!;
    assert.equal(broken.state, 'failed');
    assert.equal(broken.error?.code, 'PB_PLUGIN_ACTIVATION');
    assert.match(broken.error.message, /Plugin "broken" failed to activate: database unreachable/);
    assert.equal(health.plugins['needs-broken']!.state, 'skipped');
    assert.equal(health.plugins['needs-broken']!.reason, 'depends on "broken", which failed');
    assert.equal(health.plugins['needs-needs-broken']!.state, 'skipped');
    assert.equal(
      health.plugins['needs-needs-broken']!.reason,
      'depends on "needs-broken", which was not started ("broken" failed)',
    );
    assert.equal(health.plugins['fine']!.state, 'active');
    assert.equal(health.plugins['needs-fine']!.state, 'active');
    // The failed plugin's context was released; skipped ones never got one.
    assert.equal(runtime().scopes.get('broken')!.released, true);
    assert.equal(runtime().scopes.has('needs-broken'), false);

    assert.ok(events.some((e) => e.type === 'failed' && e.plugin === 'broken'));
    assert.ok(events.some((e) => e.type === 'skipped' && e.plugin === 'needs-needs-broken'));
    const errorEvent = runtime().published.find((e) => e.event === 'plugin.error');
    assert.equal(errorEvent?.data.pluginId, 'broken');
    assert.equal(errorEvent?.data.code, 'PB_PLUGIN_ACTIVATION');
    assert.ok(
      runtime().published.some((e) => e.event === 'plugin.failed' && e.data.pluginId === 'broken'),
    );

    await host.stop();
    assert.equal(host.health().status, 'stopped');
    assert.equal(host.health().plugins['fine']!.state, 'stopped');
    assert.equal(host.health().plugins['broken']!.state, 'failed');
    assert.equal(runtime().closed, true);
  });

  void it('fails an activate that exceeds its timeout, naming the plugin', async () => {
    const never = new Promise<void>(() => {});
    const { host, runtime } = makeHost({
      activateTimeout: 10_000,
      plugins: [
        p('hangs', { activateTimeout: 30, activate: () => never }),
        p('after', { dependencies: { hangs: '*' } }),
        p('other'),
      ],
    });
    const started = Date.now();
    await host.start();
    assert.ok(Date.now() - started < 2_000);
    const hangs = host.health().plugins['hangs']!;
    assert.equal(hangs.state, 'failed');
    assert.match(hangs.error!.message, /Plugin "hangs" did not finish activate\(\) within 30 ms/);
    assert.equal(hangs.error!.code, 'PB_PLUGIN_ACTIVATION');
    assert.equal(host.health().plugins['after']!.state, 'skipped');
    assert.equal(host.health().plugins['other']!.state, 'active');
    assert.equal(runtime().scopes.get('hangs')!.context.signal.aborted, true);
    const entry = host.timeline().find((e) => e.subject === 'hangs' && e.phase === 'activate');
    assert.equal(entry?.outcome, 'timeout');
    await host.stop();
  });

  void it('applies the default 10 s activateTimeout (on a fake clock)', async (t) => {
    // The bound is kept by the shared deadline scheduler: one interval timer that reads
    // Date.now(). Both are faked, once the scheduler's real timer (kept by an earlier test's
    // bounds until its next tick sees none left) has stopped.
    await idleScheduler();
    t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
    const { host, events } = makeHost({
      plugins: [p('slow', { activate: () => new Promise<void>(() => {}) })],
    });
    const activating = deferred();
    host.onLifecycle((event) => event.type === 'activating' && activating.resolve());
    const starting = host.start();
    await activating.promise;
    await Promise.resolve(); // let the bound be armed
    // The scheduler's first tick stamps the bound (10 s from then); a sweep at 9,999 ms leaves
    // it pending, one at 10,000 ms + one tick fires it (a bound fires at most one tick late).
    t.mock.timers.tick(TICK_MS);
    t.mock.timers.tick(9_999 - TICK_MS);
    await Promise.resolve();
    assert.equal(host.health().plugins['slow']!.state, 'activating');
    t.mock.timers.tick(TICK_MS + 1);
    const result = await starting;
    assert.deepEqual(result.failed, ['slow']);
    assert.match(host.health().plugins['slow']!.error!.message, /within 10000 ms/);
    assert.ok(events.some((e) => e.type === 'failed'));
    await host.stop();
    // One more sweep finds no bound left and stops the scheduler's (fake) timer, so that the
    // next bound starts a real one.
    t.mock.timers.tick(TICK_MS);
    assert.equal(Reflect.get(sharedDeadlines, 'timer'), undefined);
    t.mock.timers.reset();
  });

  void it('bounds a throwing or hanging deactivate and still releases everything', async () => {
    const { host, runtime } = makeHost({
      deactivateTimeout: 40,
      plugins: [
        p('throws', {
          deactivate() {
            throw new Error('nope');
          },
        }),
        p('hangs', { deactivate: () => new Promise<void>(() => {}) }),
        p('clean'),
      ],
    });
    await host.start();
    const started = Date.now();
    await host.stop();
    assert.ok(Date.now() - started < 2_000);
    const health = host.health();
    assert.equal(health.plugins['throws']!.state, 'stopped');
    assert.equal(health.plugins['throws']!.error?.code, 'PB_PLUGIN_DEACTIVATION');
    assert.match(
      health.plugins['throws']!.error.message,
      /Plugin "throws" failed to deactivate: nope/,
    );
    assert.match(
      health.plugins['hangs']!.error!.message,
      /Plugin "hangs" did not finish deactivate\(\) within 40 ms/,
    );
    assert.equal(health.plugins['clean']!.error, undefined);
    for (const name of ['throws', 'hangs', 'clean'])
      assert.equal(runtime().scopes.get(name)!.released, true);
    assert.equal(runtime().closed, true);
  });

  void it('bounds the whole stop by stopTimeout', async () => {
    const { host, runtime } = makeHost({
      deactivateTimeout: 5_000,
      stopTimeout: 80,
      plugins: [
        p('a', { deactivate: () => new Promise<void>(() => {}) }),
        p('b', { dependencies: { a: '*' }, deactivate: () => new Promise<void>(() => {}) }),
      ],
    });
    await host.start();
    const started = Date.now();
    await host.stop();
    assert.ok(Date.now() - started < 1_500, `stop took ${Date.now() - started} ms`);
    assert.equal(host.health().status, 'stopped');
    assert.equal(runtime().closed, true);
    assert.equal(runtime().scopes.get('a')!.released, true);
    assert.equal(runtime().scopes.get('b')!.released, true);
  });

  void it('is idempotent: start twice returns the same promise, stop twice is harmless, restart is refused', async () => {
    const { host } = makeHost({ plugins: [p('a')] });
    const first = host.start();
    assert.equal(host.start(), first);
    await first;
    assert.throws(
      () => host.use(p('late')),
      (e: any) => e.code === 'PB_HOST_STATE',
    );
    const stop1 = host.stop();
    assert.equal(host.stop(), stop1);
    await stop1;
    await host.stop();
    await assert.rejects(host.start(), (e: any) => e.code === 'PB_HOST_STATE');
  });

  void it('throws graph errors from start before any plugin activates, and stop still works', async () => {
    const log: string[] = [];
    const { host } = makeHost({
      plugins: [p('a', {}, log), p('b', { dependencies: { c: '^1.0.0' } }, log)],
    });
    await assert.rejects(
      host.start(),
      (e: any) => e.code === 'PB_MISSING_DEPENDENCY' && /"b" depends on plugin "c"/.test(e.message),
    );
    assert.deepEqual(log, []);
    assert.equal(host.health().status, 'failed');
    assert.equal(host.health().error?.code, 'PB_MISSING_DEPENDENCY');
    await host.stop();
    assert.equal(host.health().status, 'stopped');
  });

  void it('stop during start finishes the current level and starts nothing more', async () => {
    const gate = deferred();
    const entered = deferred();
    const log: string[] = [];
    const { host, runtime } = makeHost({
      plugins: [
        p('first', {
          async activate() {
            entered.resolve();
            await gate.promise;
          },
        }),
        p('second', { dependencies: { first: '*' } }, log),
      ],
    });
    const starting = host.start();
    await entered.promise;
    const stopping = host.stop();
    gate.resolve();
    await starting;
    await stopping;
    assert.deepEqual(log, []);
    assert.equal(host.health().plugins['second']!.state, 'skipped');
    assert.equal(host.health().plugins['first']!.state, 'stopped');
    assert.equal(runtime().closed, true);
  });

  void it('records a timeline of who started when and for how long', async () => {
    const { host } = makeHost({ plugins: [p('a'), p('b', { dependencies: { a: '*' } })] });
    await host.start();
    await host.stop();
    const steps = host.timeline().map((e) => `${e.subject}:${e.phase}:${e.outcome}`);
    assert.deepEqual(steps, [
      'host:load:ok',
      'host:graph:ok',
      'host:backend:ok',
      'host:runtime:ok',
      'a:activate:ok',
      'b:activate:ok',
      'b:deactivate:ok',
      'b:release:ok',
      'a:deactivate:ok',
      'a:release:ok',
      'host:stop:ok',
    ]);
    for (const entry of host.timeline()) {
      assert.equal(typeof entry.startedAt, 'number');
      assert.ok(entry.durationMs >= 0);
    }
  });

  void it('exposes plugin info before start and accepts definePlugin objects via use()', () => {
    const { host } = makeHost({ plugins: [p('a')] });
    host.use(definePlugin(p('b', { dependencies: { a: '^1.0.0' } })));
    assert.deepEqual(
      host.plugins.map((i) => [i.name, i.state, i.dependencies]),
      [
        ['a', 'pending', {}],
        ['b', 'pending', { a: '^1.0.0' }],
      ],
    );
  });

  void it('rejects invalid options and plugin objects where they are given', () => {
    assert.throws(
      () => makeHost({ activateTimeout: -1 }),
      (e: any) => e.code === 'PB_VALIDATION' && e.details.field === 'activateTimeout',
    );
    assert.throws(
      () => makeHost({ plugins: [{ name: 'x', version: 'bad', activate() {} }] }),
      (e: any) => e.details.field === 'version',
    );
    assert.throws(
      () => makeHost({ strictPermissions: 'on' as unknown as boolean }),
      (e: any) => e.code === 'PB_VALIDATION' && e.details.field === 'strictPermissions',
    );
    assert.equal(makeHost({ strictPermissions: true }).host.strictPermissions, true);
    const key = Buffer.alloc(32, 7).toString('base64');
    const { host } = makeHost({ keys: { k: key }, strictPermissions: false });
    assert.equal(host.strictPermissions, false);
    assert.deepEqual(host.keys, { k: key });
  });
});

void describe('host start is bounded', () => {
  void it('rejects with BackendUnavailableError naming the backend when the backend never starts', async () => {
    const fake = fakeRuntimeFactory();
    const host = new PluginHost(
      { logger: silentLogger, startTimeout: 50, plugins: [p('a')] },
      (options) => {
        const runtime = fake.factory(options);
        return Object.assign(runtime, { start: () => new Promise<void>(() => undefined) });
      },
    );
    await assert.rejects(host.start(), (error: any) => {
      assert.equal(error.code, 'PB_BACKEND_UNAVAILABLE');
      assert.equal(error.details.backend, 'memory');
      assert.equal(error.details.timeoutMs, 50);
      assert.match(
        error.message,
        /memory backend did not become ready within 50 ms \(startTimeout\)/,
      );
      return true;
    });
    assert.equal(host.health().status, 'failed');
    assert.equal(fake.runtime().closed, true);
    await host.stop();
  });

  void it('validates startTimeout', async () => {
    assert.throws(
      () =>
        new PluginHost({ logger: silentLogger, startTimeout: -1 }, fakeRuntimeFactory().factory),
      (error: any) => error.code === 'PB_VALIDATION' && error.details.field === 'startTimeout',
    );
  });
});

/** Resolves once the shared deadline scheduler has no timer running (bounded). */
async function idleScheduler(): Promise<void> {
  assert.ok('timer' in sharedDeadlines, 'the scheduler keeps its timer in `timer`');
  const giveUp = Date.now() + 2_000;
  while (Reflect.get(sharedDeadlines, 'timer') !== undefined) {
    assert.ok(Date.now() < giveUp, 'the shared deadline scheduler stops ticking when idle');
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}
