import type { PluginScope } from '../../context/plugin-scope.js';
import type { AuditCore } from './audit-core.js';
import type { AuditLogger } from './types.js';

/** `context.auditLogger` for one plugin: its entries carry the plugin's real name. */
export function createAuditLogger(core: AuditCore, scope: PluginScope): AuditLogger {
  return {
    log: (entry) => core.log(scope.pluginId, entry),
    query: (filter) => core.query(filter),
    verify: () => core.verify(),
  };
}
