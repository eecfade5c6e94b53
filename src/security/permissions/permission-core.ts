import type { Logger } from 'pino';
import type { PolicyStore } from '../../backends/ports.js';
import type { AuditCore } from '../audit/audit-core.js';
import type { PermissionCheck, PermissionPolicyOptions, PermissionResource } from './types.js';

export interface PermissionEnv {
  readonly store: PolicyStore;
  readonly logger: Logger;
  readonly policy: PermissionPolicyOptions | undefined;
  readonly audit: AuditCore;
}

/**
 * One per host: evaluates checks against the cluster's stored policy.
 * BASE STUB (issue 11): denies everything; the permissions helper replaces it.
 */
export class PermissionCore {
  constructor(private readonly env: PermissionEnv) {}

  check(
    _actorId: string,
    _permission: string,
    _resource?: PermissionResource,
  ): Promise<PermissionCheck> {
    void this.env;
    return Promise.resolve({ granted: false, reason: 'not implemented yet' });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
