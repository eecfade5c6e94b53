import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryNetwork } from '../../../src/backends/memory/memory-network.js';
import type { PluginContext } from '../../../src/context/types.js';
import { createHost, definePlugin, type HostOptions } from '../../../src/host/index.js';
import type { AuditEntry } from '../../../src/security/audit/types.js';
import { captureLogger } from '../../backends/redis/support.js';
import { silentLogger } from '../../support/runtime.js';
import { KEY } from './sinks.js';

type Host = Awaited<ReturnType<typeof createHost>>;

/** A host on `network` running plugin `app` (and any `extra`), handing over app's context. */
async function start(
  network: MemoryNetwork,
  options: Partial<HostOptions> = {},
  extra: ReturnType<typeof definePlugin>[] = [],
): Promise<{ host: Host; app: PluginContext }> {
  let app!: PluginContext;
  const host = await createHost({
    logger: silentLogger,
    backend: { memory: network },
    audit: { checkpointKey: KEY },
    ...options,
    plugins: [
      definePlugin({ name: 'app', version: '2.0.0', activate: (c) => void (app = c) }),
      ...extra,
    ],
  });
  await host.start();
  return { host, app };
}

const strip = (e: AuditEntry): Partial<AuditEntry> => ({
  action: e.action,
  actor: e.actor,
  target: e.target,
  plugin: e.plugin,
  metadata: e.metadata,
});

