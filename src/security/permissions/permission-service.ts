import type { PluginScope } from '../../context/plugin-scope.js';
import type { PermissionCore } from './permission-core.js';
import type { PermissionService } from './types.js';

/**
 * `context.permissionService` for one plugin. Each call first checks the plugin's own
 * capabilities: `permissions:check:<permission>` for check and assert,
 * `permissions:manage:<role or actor id>` for changes (`*` for reading the whole policy).
 */
export function createPermissionService(
  core: PermissionCore,
  scope: PluginScope,
): PermissionService {
  const plugin = scope.pluginId;
  const guard = scope.guard;
  const manage = (target: string): void => guard?.assert('permissions', 'manage', String(target));
  return {
    check: async (actorId, permission, resource) => {
      guard?.assert('permissions', 'check', String(permission));
      return core.check(actorId, permission, resource);
    },
    assert: async (actorId, permission, resource) => {
      guard?.assert('permissions', 'check', String(permission));
      return core.assert(plugin, actorId, permission, resource);
    },
    defineRole: async (name, definition) => {
      manage(name);
      return core.defineRole(plugin, name, definition);
    },
    removeRole: async (name) => {
      manage(name);
      return core.removeRole(plugin, name);
    },
    assignRole: async (actorId, role) => {
      manage(actorId);
      return core.assignRole(plugin, actorId, role);
    },
    unassignRole: async (actorId, role) => {
      manage(actorId);
      return core.unassignRole(plugin, actorId, role);
    },
    grant: async (actorId, permission, conditions) => {
      manage(actorId);
      return core.addRule(plugin, 'allow', actorId, permission, conditions);
    },
    deny: async (actorId, permission, conditions) => {
      manage(actorId);
      return core.addRule(plugin, 'deny', actorId, permission, conditions);
    },
    revoke: async (actorId, permission) => {
      manage(actorId);
      return core.revoke(plugin, actorId, permission);
    },
    policy: async () => {
      manage('*');
      return core.policy();
    },
  };
}
