import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createHost, definePlugin, type Host, type PluginContext } from '../../src/index.js';
import { silentLogger } from './helpers.js';

/** A counter plugin: `counter.bump()` answers how often it was called in this instance. */
function counter(version: string, step = 1) {
  return definePlugin({
    name: 'counter',
    version,
    activate(context) {
      let count = 0;
      context.rpcServer.register('counter', {
        bump: () => (count += step),
        version: () => version,
      });
    },
  });
}

/** Depends on `counter`; counts its own activations across instances. */
let dependentActivations = 0;
const dependent = definePlugin({
  name: 'dependent',
  version: '1.0.0',
  dependencies: { counter: '^1.0.0' },
  activate(context) {
    dependentActivations++;
    context.rpcServer.register('dependent', {
      twice: async () => [
        await context.rpcClient.call('counter', 'bump', []),
        await context.rpcClient.call('counter', 'bump', []),
      ],
    });
  },
});

/** Unrelated to `counter`: keeps a count that must survive a reload of `counter`. */
let bystanderActivations = 0;
const bystander = definePlugin({
  name: 'bystander',
  version: '1.0.0',
  activate(context) {
    bystanderActivations++;
    let seen = 0;
    context.rpcServer.register('bystander', { seen: () => ++seen });
  },
});

/** A started host running `plugin` and a probe plugin whose context calls it. */
async function startWithProbe(plugin: string): Promise<{ host: Host; probe: PluginContext }> {
  let probe!: PluginContext;
  const host = await createHost({
    logger: silentLogger,
    plugins: [
      plugin,
      definePlugin({ name: 'probe', version: '0.0.0', activate: (c) => void (probe = c) }),
    ],
  });
  await host.start();
  return { host, probe };
}

