import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHost } from '../../../src/host/index.js';
import type { PermissionPolicyOptions } from '../../../src/security/permissions/types.js';
import { silentLogger } from '../../support/runtime.js';
import { permissionCluster } from './support.js';

const refused = async (policy: unknown, field: string, message: RegExp): Promise<void> => {
  await assert.rejects(
    createHost({ logger: silentLogger, permissionPolicy: policy as PermissionPolicyOptions }),
    (error: Error & { code?: string; details?: { field?: string } }) => {
      assert.equal(error.code, 'PB_VALIDATION');
      assert.equal(error.details?.field, field);
      assert.match(error.message, message);
      return true;
    },
  );
};

void describe('permissionPolicy configuration', () => {
  void it('is refused by createHost with an error naming the field path', async () => {
    await refused(
      { roles: { admin: { rules: ['user:*', 'bad perm'] } } },
      'permissionPolicy.roles.admin.rules[1]',
      /permission "bad perm" must be segments/,
    );
    await refused(
      { roles: { admin: { rulez: [] } } },
      'permissionPolicy.roles.admin',
      /Unrecognized key: "rulez"/,
    );
    await refused(
      { actors: { bob: { roles: ['ghost'] } } },
      'permissionPolicy.actors.bob.roles[0]',
      /role "ghost" is not defined under "permissionPolicy.roles"/,
    );
    await refused(
      { roles: { a: { inherits: ['b'] }, b: { inherits: ['a'] } } },
      'permissionPolicy.roles.a.inherits',
      /cycle \(a → b → a\)/,
    );
    await refused(
      { actors: { bob: { rules: [{ allow: 'x', when: { 'a.__proto__': 1 } }] } } },
      'permissionPolicy.actors.bob.rules[0]',
      /.+/,
    );
    await refused({ roles: { 'no spaces': {} } }, 'permissionPolicy.roles.no spaces', /role name/);
    await refused('admin', 'permissionPolicy', /expected object/);
    // JSON configuration can hold a "__proto__" key; it is refused, not silently dropped.
    const hostile: unknown = JSON.parse('{"roles":{"__proto__":{"rules":["*"]}}}');
    await refused(
      hostile,
      'permissionPolicy.roles.__proto__',
      /"__proto__" is not allowed as a name/,
    );
    const actor: unknown = JSON.parse('{"actors":{"__proto__":{"rules":["*"]}}}');
    await refused(actor, 'permissionPolicy.actors.__proto__', /"__proto__" is not allowed/);
    const condition: unknown = JSON.parse(
      '{"actors":{"x":{"rules":[{"allow":"a","when":{"__proto__":{"$eq":1}}}]}}}',
    );
    await refused(
      condition,
      'permissionPolicy.actors.x.rules[0].when.__proto__',
      /"__proto__" is not allowed/,
    );
    assert.equal(({} as Record<string, unknown>)['rules'], undefined);
  });

  void it('replaces the roles and actors it names at start and leaves runtime-made ones alone', async () => {
    const cluster = permissionCluster(false);
    try {
      const first = await cluster.node({
        permissionPolicy: {
          roles: { support: { rules: ['ticket:read'] } },
          actors: { sam: { roles: ['support'] } },
        },
      });
      // Runtime changes: one to a configured name, one to a name configuration does not know.
      await first.permissionService.defineRole('support', { rules: ['ticket:*'] });
      await first.permissionService.grant('tess', 'ticket:close');
      assert.equal((await first.permissionService.check('sam', 'ticket:close')).granted, true);
      const revision = (await first.permissionService.policy()).revision;
      // A node starting with the same configuration restores the configured role...
      const second = await cluster.node({
        permissionPolicy: {
          roles: { support: { rules: ['ticket:read'] } },
          actors: { sam: { roles: ['support'] } },
        },
      });
      assert.equal((await first.permissionService.check('sam', 'ticket:close')).granted, false);
      assert.equal((await second.permissionService.check('sam', 'ticket:read')).granted, true);
      // ...and leaves the runtime-made grant alone.
      assert.equal((await second.permissionService.check('tess', 'ticket:close')).granted, true);
      const after = (await second.permissionService.policy()).revision;
      assert.equal(after, revision + 1, 'one write for the whole configuration');
      // A third start with an unchanged store writes nothing.
      const third = await cluster.node({
        permissionPolicy: {
          roles: { support: { rules: ['ticket:read'] } },
          actors: { sam: { roles: ['support'] } },
        },
      });
      assert.equal((await third.permissionService.policy()).revision, after);
    } finally {
      await cluster.close();
    }
  });
});
