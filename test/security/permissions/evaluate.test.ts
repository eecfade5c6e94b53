import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACTOR_CACHE_SIZE,
  CompiledPolicy,
  compilePattern,
} from '../../../src/security/permissions/policy-eval.js';
import { parsePolicyOptions } from '../../../src/security/permissions/policy-schema.js';
import type { PermissionPolicyOptions } from '../../../src/security/permissions/types.js';

const compile = (options: PermissionPolicyOptions): CompiledPolicy =>
  new CompiledPolicy(1, parsePolicyOptions(options));

const matches = (pattern: string, permission: string): boolean =>
  compilePattern(pattern)(permission.split(/[.:]/));

void describe('permission evaluation', () => {
  void it('matches wildcards: * one segment, ** zero or more, * alone everything, : and . alike', () => {
    assert.equal(matches('user:*', 'user:delete'), true);
    assert.equal(matches('user:*', 'user:profile:edit'), false);
    assert.equal(matches('user:*', 'order:delete'), false);
    assert.equal(matches('user:**', 'user:profile:edit'), true);
    assert.equal(matches('user:**', 'user'), true);
    assert.equal(matches('*:read', 'order:read'), true);
    assert.equal(matches('*:read', 'order:write'), false);
    assert.equal(matches('*', 'anything:at:all'), true);
    assert.equal(matches('user.delete', 'user:delete'), true);
    assert.equal(matches('user:delete', 'user:deletex'), false);
    assert.equal(matches('a:**:z', 'a:b:c:z'), true);
    assert.equal(matches('a:**:z', 'a:b:c'), false);
    // Several ** against a long permission that does not match: answered at once (the walk is
    // memoized), not after trying every way to split the segments among the **.
    assert.equal(matches(`${'**:'.repeat(8)}x`, `${'a:'.repeat(60)}b`), false);
    assert.equal(matches(`${'**:'.repeat(8)}b`, `${'a:'.repeat(60)}b`), true);
    assert.equal(matches('**:**', 'a'), true);
  });

  void it('grants through roles and their inherited roles, naming the deciding rule', () => {
    const policy = compile({
      roles: {
        viewer: { rules: ['user:read'] },
        admin: { inherits: ['viewer'], rules: ['user:*'] },
      },
      actors: { alice: { roles: ['admin'] }, bob: { roles: ['viewer'] } },
    });
    assert.deepEqual(policy.check('alice', 'user:delete', undefined), {
      granted: true,
      reason: 'role "admin" allows "user:*"',
    });
    assert.deepEqual(policy.check('bob', 'user:read', undefined), {
      granted: true,
      reason: 'role "viewer" allows "user:read"',
    });
    // Inherited: the reason says through which role.
    const inherited = compile({
      roles: { viewer: { rules: ['doc:read'] }, admin: { inherits: ['viewer'] } },
      actors: { alice: { roles: ['admin'] } },
    }).check('alice', 'doc:read', undefined);
    assert.deepEqual(inherited, {
      granted: true,
      reason: 'role "viewer" (inherited by "admin") allows "doc:read"',
    });
    assert.deepEqual(policy.check('bob', 'user:delete', undefined), {
      granted: false,
      reason: 'no rule grants "user:delete" to "bob"',
    });
    assert.deepEqual(policy.check('nobody', 'user:read', undefined), {
      granted: false,
      reason: 'no rule grants "user:read" to "nobody"',
    });
  });

  void it('lets a deny win over every allow, whatever the order or the source', () => {
    const policy = compile({
      roles: { admin: { rules: ['*'] }, suspended: { rules: [{ deny: 'user:delete' }] } },
      actors: {
        carol: { roles: ['admin', 'suspended'] },
        dave: { roles: ['admin'], rules: [{ deny: '**' }] },
      },
    });
    assert.deepEqual(policy.check('carol', 'user:delete', undefined), {
      granted: false,
      reason: 'role "suspended" denies "user:delete"',
    });
    assert.equal(policy.check('carol', 'user:read', undefined).granted, true);
    assert.deepEqual(policy.check('dave', 'x:y', undefined), {
      granted: false,
      reason: 'actor "dave" denies "**"',
    });
  });

  void it('applies ownership conditions with ${actor.id}, and says why an allow did not apply', () => {
    const policy = compile({
      actors: { '*': { rules: [{ allow: 'post:edit', when: { ownerId: '${actor.id}' } }] } },
    });
    assert.deepEqual(policy.check('erin', 'post:edit', { ownerId: 'erin' }), {
      granted: true,
      reason: 'every actor ("*") allows "post:edit" when {"ownerId":"${actor.id}"}',
    });
    assert.deepEqual(policy.check('erin', 'post:edit', { ownerId: 'frank' }), {
      granted: false,
      reason:
        'no rule grants "post:edit" to "erin" (every actor ("*") allows "post:edit" only when {"ownerId":"${actor.id}"})',
    });
    const none = policy.check('erin', 'post:edit', undefined);
    assert.equal(none.granted, false);
    assert.match(none.reason, /no resource was given/);
  });

  void it('evaluates attribute rules: equality, in-list, comparison, exists, nested paths', () => {
    const policy = compile({
      actors: {
        gina: {
          rules: [
            { allow: 'doc:read', when: { status: { $in: ['published', 'archived'] } } },
            { allow: 'doc:edit', when: { 'meta.size': { $lte: 100 }, locked: false } },
            { allow: 'doc:share', when: { level: { $gt: 1, $lt: 5 }, team: { $ne: 'red' } } },
            { allow: 'doc:tag', when: { tag: { $exists: true, $nin: ['secret'] } } },
            { allow: 'doc:late', when: { due: { $gte: 1_000 } } },
          ],
        },
      },
    });
    const can = (permission: string, resource: Record<string, unknown>): boolean =>
      policy.check('gina', permission, resource).granted;
    assert.equal(can('doc:read', { status: 'published' }), true);
    assert.equal(can('doc:read', { status: 'draft' }), false);
    assert.equal(can('doc:edit', { meta: { size: 100 }, locked: false }), true);
    assert.equal(can('doc:edit', { meta: { size: 101 }, locked: false }), false);
    assert.equal(can('doc:edit', { meta: { size: 1 } }), false);
    assert.equal(can('doc:share', { level: 3, team: 'blue' }), true);
    assert.equal(can('doc:share', { level: 5, team: 'blue' }), false);
    assert.equal(can('doc:share', { level: 3, team: 'red' }), false);
    assert.equal(can('doc:share', { level: '3', team: 'blue' }), false, 'no type coercion');
    assert.equal(can('doc:tag', { tag: 'x' }), true);
    assert.equal(can('doc:tag', { tag: 'secret' }), false);
    assert.equal(can('doc:tag', {}), false);
    assert.equal(can('doc:late', { due: new Date(2_000) }), true, 'a Date compares as epoch ms');
  });

  void it('never reads conditions through the prototype chain', () => {
    const policy = compile({
      actors: { h: { rules: [{ allow: 'a:b', when: { isAdmin: true } }] } },
    });
    const hostile = JSON.parse('{"__proto__": {"isAdmin": true}}') as Record<string, unknown>;
    assert.equal(policy.check('h', 'a:b', hostile).granted, false);
    assert.equal(
      policy.check('h', 'a:b', Object.create({ isAdmin: true }) as Record<string, unknown>).granted,
      false,
    );
  });

  void it('applies a deny only when its conditions hold', () => {
    const policy = compile({
      actors: {
        ivan: {
          rules: ['invoice:*', { deny: 'invoice:approve', when: { amount: { $gt: 1000 } } }],
        },
      },
    });
    assert.equal(policy.check('ivan', 'invoice:approve', { amount: 10 }).granted, true);
    assert.deepEqual(policy.check('ivan', 'invoice:approve', { amount: 5000 }), {
      granted: false,
      reason: 'actor "ivan" denies "invoice:approve" when {"amount":{"$gt":1000}}',
    });
    // Without a resource the deny's conditions cannot be ruled out: deny still wins, or a
    // caller would escape every conditional deny by leaving the resource out.
    const blind = policy.check('ivan', 'invoice:approve', undefined);
    assert.equal(blind.granted, false);
    assert.match(blind.reason, /denies "invoice:approve".*no resource was given/);
    // An allow with conditions still never applies without a resource.
    assert.equal(policy.check('ivan', 'invoice:read', undefined).granted, true);
  });

  void it('keeps at most ACTOR_CACHE_SIZE actors compiled and still answers for the rest', () => {
    const policy = compile({ actors: { '*': { rules: ['ping'] } } });
    for (let i = 0; i < ACTOR_CACHE_SIZE + 10; i++) policy.check(`a${i}`, 'ping', undefined);
    const cached = (policy as unknown as { actorRules: Map<string, unknown> }).actorRules;
    assert.equal(cached.size, ACTOR_CACHE_SIZE);
    assert.equal(cached.has('a0'), false, 'the least recently used went first');
    assert.equal(policy.check('a0', 'ping', undefined).granted, true);
  });
});