describe('host.reload', () => {
  it('swaps one plugin, restarts its dependents after it and leaves the others alone', async () => {
    dependentActivations = 0;
    bystanderActivations = 0;
    let probe!: PluginContext;
    const host = await createHost({
      logger: silentLogger,
      plugins: [
        counter('1.0.0'),
        dependent,
        bystander,
        definePlugin({ name: 'probe', version: '0.0.0', activate: (c) => void (probe = c) }),
      ],
    });
    await host.start();
    try {
      const events: string[] = [];
      host.onLifecycle((event) => events.push(`${event.type}:${event.plugin}`));
      assert.equal(await probe.rpcClient.call('counter', 'bump', []), 1);
      assert.equal(await probe.rpcClient.call('bystander', 'seen', []), 1);

      const result = await host.reload('counter', counter('1.1.0', 10));
      assert.deepEqual(result, {
        ok: true,
        restarted: ['counter', 'dependent'],
        active: ['counter', 'dependent'],
        failed: [],
        skipped: [],
      });
      // Dependents stop first and start after it; nothing else is touched.
      assert.deepEqual(events, [
        'stopped:dependent',
        'stopped:counter',
        'activating:counter',
        'activated:counter',
        'activating:dependent',
        'activated:dependent',
      ]);
      assert.equal(await probe.rpcClient.call('counter', 'version', []), '1.1.0');
      assert.deepEqual(await probe.rpcClient.call('dependent', 'twice', []), [10, 20]);
      assert.equal(dependentActivations, 2);
      assert.equal(bystanderActivations, 1);
      assert.equal(await probe.rpcClient.call('bystander', 'seen', []), 2, 'state kept');
      assert.equal(host.health().plugins['counter']?.version, '1.1.0');
      assert.equal(host.health().ok, true);

      const audit = await probe.auditLogger.query({ plugin: 'host', target: 'counter' });
      assert.deepEqual(
        audit.map((e) => e.action),
        ['plugin.activated', 'plugin.stopped', 'plugin.reloaded', 'plugin.activated'],
      );
      assert.deepEqual(audit[2]?.metadata, {
        from: '1.0.0',
        to: '1.1.0',
        restarted: ['counter', 'dependent'],
      });
    } finally {
      await host.stop();
    }
  });

  it('releases what the old instance held', async () => {
    const ticks = new Map<string, number>();
    const ticking = (version: string) =>
      definePlugin({
        name: 'ticking',
        version,
        activate(context) {
          context.timers.setInterval(
            () => void ticks.set(version, (ticks.get(version) ?? 0) + 1),
            2,
          );
          context.eventBus.subscribe('ping', () => undefined);
        },
      });
    const host = await createHost({ logger: silentLogger, plugins: [ticking('1.0.0')] });
    await host.start();
    try {
      const before = host.health().plugins['ticking']!.holdings!;
      await host.reload('ticking', ticking('2.0.0'));
      const after = host.health().plugins['ticking']!.holdings!;
      assert.deepEqual(after, before, 'the new instance holds what the old one did, no more');
      const oldTicks = ticks.get('1.0.0');
      // The new instance's timer runs; the old one's was cancelled with its context.
      while ((ticks.get('2.0.0') ?? 0) < 5) await new Promise((r) => setTimeout(r, 2));
      assert.equal(ticks.get('1.0.0'), oldTicks);
    } finally {
      await host.stop();
    }
  });

  it('keeps the old version running when the new one does not load, and reports a failed activate', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-reload-'));
    const folder = join(dir, 'greeter');
    await mkdir(folder);
    await writeFile(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'greeter', version: '1.0.0', type: 'module', main: 'index.js' }),
    );
    const write = (body: string) => writeFile(join(folder, 'index.js'), body);
    await write(
      `export default { activate(c) { c.rpcServer.register('greeter', { hi: () => 'hello' }); } };`,
    );
    const { host, probe } = await startWithProbe(folder);
    try {
      // Same path, new code: imported fresh.
      await write(
        `export default { activate(c) { c.rpcServer.register('greeter', { hi: () => 'bonjour' }); } };`,
      );
      assert.equal((await host.reload('greeter')).ok, true);
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'bonjour');

      await write(`export default { activate(c) { c.rpcServer.register('greeter', { hi: ( };`);
      await assert.rejects(host.reload('greeter'), {
        code: 'PB_INVALID_MANIFEST',
        message: /syntax error in .*index\.js:1:/,
      });
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'bonjour', 'old one runs');

      await write(`export default { activate() { throw new Error('template missing'); } };`);
      const failed = await host.reload('greeter');
      assert.deepEqual([failed.ok, failed.failed], [false, ['greeter']]);
      assert.match(host.health().plugins['greeter']!.reason!, /template missing/);

      await write(
        `export default { activate(c) { c.rpcServer.register('greeter', { hi: () => 'hallo' }); } };`,
      );
      assert.equal((await host.reload('greeter')).ok, true, 'a failed plugin reloads too');
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'hallo');
    } finally {
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a rename, an unknown plugin, a missing dependency and a host not running', async () => {
    const host = await createHost({ logger: silentLogger, plugins: [counter('1.0.0')] });
    await assert.rejects(host.reload('counter'), { code: 'PB_HOST_STATE' });
    await host.start();
    try {
      await assert.rejects(host.reload('nope'), { code: 'PB_VALIDATION', message: /"counter"/ });
      await assert.rejects(
        host.reload('counter', definePlugin({ name: 'other', version: '1.0.0', activate() {} })),
        { code: 'PB_VALIDATION', message: /keep the plugin's name/ },
      );
      await assert.rejects(
        host.reload(
          'counter',
          definePlugin({
            name: 'counter',
            version: '1.0.0',
            dependencies: { ghost: '^1.0.0' },
            activate() {},
          }),
        ),
        { code: 'PB_MISSING_DEPENDENCY' },
      );
      assert.equal(host.health().plugins['counter']?.state, 'active');
    } finally {
      await host.stop();
    }
    await assert.rejects(host.reload('counter'), { code: 'PB_HOST_STATE' });
  });

  it('lets a reload in progress finish before stop, which then stops everything', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = (version: string, wait: boolean) =>
      definePlugin({
        name: 'slow',
        version,
        async activate() {
          if (wait) await gate;
        },
      });
    const host = await createHost({ logger: silentLogger, plugins: [slow('1.0.0', false)] });
    await host.start();
    const reloading = host.reload('slow', slow('2.0.0', true));
    // The reload is activating the new version when stop() comes.
    while (host.health().plugins['slow']?.state !== 'activating')
      await new Promise((r) => setTimeout(r, 1));
    const stopping = host.stop();
    release();
    assert.equal((await reloading).ok, true);
    await stopping;
    assert.equal(host.health().plugins['slow']?.state, 'stopped');
    assert.equal(host.health().plugins['slow']?.version, '2.0.0');
  });

  it("imports the plugin folder's other files fresh too, but not modules outside it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pb-reload-files-'));
    const folder = join(dir, 'plugins', 'greeter');
    await mkdir(join(folder, 'lib'), { recursive: true });
    // Outside the plugin's folder: one instance however often the plugin reloads.
    await writeFile(
      join(dir, 'shared.mjs'),
      'globalThis.sharedLoads = (globalThis.sharedLoads ?? 0) + 1;\nexport const shared = {};\n',
    );
    await writeFile(
      join(folder, 'package.json'),
      JSON.stringify({ name: 'greeter', version: '1.0.0', type: 'module' }),
    );
    await writeFile(
      join(folder, 'index.js'),
      `import { greeting } from './lib/greeting.js';
import { shared } from '../../shared.mjs';
export default {
  activate(c) {
    shared.seen = (shared.seen ?? 0) + 1;
    c.rpcServer.register('greeter', { hi: () => greeting + ' #' + shared.seen });
  },
};
`,
    );
    const lib = (greeting: string) =>
      writeFile(join(folder, 'lib', 'greeting.js'), `export const greeting = '${greeting}';\n`);
    await lib('hello');
    const { host, probe } = await startWithProbe(folder);
    try {
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'hello #1');
      await lib('bonjour');
      assert.equal((await host.reload('greeter')).ok, true);
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'bonjour #2');
      await lib('hallo');
      assert.equal((await host.reload('greeter')).ok, true);
      assert.equal(await probe.rpcClient.call('greeter', 'hi', []), 'hallo #3');
      assert.equal((globalThis as { sharedLoads?: number }).sharedLoads, 1);
    } finally {
      await host.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
