import type { AuditCore } from '../audit/audit-core.js';
import type { CapabilityGuard } from './guard.js';

export interface GuardOptions {
  readonly pluginId: string;
  /** Declared capabilities; undefined when the plugin declares no list. */
  readonly permissions: readonly string[] | undefined;
  readonly strict: boolean;
  readonly audit: AuditCore;
}

/**
 * The plugin's guard, or undefined when it is trusted.
 * BASE STUB (issue 11): trusts every plugin; the capabilities helper replaces it.
 */
export function createCapabilityGuard(options: GuardOptions): CapabilityGuard | undefined {
  void options;
  return undefined;
}
