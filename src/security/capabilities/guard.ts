/**
 * The capability check every facade runs before any side effect: `area:action:target`.
 * Undefined on a scope means the plugin is trusted (no list, strict mode off): no check at all.
 */
export type CapabilityArea =
  | 'events'
  | 'rpc'
  | 'registry'
  | 'queue'
  | 'cache'
  | 'lock'
  | 'sync'
  | 'tx'
  | 'breaker'
  | 'crypto'
  | 'permissions'
  | 'audit';

export interface CapabilityGuard {
  /**
   * Throws `PermissionDeniedError` (and audits the denial under the plugin's real name) unless
   * the plugin's capabilities allow `area:action` on `target`.
   */
  assert(area: CapabilityArea, action: string, target: string): void;
}
