import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../../src/context/types.js';
import { PermissionDeniedError } from '../../../src/errors/errors.js';
import { Redis } from 'ioredis';
import { SHARED_REDIS_URL } from '../../backends/redis/support.js';
import { permissionCluster, type PermissionCluster } from './support.js';

/** Two hosts of one cluster: a change made on one holds on the other once it resolved. */
function hostSuite(label: string, redis: boolean): void {
  void describe(`permissionService across hosts (${label})`, () => {
    let cluster: PermissionCluster;
    let a: PluginContext;
    let b: PluginContext;

    before(async () => {
      cluster = permissionCluster(redis);
      a = await cluster.node({
        permissionPolicy: {
          roles: {
            viewer: { rules: ['user:read'] },
            admin: { inherits: ['viewer'], rules: ['user:*'] },
          },
          actors: { root: { roles: ['admin'] } },
        },
      });
      b = await cluster.node();
    });
    after(async () => cluster.close());

    void it('serves the configured policy on every node', async () => {
      assert.deepEqual(await b.permissionService.check('root', 'user:delete', { userId: 'u1' }), {
        granted: true,
        reason: 'role "admin" allows "user:*"',
      });
      const policy = await b.permissionService.policy();
      assert.deepEqual(Object.keys(policy.roles).sort(), ['admin', 'viewer']);
      assert.deepEqual(policy.actors['root'], { roles: ['admin'], rules: [] });
    });

    void it('never grants on node B what node A revoked, once the revocation resolved', async () => {
      await a.permissionService.grant('kim', 'report:export');
      assert.equal((await b.permissionService.check('kim', 'report:export')).granted, true);
      for (let round = 0; round < 20; round++) {
        await a.permissionService.grant('kim', 'report:export');
        assert.equal((await b.permissionService.check('kim', 'report:export')).granted, true);
        assert.equal(await a.permissionService.revoke('kim', 'report:export'), true);
        assert.deepEqual(await b.permissionService.check('kim', 'report:export'), {
          granted: false,
          reason: 'no rule grants "report:export" to "kim"',
        });
      }
      assert.equal(await a.permissionService.revoke('kim', 'report:export'), false);
    });

    void it('applies a deny made on one node on the other at once, over a role allow', async () => {
      await a.permissionService.assignRole('lee', 'admin');
      assert.equal((await b.permissionService.check('lee', 'user:delete')).granted, true);
      await b.permissionService.deny('lee', 'user:delete');
      assert.deepEqual(await a.permissionService.check('lee', 'user:delete'), {
        granted: false,
        reason: 'actor "lee" denies "user:delete"',
      });
      assert.equal((await a.permissionService.check('lee', 'user:read')).granted, true);
      assert.equal(await a.permissionService.unassignRole('lee', 'admin'), true);
      assert.equal(await a.permissionService.unassignRole('lee', 'admin'), false);
      assert.equal((await b.permissionService.check('lee', 'user:read')).granted, false);
    });

    void it('defines and removes roles; removing one takes it from actors and heirs', async () => {
      await a.permissionService.defineRole('editor', { rules: ['post:edit'] });
      await b.permissionService.defineRole('chief', {
        inherits: ['editor'],
        rules: ['post:publish'],
      });
      await a.permissionService.assignRole('max', 'chief');
      await a.permissionService.assignRole('ned', 'editor');
      assert.equal((await b.permissionService.check('max', 'post:edit')).granted, true);
      assert.equal(await b.permissionService.removeRole('editor'), true);
      assert.equal(await b.permissionService.removeRole('editor'), false);
      assert.equal((await a.permissionService.check('max', 'post:edit')).granted, false);
      assert.equal((await a.permissionService.check('max', 'post:publish')).granted, true);
      const policy = await a.permissionService.policy();
      assert.deepEqual(policy.roles['chief']?.inherits, []);
      assert.equal(policy.actors['ned'], undefined, 'an actor left with nothing is removed');
      await assert.rejects(a.permissionService.assignRole('ned', 'editor'), {
        code: 'PB_VALIDATION',
        message: /Role "editor" is not defined; define it first/,
      });
      await assert.rejects(
        a.permissionService.defineRole('chief', { inherits: ['chief'] }),
        /may not inherit in a cycle \(chief → chief\)/,
      );
    });

    void it('grants with ownership conditions; assert throws PermissionDeniedError with details', async () => {
      await a.permissionService.grant('olga', 'doc:edit', { ownerId: '${actor.id}' });
      await b.permissionService.assert('olga', 'doc:edit', { ownerId: 'olga' });
      const error = await b.permissionService.assert('olga', 'doc:edit', { ownerId: 'pat' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof PermissionDeniedError);
      assert.equal(error.code, 'PB_PERMISSION_DENIED');
      assert.deepEqual(error.details, {
        actor: 'olga',
        permission: 'doc:edit',
        reason:
          'no rule grants "doc:edit" to "olga" (actor "olga" allows "doc:edit" only when {"ownerId":"${actor.id}"})',
      });
    });

    void it('loses no change when both nodes change one actor at once', async () => {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).permissionService.grant('quinn', `thing:${i}`),
        ),
      );
      const rules = (await a.permissionService.policy()).actors['quinn']?.rules ?? [];
      assert.deepEqual(
        [...rules].sort(),
        Array.from({ length: 10 }, (_, i) => `thing:${i}`).sort(),
      );
    });

    void it('refuses malformed calls with ValidationError naming the field', async () => {
      await assert.rejects(a.permissionService.check('', 'user:read'), { code: 'PB_VALIDATION' });
      await assert.rejects(a.permissionService.check('x', 'user:*'), /no wildcards/);
      await assert.rejects(a.permissionService.grant('x', 'bad perm'), {
        code: 'PB_VALIDATION',
        details: { field: 'permission', issues: 1 },
      });
      await assert.rejects(
        a.permissionService.grant('x', 'a:b', { owner: { $regex: '.*' } } as never),
        /Conditions "conditions.owner": Unrecognized key: "\$regex"/,
      );
      const widened: unknown = JSON.parse('{"__proto__": {"$eq": 1}}');
      await assert.rejects(a.permissionService.grant('x', 'a:b', widened as never), {
        code: 'PB_VALIDATION',
        details: { field: 'conditions.__proto__' },
      });
    });
  });
}

