import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntryInput } from '../../../src/security/audit/types.js';
import {
  createCapabilityGuard,
  MAX_DENIALS_PER_WINDOW,
} from '../../../src/security/capabilities/capability-guard.js';
import { PermissionDeniedError } from '../../../src/errors/errors.js';
import { waitFor } from '../../backends/redis/support.js';
import { capsHost } from './caps-host.js';

/** The host's audit core as the guard sees it, keeping what it is given. */
function auditSink(): { entries: AuditEntryInput[]; record(entry: AuditEntryInput): void } {
  const entries: AuditEntryInput[] = [];
  return { entries, record: (entry) => void entries.push(entry) };
}

void describe('capability guard', () => {
  void it('trusts a plugin without a list unless strict; holds a plugin with a list (even empty) to it', () => {
    const audit = auditSink();
    assert.equal(
      createCapabilityGuard({ pluginId: 'p', permissions: undefined, strict: false, audit }),
      undefined,
    );
    const empty = createCapabilityGuard({ pluginId: 'p', permissions: [], strict: false, audit });
    assert.throws(() => empty!.assert('events', 'publish', 'a.b'), PermissionDeniedError);
    const strict = createCapabilityGuard({
      pluginId: 'p',
      permissions: undefined,
      strict: true,
      audit,
    });
    assert.throws(() => strict!.assert('cache', 'read', 'k'), /strict mode/);
    const listed = createCapabilityGuard({
      pluginId: 'p',
      permissions: ['cache:read:k'],
      strict: true,
      audit,
    });
    listed!.assert('cache', 'read', 'k');
  });

  void it('a denial names plugin, capability and target, and says what to add', () => {
    const audit = auditSink();
    const guard = createCapabilityGuard({
      pluginId: 'orders',
      permissions: ['events:publish:order.*'],
      strict: false,
      audit,
    })!;
    assert.throws(
      () => guard.assert('events', 'publish', 'user.created'),
      (e: any) => {
        assert.ok(e instanceof PermissionDeniedError);
        assert.match(e.message, /Plugin "orders"/);
        assert.match(e.message, /Add "events:publish:user\.created"/);
        assert.match(e.message, /permissions/);
        assert.deepEqual(e.details, {
          plugin: 'orders',
          capability: 'events:publish:user.created',
          area: 'events',
          action: 'publish',
          target: 'user.created',
          declared: true,
        });
        return true;
      },
    );
    assert.deepEqual(audit.entries, [
      {
        action: 'permission.denied',
        actor: 'orders',
        target: 'events:publish:user.created',
        metadata: {
          plugin: 'orders',
          capability: 'events:publish:user.created',
          area: 'events',
          action: 'publish',
          target: 'user.created',
        },
      },
    ]);
  });

  void it('rpc calls: a capability for the service or for service.method grants', () => {
    const audit = auditSink();
    const guard = createCapabilityGuard({
      pluginId: 'c',
      permissions: ['rpc:call:users', 'rpc:call:payment.*'],
      strict: false,
      audit,
    })!;
    guard.assert('rpc', 'call', 'users', 'get');
    guard.assert('rpc', 'call', 'payment', 'charge');
    guard.assert('rpc', 'call', 'payment', 'refund');
    assert.throws(
      () => guard.assert('rpc', 'call', 'stock', 'level'),
      (e: any) => e.details.capability === 'rpc:call:stock.level',
    );
    // Not a string: refused, never matched by accident.
    assert.throws(() => guard.assert('rpc', 'call', 42 as never, 'x'), PermissionDeniedError);
  });

  void it('a checker remembers what it allowed, never what it denied', () => {
    const audit = auditSink();
    const guard = createCapabilityGuard({
      pluginId: 'c',
      permissions: ['rpc:call:payment.charge', 'events:publish:user.*'],
      strict: false,
      audit,
    })!;
    const call = guard.checker('rpc', 'call');
    for (let i = 0; i < 3; i++) {
      call('payment', 'charge');
      assert.throws(() => call('payment', 'refund'), PermissionDeniedError);
      assert.throws(() => call('payment'), PermissionDeniedError);
    }
    const publish = guard.checker('events', 'publish');
    for (const name of ['user.a', 'user.b', 'user.c', 'user.d', 'user.e', 'user.a']) publish(name);
    assert.throws(() => publish('user'), PermissionDeniedError);
    assert.throws(() => publish('order.a'), PermissionDeniedError);
    assert.throws(() => publish(undefined as never), PermissionDeniedError);
  });

  void it('a fresh checker refuses a target that is not a string (its empty slots match nothing)', () => {
    const audit = auditSink();
    const guard = createCapabilityGuard({
      pluginId: 'c',
      permissions: ['events:publish:user.*', 'cache:read:k'],
      strict: false,
      audit,
    })!;
    // Nothing allowed yet: the remembered slots are empty and must not match `undefined`.
    assert.throws(
      () => guard.assert('events', 'publish', undefined as never),
      PermissionDeniedError,
    );
    assert.throws(() => guard.checker('cache', 'read')(undefined as never), PermissionDeniedError);
    guard.assert('cache', 'read', 'k');
    // One slot filled, three still empty.
    assert.throws(() => guard.assert('cache', 'read', undefined as never), PermissionDeniedError);
  });

  void it('a denial storm is audited once per capability and window, then as a count', async () => {
    const audit = auditSink();
    const guard = createCapabilityGuard({
      pluginId: 'noisy',
      permissions: [],
      strict: false,
      audit,
      denialWindowMs: 30,
    })!;
    for (let i = 0; i < 1000; i++) {
      assert.throws(() => guard.assert('cache', 'read', 'k'));
    }
    for (let i = 0; i < MAX_DENIALS_PER_WINDOW + 50; i++) {
      assert.throws(() => guard.assert('cache', 'read', `other:${i}`));
    }
    assert.equal(audit.entries.length, 1 + MAX_DENIALS_PER_WINDOW - 1);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const summaries = audit.entries.slice(MAX_DENIALS_PER_WINDOW);
    assert.deepEqual(
      summaries.map((e) => [e.target, e.metadata?.['repeated'], e.metadata?.['suppressed']]),
      [
        ['cache:read:k', 999, undefined],
        ['*', undefined, 51],
      ],
    );
    // A new window audits at once again.
    assert.throws(() => guard.assert('cache', 'read', 'k'));
    assert.equal(audit.entries.length, MAX_DENIALS_PER_WINDOW + 3);
    // When the plugin stops, what is pending is written at once.
    assert.throws(() => guard.assert('cache', 'read', 'k'));
    guard.flush();
    assert.deepEqual(audit.entries.at(-1)?.metadata?.['repeated'], 1);
  });
});

