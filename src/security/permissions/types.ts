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

/** A value a condition compares a resource attribute with. */
export type ConditionValue = string | number | boolean | null;

/**
 * One attribute rule. A plain value means equality; an object holds operators, all of which
 * must hold. In a string, `${actor.id}` stands for the id of the actor being checked (ownership:
 * `{ ownerId: '${actor.id}' }`).
 */
export type PermissionCondition =
  | ConditionValue
  | {
      readonly $eq?: ConditionValue;
      readonly $ne?: ConditionValue;
      readonly $in?: readonly ConditionValue[];
      readonly $nin?: readonly ConditionValue[];
      readonly $gt?: number | string;
      readonly $gte?: number | string;
      readonly $lt?: number | string;
      readonly $lte?: number | string;
      /** `true`: the attribute is present (not undefined); `false`: absent. */
      readonly $exists?: boolean;
    };

/**
 * Conditions on the resource, by attribute path (`ownerId`, or `owner.id` into nested
 * objects): every one must hold for the rule to apply. Without a resource, an allow with
 * conditions never applies and a deny with conditions always does (deny wins when in doubt).
 */
export type PermissionConditions = Readonly<Record<string, PermissionCondition>>;

/**
 * A rule: `'user:read'` (allow, no conditions), `{ allow: 'user:delete', when: {...} }` or
 * `{ deny: 'user:delete', when: {...} }`. Permission patterns have segments separated by `:`
 * or `.`; `*` matches exactly one segment, `**` zero or more, and the pattern `*` alone matches
 * every permission.
 */
export type PermissionRule =
  | string
  | { readonly allow: string; readonly when?: PermissionConditions }
  | { readonly deny: string; readonly when?: PermissionConditions };

/** A role: its own rules and the roles whose rules it inherits. */
export interface RoleDefinition {
  readonly inherits?: readonly string[];
  readonly rules?: readonly PermissionRule[];
}

/** What one actor holds directly: its roles and its own rules. */
export interface ActorPolicy {
  readonly roles?: readonly string[];
  readonly rules?: readonly PermissionRule[];
}

/**
 * Policies loaded from host configuration (`createHost({ permissionPolicy })`), validated by
 * `createHost` and written to the cluster's policy store at start. The roles and actors named
 * here are owned by configuration: each start replaces what the store holds under those names
 * with what is configured (a runtime change to them lasts until the next start). Roles and
 * actors not named here (created at runtime) are left alone. The actor `*` applies to every
 * actor (defaults for everyone).
 */
export interface PermissionPolicyOptions {
  readonly roles?: Readonly<Record<string, RoleDefinition>>;
  readonly actors?: Readonly<Record<string, ActorPolicy>>;
}

/** The whole stored policy, as `policy()` returns it. */
export interface PermissionPolicy {
  /** Grows with every change anywhere in the cluster. */
  readonly revision: number;
  readonly roles: Readonly<Record<string, RoleDefinition>>;
  readonly actors: Readonly<Record<string, ActorPolicy>>;
}

export interface PermissionService {
  /** May `actorId` do `permission` (e.g. `user:delete`) to `resource`? Never throws for a denial. */
  check(
    actorId: string,
    permission: string,
    resource?: PermissionResource,
  ): Promise<PermissionCheck>;
  /**
   * Like {@link check}, but rejects with `PermissionDeniedError` (details: `actor`,
   * `permission`, `reason`) when not granted; the denial is audited.
   */
  assert(actorId: string, permission: string, resource?: PermissionResource): Promise<void>;

  // Management: every change is written to the cluster's policy store (one atomic write,
  // retried on a concurrent change) and holds on every node once the promise resolves.

  /** Create or replace a role (inherited roles must exist; no cycles). */
  defineRole(name: string, definition: RoleDefinition): Promise<void>;
  /** Remove a role, from every actor holding it and every role inheriting it. False: none. */
  removeRole(name: string): Promise<boolean>;
  /** Give `actorId` a defined role. */
  assignRole(actorId: string, role: string): Promise<void>;
  /** Take a role from `actorId`. False: it did not hold it. */
  unassignRole(actorId: string, role: string): Promise<boolean>;
  /** Allow `actorId` a permission pattern, when `conditions` hold on the resource. */
  grant(actorId: string, permission: string, conditions?: PermissionConditions): Promise<void>;
  /** Deny `actorId` a permission pattern (deny wins over every allow), when `conditions` hold. */
  deny(actorId: string, permission: string, conditions?: PermissionConditions): Promise<void>;
  /** Remove every allow and deny of exactly this pattern from `actorId`. False: there was none. */
  revoke(actorId: string, permission: string): Promise<boolean>;
  /** The whole stored policy (roles, actors, revision). */
  policy(): Promise<PermissionPolicy>;
}