hostSuite('memory network', false);
hostSuite('redis', true);

void describe('permissionService after Redis lost its data', () => {
  void it('drops the policy a node compiled before: no grant survives in memory', async () => {
    const cluster = permissionCluster(true);
    const redis = new Redis(SHARED_REDIS_URL, { lazyConnect: true });
    try {
      const a = await cluster.node();
      const b = await cluster.node();
      await a.permissionService.grant('rex', 'vault:open');
      assert.equal((await b.permissionService.check('rex', 'vault:open')).granted, true);
      const before = (await b.permissionService.policy()).revision;
      // What a restart without persistence (or a FLUSHALL) leaves: no policy, no revision.
      await redis.connect();
      await redis.del(`{${cluster.namespace}}:pol`, `{${cluster.namespace}}:pol:rev`);
      assert.deepEqual(await b.permissionService.check('rex', 'vault:open'), {
        granted: false,
        reason: 'no rule grants "vault:open" to "rex"',
      });
      // Writes start again far above every revision compiled before.
      await a.permissionService.grant('sue', 'vault:open');
      assert.ok((await b.permissionService.policy()).revision > before);
      assert.equal((await b.permissionService.check('rex', 'vault:open')).granted, false);
      assert.equal((await b.permissionService.check('sue', 'vault:open')).granted, true);
    } finally {
      redis.disconnect();
      await cluster.close();
    }
  });
});
