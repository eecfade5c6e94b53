/**
 * The facade's capability checks and the core's audit entries, with a recording guard and
 * audit sink standing in for the host's (the real guard is the capabilities module's; the real
 * audit log the audit module's): what each call asks for, and that a denied call changes nothing.
 */
import { recordingGuard } from '../recording-guard.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../../../src/backends/memory/memory-backend.js';
import { PluginScope } from '../../../src/context/plugin-scope.js';
import { PermissionDeniedError } from '../../../src/errors/errors.js';
import type { AuditCore } from '../../../src/security/audit/audit-core.js';
import type { AuditEntryInput } from '../../../src/security/audit/types.js';
import { PermissionCore } from '../../../src/security/permissions/permission-core.js';
import { createPermissionService } from '../../../src/security/permissions/permission-service.js';
import { silentLogger } from '../../support/runtime.js';

void describe('permissionService facade', () => {
  void it('asks permissions:check / permissions:manage before anything reaches the store', async () => {
    const backend = new MemoryBackend({ nodeId: 'facade' });
    await backend.start();
    const audited: AuditEntryInput[] = [];
    const audit = { record: (entry: AuditEntryInput) => void audited.push(entry) };
    const core = new PermissionCore({
      store: backend.policies,
      logger: silentLogger,
      policy: undefined,
      audit: audit as unknown as AuditCore,
    });
    await core.start();
    const asked: string[] = [];
    let allowed = true;
    const guard = recordingGuard((area, action, target) => {
      asked.push(`${area}:${action}:${target}`);
      if (!allowed) throw new PermissionDeniedError(`denied ${area}:${action}:${target}`);
    });
    const service = createPermissionService(
      core,
      new PluginScope('billing', silentLogger, {}, guard),
    );

    await service.defineRole('clerk', { rules: ['invoice:read'] });
    await service.assignRole('zoe', 'clerk');
    await service.grant('zoe', 'invoice:pay');
    await service.deny('zoe', 'invoice:void');
    assert.equal((await service.check('zoe', 'invoice:pay')).granted, true);
    await assert.rejects(service.assert('zoe', 'invoice:void'), { code: 'PB_PERMISSION_DENIED' });
    await service.revoke('zoe', 'invoice:void');
    await service.unassignRole('zoe', 'clerk');
    await service.removeRole('clerk');
    await service.policy();
    assert.deepEqual(asked, [
      'permissions:manage:clerk',
      'permissions:manage:zoe',
      'permissions:manage:zoe',
      'permissions:manage:zoe',
      'permissions:check:invoice:pay',
      'permissions:check:invoice:void',
      'permissions:manage:zoe',
      'permissions:manage:zoe',
      'permissions:manage:clerk',
      'permissions:manage:*',
    ]);
    assert.deepEqual(
      audited.map((e) => [e.action, e.actor, e.target]),
      [
        ['permission.role.define', 'billing', 'clerk'],
        ['permission.role.assign', 'billing', 'zoe'],
        ['permission.grant', 'billing', 'zoe'],
        ['permission.deny', 'billing', 'zoe'],
        ['permission.denied', 'zoe', 'invoice:void'],
        ['permission.revoke', 'billing', 'zoe'],
        ['permission.role.unassign', 'billing', 'zoe'],
        ['permission.role.remove', 'billing', 'clerk'],
      ],
    );

    allowed = false;
    const revision = await backend.policies.revision();
    await assert.rejects(service.grant('mallory', '*'), { code: 'PB_PERMISSION_DENIED' });
    await assert.rejects(service.defineRole('root', { rules: ['*'] }), {
      code: 'PB_PERMISSION_DENIED',
    });
    await assert.rejects(service.check('mallory', 'x:y'), { code: 'PB_PERMISSION_DENIED' });
    assert.equal(await backend.policies.revision(), revision, 'nothing was written');
    await backend.close();
  });

  void it('refuses a change that would grow the stored policy past its bound', async () => {
    const backend = new MemoryBackend({ nodeId: 'bound' });
    await backend.start();
    const core = new PermissionCore({
      store: backend.policies,
      logger: silentLogger,
      policy: undefined,
      audit: { record: () => undefined } as unknown as AuditCore,
    });
    const names = Array.from({ length: 1000 }, (_, i) => `${i}`.padStart(1000, 'x'));
    const rules = Array.from({ length: 9 }, (_, i) => ({
      allow: `doc:${i}`,
      when: { owner: { $in: names } },
    }));
    await assert.rejects(core.defineRole('app', 'huge', { rules }), {
      code: 'PB_PAYLOAD_TOO_LARGE',
      message: /over its 8388608-byte limit/,
    });
    assert.equal(await backend.policies.revision(), 0, 'nothing was written');
    await core.defineRole('app', 'fits', { rules: rules.slice(0, 2) });
    assert.equal(await backend.policies.revision(), 1);
    await backend.close();
  });

  void it('fails closed: a stored record that does not parse makes checks reject, naming it', async () => {
    const backend = new MemoryBackend({ nodeId: 'corrupt' });
    await backend.start();
    const core = new PermissionCore({
      store: backend.policies,
      logger: silentLogger,
      policy: undefined,
      audit: { record: () => undefined } as unknown as AuditCore,
    });
    await core.defineRole('app', 'ok', { rules: ['a:b'] });
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    await backend.policies.write([{ key: 'actor:zed', value: bytes('{"roles":') }], 1);
    await assert.rejects(core.check('zed', 'a:b'), {
      code: 'PB_VALIDATION',
      message: /record "actor:zed" is not JSON/,
    });
    await backend.policies.write([{ key: 'role:bad', value: bytes('{"rules":[7]}') }], 2);
    await backend.policies.write([{ key: 'actor:zed', value: undefined }], 3);
    await assert.rejects(core.check('zed', 'a:b'), {
      code: 'PB_VALIDATION',
      details: { field: 'role:bad.rules[0]', issues: 1 },
    });
    // Redefining the role repairs the record: checks answer again.
    await core.defineRole('app', 'bad', { rules: ['a:b'] });
    await core.assignRole('app', 'zed', 'bad');
    assert.deepEqual(await core.check('zed', 'a:b'), {
      granted: true,
      reason: 'role "bad" allows "a:b"',
    });
    await backend.close();
  });
});
