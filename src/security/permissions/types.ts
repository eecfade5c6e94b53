/**
 * `context.permissionService`: who may do what to which resource (roles, grants with
 * wildcards, conditions on the resource, deny over allow), shared by every node of the cluster.
 */

/** The answer of a check: `reason` says which rule decided (or that none matched). */
export interface PermissionCheck {
  readonly granted: boolean;
  readonly reason: string;
}

/** The attributes of the resource a permission is checked against (e.g. `{ userId, ownerId }`). */
export type PermissionResource = Readonly<Record<string, unknown>>;

export interface PermissionService {
  /** May `actorId` do `permission` (e.g. `user:delete`) to `resource`? Never throws for a denial. */
  check(
    actorId: string,
    permission: string,
    resource?: PermissionResource,
  ): Promise<PermissionCheck>;
  /** Like {@link check}, but rejects with `PermissionDeniedError` when not granted. */
  assert(actorId: string, permission: string, resource?: PermissionResource): Promise<void>;
}

/** Policies loaded from host configuration (`createHost({ permissionPolicy })`). */
export interface PermissionPolicyOptions {
  readonly [key: string]: unknown;
}