for (const redis of [false, true]) {
  void describe(`capabilities on a host (${redis ? 'Redis' : 'memory'})`, () => {
    void it('strict mode: no list denies everything, a list allows what it says', async () => {
      const env = await capsHost(
        redis,
        { listed: ['events:publish:listed.*'], none: undefined },
        { strictPermissions: true },
      );
      try {
        const { listed, none } = env.contexts;
        assert.equal(env.host.strictPermissions, true);
        await listed!.eventBus.publish('listed.ok', {});
        await assert.rejects(none!.eventBus.publish('listed.ok', {}), (e: any) => {
          assert.equal(e.code, 'PB_PERMISSION_DENIED');
          assert.equal(e.details.declared, false);
          assert.match(e.message, /declares no permissions/);
          assert.match(e.message, /strictPermissions/);
          return true;
        });
        assert.throws(() => none!.rpcServer.register('x', { m: () => 1 }), PermissionDeniedError);
      } finally {
        await env.stop();
      }
    });

    void it('default mode trusts a plugin without a list; denials are audited under the real name', async () => {
      const env = await capsHost(redis, { admin: undefined, listed: ['queue:send:jobs'] });
      try {
        const { admin, listed } = env.contexts;
        assert.equal(env.host.strictPermissions, false);
        await admin!.cache.set('anything', 1);
        await listed!.messageQueue.send('jobs', {});
        await assert.rejects(listed!.messageQueue.send('other', {}), PermissionDeniedError);
        // The host audits without blocking the denied call: its entry lands shortly after.
        const denials = async () =>
          (await admin!.auditLogger.query({ action: 'permission.denied' })).filter(
            (e) => e.actor === 'listed',
          );
        await waitFor(async () => (await denials()).length > 0, 3000, 'the denial audit');
        const mine = await denials();
        assert.equal(mine.length, 1);
        assert.equal(mine[0]!.target, 'queue:send:other');
        assert.equal(mine[0]!.plugin, 'host');
        assert.deepEqual(mine[0]!.metadata?.['capability'], 'queue:send:other');
      } finally {
        await env.stop();
      }
    });
  });
}

