/**
 * The chapter's permission example (`deleteUser`), as written there, through a real host and
 * `context.permissionService`, on the embedded backend and on Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { permissionCluster, type PermissionCluster } from '../security/permissions/support.js';

for (const [label, redis] of [
  ['memory', false],
  ['redis', true],
] as const) {
  void describe(`the chapter's permission example (${label})`, () => {
    let cluster: PermissionCluster;
    let context: PluginContext;
    before(async () => {
      cluster = permissionCluster(redis);
      context = await cluster.node({
        permissionPolicy: {
          roles: { admin: { rules: ['user:*'] } },
          actors: {
            // Everyone may delete their own account; admins any.
            '*': { rules: [{ allow: 'user:delete', when: { userId: '${actor.id}' } }] },
            ada: { roles: ['admin'] },
          },
        },
      });
    });
    after(() => cluster.close());

    void it('1. permission control: deleteUser checks user:delete before deleting', async () => {
      // The example's database: a table of users and the one query it runs.
      const users = new Set(['u1', 'u2', 'u3', 'bob']);
      const database = {
        query: async (sql: string, params: string[]): Promise<void> => {
          assert.equal(sql, 'DELETE FROM users WHERE id = ?');
          users.delete(params[0] as string);
        },
      };

      // 权限检查
      async function deleteUser(userId: string, requester: { id: string }) {
        const permission = await context.permissionService.check(requester.id, 'user:delete', {
          userId,
        });

        if (!permission.granted) {
          throw new Error('Permission denied');
        }

        await database.query('DELETE FROM users WHERE id = ?', [userId]);
      }

      await assert.rejects(deleteUser('u1', { id: 'bob' }), /^Error: Permission denied$/);
      assert.ok(users.has('u1'), 'nothing was deleted');
      await deleteUser('u1', { id: 'ada' });
      await deleteUser('bob', { id: 'bob' });
      assert.deepEqual([...users].sort(), ['u2', 'u3']);

      // A deny added at runtime wins over the admin role at once.
      await context.permissionService.deny('ada', 'user:delete', { userId: 'u2' });
      await assert.rejects(deleteUser('u2', { id: 'ada' }), /Permission denied/);
      await deleteUser('u3', { id: 'ada' });
      assert.deepEqual([...users], ['u2']);
    });
  });
}
