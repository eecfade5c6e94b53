import type { PluginScope } from '../../context/plugin-scope.js';
import { PermissionDeniedError } from '../../errors/errors.js';
import type { PermissionCore } from './permission-core.js';
import type { PermissionService } from './types.js';

/** `context.permissionService` for one plugin. */
export function createPermissionService(
  core: PermissionCore,
  scope: PluginScope,
): PermissionService {
  void scope;
  return {
    check: (actorId, permission, resource) => core.check(actorId, permission, resource),
    assert: async (actorId, permission, resource) => {
      const result = await core.check(actorId, permission, resource);
      if (!result.granted)
        throw new PermissionDeniedError(`"${actorId}" may not "${permission}": ${result.reason}.`);
    },
  };
}