void describe('subscriptions by pattern stay within the capability', () => {
  void it('an event whose segment holds ":" reaches a wildcard subscription only if the capability covers its name', async () => {
    const env = await capsHost(false, {
      watcher: ['events:subscribe:user.*'],
      sender: undefined,
    });
    try {
      const { watcher, sender } = env.contexts;
      const got: string[] = [];
      watcher!.eventBus.subscribe('user.*', (data) => void got.push((data as { n: string }).n));
      // A once() subscription is not used up by an event it may not see.
      const first: string[] = [];
      watcher!.eventBus.once('user.*', (data) => void first.push((data as { n: string }).n));
      // `user.*` in the bus matches `user.admin:reset` (one dot segment), but the capability
      // reads it as user, admin, reset: not covered, so never delivered to this plugin.
      const waited = watcher!.eventBus.waitFor('user.*', { timeout: 5000 });
      await sender!.eventBus.publish('user.admin:reset', { n: 'hidden' });
      await sender!.eventBus.publish('user.created', { n: 'shown' });
      await waitFor(async () => got.length > 0, 3000, 'the allowed event');
      assert.deepEqual(got, ['shown']);
      assert.deepEqual(first, ['shown']);
      const { meta } = await waited;
      assert.equal(meta.event, 'user.created');
    } finally {
      await env.stop();
    }
  });
});

void describe('transaction resources are reached only with tx capabilities', () => {
  void it('rpc:register:** / rpc:call:** do not reach the $tx.<name> services of transaction resources', async () => {
    const env = await capsHost(false, {
      rogue: ['rpc:register:**', 'rpc:call:**'],
      owner: ['tx:register:orders', 'tx:enlist:orders'],
    });
    try {
      const { rogue } = env.contexts;
      // Registering the service would take the resource's prepare/commit/rollback calls.
      assert.throws(
        () => rogue!.rpcServer.register('$tx.orders', { prepare: () => ({ vote: 'yes' }) }),
        (e: any) =>
          e instanceof PermissionDeniedError && e.details.capability === 'tx:register:orders',
      );
      // Calling it would drive another transaction's resource without enlisting it.
      await assert.rejects(
        rogue!.rpcClient.call('$tx.orders', 'commit', []),
        (e: any) =>
          e instanceof PermissionDeniedError && e.details.capability === 'tx:enlist:orders',
      );
    } finally {
      await env.stop();
    }
  });
});

void describe('denials of oversized targets', () => {
  void it('a denial of a huge target is still audited (clipped), and the error stays short', async () => {
    const env = await capsHost(false, { admin: undefined, small: ['events:publish:order.*'] });
    try {
      const { admin, small } = env.contexts;
      const huge = `user.${'x'.repeat(100_000)}`;
      await assert.rejects(small!.eventBus.publish(huge, {}), (e: any) => {
        assert.ok(e instanceof PermissionDeniedError);
        assert.ok(e.message.length < 2000, `message of ${e.message.length} characters`);
        return true;
      });
      const denials = async () =>
        (await admin!.auditLogger.query({ action: 'permission.denied' })).filter(
          (e) => e.actor === 'small',
        );
      await waitFor(async () => (await denials()).length > 0, 3000, 'the denial audit');
      const [entry] = await denials();
      assert.ok(entry!.target!.startsWith('events:publish:user.xxx'));
      assert.ok(entry!.target!.length < 1024);
    } finally {
      await env.stop();
    }
  });
});