void describe('auditLogger through a host', () => {
  void it('the host audits plugin lifecycle on its own: activated, failed (with the reason), stopped', async () => {
    const network = new MemoryNetwork();
    const broken = definePlugin({
      name: 'broken',
      version: '1.0.0',
      activate: () => {
        throw new Error('no database');
      },
    });
    const { host } = await start(network, {}, [broken]);
    await host.stop();
    const { host: reader, app } = await start(network);
    const entries = await app.auditLogger.query({ plugin: 'host' });
    const first = entries.filter((e) => e.nodeId !== app.nodeId).map(strip);
    assert.deepEqual(
      first.sort((a, b) => `${a.action}${a.target}`.localeCompare(`${b.action}${b.target}`)),
      [
        {
          action: 'plugin.activated',
          actor: 'host',
          target: 'app',
          plugin: 'host',
          metadata: { version: '2.0.0' },
        },
        {
          action: 'plugin.failed',
          actor: 'host',
          target: 'broken',
          plugin: 'host',
          metadata: { version: '1.0.0', reason: 'Plugin "broken" failed to activate: no database' },
        },
        {
          action: 'plugin.stopped',
          actor: 'host',
          target: 'app',
          plugin: 'host',
          metadata: { version: '2.0.0' },
        },
      ],
    );
    assert.deepEqual(await app.auditLogger.verify(), {
      ok: true,
      checked: entries.length,
      head: entries.length,
      anchored: true,
    });
    await reader.stop();
  });

  void it('entries carry the real plugin name and node id; a caller cannot set them', async () => {
    const { host, app } = await start(new MemoryNetwork());
    const entry = await app.auditLogger.log({
      action: 'user.created',
      actor: 'system',
      target: 'u1',
      metadata: { at: new Date(5), nested: { b: 1, a: [1, 'x'] } },
      timestamp: '2024-01-02T03:04:05.000Z',
    });
    assert.deepEqual(
      { ...entry, hash: entry.hash.length },
      {
        seq: 2,
        action: 'user.created',
        actor: 'system',
        target: 'u1',
        metadata: { at: 5, nested: { a: [1, 'x'], b: 1 } },
        timestamp: Date.parse('2024-01-02T03:04:05.000Z'),
        plugin: 'app',
        nodeId: app.nodeId,
        hash: 64,
      },
    );
    for (const forged of ['plugin', 'nodeId', 'seq', 'hash'])
      await assert.rejects(
        app.auditLogger.log({ action: 'a', actor: 'b', [forged]: 'other' }),
        (e: Error & { code: string; details: { field: string } }) =>
          e.code === 'PB_VALIDATION' &&
          e.details.field === forged &&
          /set by the host/.test(e.message),
      );
    await assert.rejects(app.auditLogger.log({ action: '', actor: 'b' }), {
      code: 'PB_VALIDATION',
    });
    await assert.rejects(
      app.auditLogger.log({ action: 'a', actor: 'b', metadata: { m: new Map() } }),
      (e: Error & { details: { field: string } }) => e.details.field === 'metadata.m',
    );
    await host.stop();
  });

  void it('log() without await: a failure is reported as plugin.error, never unhandled; awaited, it rejects only', async () => {
    const { host, app } = await start(new MemoryNetwork());
    const errors: unknown[] = [];
    app.eventBus.subscribe('plugin.error', (data) => void errors.push(data));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void app.auditLogger.log({ action: '', actor: 'system' });
      await assert.rejects(app.auditLogger.log({ action: 'ok', actor: '' }), {
        code: 'PB_VALIDATION',
      });
      const deadline = Date.now() + 5000;
      while (errors.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setImmediate(r));
      assert.equal(errors.length, 1, 'only the call nobody awaited is reported');
      assert.match(JSON.stringify(errors[0]), /auditLogger\.log/);
      assert.match(JSON.stringify(errors[0]), /action/);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    await host.stop();
  });

  void it('redacts configured paths before hashing: stored and returned redacted, the chain verifies', async () => {
    const { host, app } = await start(new MemoryNetwork(), {
      audit: {
        checkpointKey: KEY,
        redact: ['metadata.password', 'metadata.cards.*.number', 'target'],
      },
    });
    const entry = await app.auditLogger.log({
      action: 'user.login',
      actor: 'alice',
      target: 'secret-target',
      metadata: { password: 'hunter2', ip: '10.0.0.1', cards: [{ number: '4111', exp: '12/30' }] },
    });
    const expected = {
      password: '[REDACTED]',
      ip: '10.0.0.1',
      cards: [{ number: '[REDACTED]', exp: '12/30' }],
    };
    assert.deepEqual(entry.metadata, expected);
    assert.equal(entry.target, '[REDACTED]');
    const [stored] = await app.auditLogger.query({ action: 'user.login' });
    assert.deepEqual(stored!.metadata, expected);
    assert.doesNotMatch(JSON.stringify(stored), /hunter2|4111|secret-target/);
    assert.equal((await app.auditLogger.verify()).ok, true);
    await host.stop();
  });

  void it('query filters by action, actor, target, plugin, time and seq, with a limit', async () => {
    const { host, app } = await start(new MemoryNetwork());
    for (let i = 0; i < 10; i++)
      await app.auditLogger.log({
        action: i % 2 ? 'odd' : 'even',
        actor: `a${i % 3}`,
        target: `t${i}`,
        timestamp: 1000 + i,
      });
    const q = async (f: Parameters<PluginContext['auditLogger']['query']>[0]): Promise<string[]> =>
      (await app.auditLogger.query(f)).map((e) => e.target ?? '');
    assert.deepEqual(await q({ action: 'odd' }), ['t1', 't3', 't5', 't7', 't9']);
    assert.deepEqual(await q({ actor: 'a0', action: 'even' }), ['t0', 't6']);
    assert.deepEqual(await q({ target: 't4' }), ['t4']);
    assert.deepEqual(await q({ plugin: 'app', since: 1003, until: new Date(1005) }), [
      't3',
      't4',
      't5',
    ]);
    assert.deepEqual(await q({ plugin: 'app', limit: 2 }), ['t0', 't1']);
    assert.deepEqual(await q({ plugin: 'app', afterSeq: 9 }), ['t8', 't9']);
    await assert.rejects(app.auditLogger.query({ limit: -1 }), { code: 'PB_VALIDATION' });
    await host.stop();
  });

  void it('refuses bad audit options at createHost, naming the field and never echoing the key', async () => {
    const bad = async (audit: unknown, field: string): Promise<void> => {
      await assert.rejects(
        createHost({ logger: silentLogger, audit: audit as HostOptions['audit'] }),
        (e: Error & { code: string; details: { field: string } }) =>
          e.code === 'PB_VALIDATION' &&
          e.details.field === field &&
          !e.message.includes('short-key'),
      );
    };
    await bad({ checkpointKey: 'short-key' }, 'audit.checkpointKey');
    await bad({ redact: ['actor'] }, 'audit.redact[0]');
    await bad({ redact: ['metadata..x'] }, 'audit.redact[0]');
    await bad({ maxEntries: 0 }, 'audit.maxEntries');
    await bad({ file: '' }, 'audit.file');
    await bad({ checkpointkey: KEY }, 'audit.checkpointkey');
  });

  void it('without a checkpoint key: warns once, logs and verifies with anchored: false', async () => {
    const { logger, lines } = captureLogger();
    const { host, app } = await start(new MemoryNetwork(), { audit: {}, logger });
    await app.auditLogger.log({ action: 'a', actor: 'b' });
    await app.auditLogger.log({ action: 'a', actor: 'b' });
    const result = await app.auditLogger.verify();
    assert.deepEqual([result.ok, result.anchored], [true, false]);
    assert.equal(lines.filter((l) => /no checkpoint key/.test(String(l.msg))).length, 1);
    await host.stop();
  });

  void it('a full buffer refuses with BackpressureError (bounded in bytes); it drains and accepts again', async () => {
    const { host, app } = await start(new MemoryNetwork(), {
      audit: { checkpointKey: KEY, maxBufferBytes: 2000 },
    });
    const calls = Array.from({ length: 40 }, (_, i) =>
      app.auditLogger.log({ action: 'bulk', actor: 'x', metadata: { i } }),
    );
    const settled = await Promise.allSettled(calls);
    const refused = settled.filter((s) => s.status === 'rejected');
    assert.ok(refused.length > 0 && refused.length < 40);
    for (const r of refused) assert.equal(r.reason.code, 'PB_BACKPRESSURE');
    await app.auditLogger.log({ action: 'after', actor: 'x' });
    assert.equal((await app.auditLogger.verify()).ok, true);
    await host.stop();
  });

  void it('maxEntries bounds the log: the oldest entries go, the signed start keeps verify working', async () => {
    const network = new MemoryNetwork();
    const { host, app } = await start(network, { audit: { checkpointKey: KEY, maxEntries: 300 } });
    for (let round = 0; round < 4; round++)
      await Promise.all(
        Array.from({ length: 250 }, (_, i) =>
          app.auditLogger.log({ action: 'x', actor: `${round}.${i}` }),
        ),
      );
    const head = network.auditLog.head();
    assert.ok(head.seq > 1000);
    const kept = network.auditLog.records.length;
    assert.ok(kept >= 300 && kept <= 300 + 256 + 256, `kept ${kept}`);
    const result = await app.auditLogger.verify();
    assert.deepEqual([result.ok, result.checked, result.anchored], [true, kept, true]);
    // A start anchor that was not signed with the key is refused.
    network.auditLog.start = {
      ...network.auditLog.start,
      anchor: Buffer.from('{"seq":1,"hash":"x"}'),
    };
    const bad = await app.auditLogger.verify();
    assert.deepEqual([bad.ok, bad.firstBad?.reason], [false, 'bad-checkpoint']);
    await host.stop();
  });
});
