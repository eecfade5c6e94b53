import { z } from 'zod';
import { ValidationError } from '../../errors/errors.js';
import type { ActorPolicy, PermissionConditions, PermissionRule, RoleDefinition } from './types.js';

/** A rule as stored and evaluated: what the public shorthand forms normalize to. */
export interface RuleSpec {
  readonly effect: 'allow' | 'deny';
  readonly permission: string;
  readonly when?: PermissionConditions;
}

export interface RoleSpec {
  readonly inherits: readonly string[];
  readonly rules: readonly RuleSpec[];
}

export interface ActorSpec {
  readonly roles: readonly string[];
  readonly rules: readonly RuleSpec[];
}

/** A policy: roles and actors by name (configuration, or what the store holds). */
export interface PolicySpec {
  readonly roles: ReadonlyMap<string, RoleSpec>;
  readonly actors: ReadonlyMap<string, ActorSpec>;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const ROLE_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const FORBIDDEN_PATH_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_RULES = 1000;

/** Why `name` is not a permission pattern (`wildcards`) or a permission, or undefined if it is. */
export function permissionProblem(name: string, wildcards: boolean): string | undefined {
  if (name.length === 0 || name.length > 256) return 'must be 1 to 256 characters';
  if (wildcards && name === '*') return undefined;
  for (const segment of name.split(/[.:]/)) {
    if (SEGMENT.test(segment)) continue;
    if (wildcards && (segment === '*' || segment === '**')) continue;
    return wildcards
      ? 'must be segments of letters, digits, "_" or "-" separated by ":" or "." (a whole ' +
          'segment may be "*" or "**")'
      : 'must be segments of letters, digits, "_" or "-" separated by ":" or "." (no wildcards: ' +
          'a check names one permission)';
  }
  return undefined;
}

/** Why `id` is not an actor id, or undefined. */
export function actorProblem(id: string): string | undefined {
  if (id.length === 0 || id.length > 256) return 'must be 1 to 256 characters';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'must not hold control characters';
  // An object key that would set the prototype instead (configuration is a plain object).
  if (id === '__proto__') return 'may not be "__proto__" ("__proto__" is not allowed as a name)';
  return undefined;
}

const value = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);
const ordered = z.union([z.number(), z.string().max(1024)]);
const operators = z
  .strictObject({
    $eq: value.optional(),
    $ne: value.optional(),
    $in: z.array(value).max(1000).optional(),
    $nin: z.array(value).max(1000).optional(),
    $gt: ordered.optional(),
    $gte: ordered.optional(),
    $lt: ordered.optional(),
    $lte: ordered.optional(),
    $exists: z.boolean().optional(),
  })
  .refine((o) => Object.keys(o).length > 0, 'needs at least one operator');
const conditions = z
  .record(
    z.string().superRefine((path, ctx) => {
      const segments = path.split('.');
      if (path.length > 256 || segments.some((s) => !SEGMENT.test(s)))
        ctx.addIssue({
          code: 'custom',
          message: `attribute path "${path}" must be names of letters, digits, "_" or "-" joined by "."`,
        });
      else if (segments.some((s) => FORBIDDEN_PATH_SEGMENTS.has(s)))
        ctx.addIssue({ code: 'custom', message: `attribute path "${path}" is not allowed` });
    }),
    z.union([value, operators]),
  )
  .refine((c) => Object.keys(c).length <= 100, 'at most 100 conditions per rule');

const pattern = z.string().superRefine((name, ctx) => {
  const problem = permissionProblem(name, true);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `permission "${name}" ${problem}` });
});
const rule = z.union([
  pattern,
  z.strictObject({ allow: pattern, when: conditions.optional() }),
  z.strictObject({ deny: pattern, when: conditions.optional() }),
]);
const roleName = z
  .string()
  .regex(ROLE_NAME, 'a role name is 1 to 128 letters, digits, "_", ".", ":" or "-"')
  .refine((name) => name !== '__proto__', '"__proto__" is not allowed as a name');
const actorId = z.string().superRefine((id, ctx) => {
  const problem = actorProblem(id);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `actor id ${problem}` });
});
const rules = z.array(rule).max(MAX_RULES);
const roleDefinition = z.strictObject({
  inherits: z.array(roleName).max(100).optional(),
  rules: rules.optional(),
});
const actorPolicy = z.strictObject({
  roles: z.array(roleName).max(1000).optional(),
  rules: rules.optional(),
});
const policyOptions = z.strictObject({
  roles: z.record(roleName, roleDefinition).optional(),
  actors: z.record(actorId, actorPolicy).optional(),
});

/** `a.b[0].c` from a zod issue path. */
function pathText(root: string, path: readonly PropertyKey[]): string {
  let text = root;
  for (const key of path)
    text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text;
}

/**
 * The path of the first own `__proto__` key in `value` (JSON can hold one), or undefined. zod
 * drops such keys silently; a dropped condition would widen a rule, so they are refused.
 */
function protoKeyPath(value: unknown, path: PropertyKey[], depth = 0): PropertyKey[] | undefined {
  if (value === null || typeof value !== 'object' || depth > 16) return undefined;
  if (Object.hasOwn(value, '__proto__')) return [...path, '__proto__'];
  for (const [key, child] of Object.entries(value)) {
    const found = protoKeyPath(
      child,
      [...path, Array.isArray(value) ? Number(key) : key],
      depth + 1,
    );
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Parse `input` with `schema`, or throw a ValidationError naming the first bad field. */
function parse<T>(schema: z.ZodType<T>, input: unknown, root: string, what: string): T {
  const proto = protoKeyPath(input, []);
  if (proto !== undefined) {
    const field = pathText(root, proto);
    throw new ValidationError(`${what} "${field}": "__proto__" is not allowed as a name.`, {
      details: { field },
    });
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const field = pathText(root, issue.path);
  // A bad record key: say what is wrong with it, not only that it is.
  const inner = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  const message = inner === undefined ? issue.message : `invalid name: ${inner}`;
  throw new ValidationError(`${what} "${field}": ${message}.`, {
    details: { field, issues: result.error.issues.length },
  });
}

export function normalizeRule(input: PermissionRule): RuleSpec {
  if (typeof input === 'string') return { effect: 'allow', permission: input };
  if ('allow' in input)
    return { effect: 'allow', permission: input.allow, ...(input.when && { when: input.when }) };
  return { effect: 'deny', permission: input.deny, ...(input.when && { when: input.when }) };
}

/** The public form of a stored rule (`'p'` for a plain allow). */
export function publicRule(spec: RuleSpec): PermissionRule {
  if (spec.when === undefined && spec.effect === 'allow') return spec.permission;
  const base = spec.effect === 'allow' ? { allow: spec.permission } : { deny: spec.permission };
  return spec.when === undefined ? base : { ...base, when: spec.when };
}

export function parseRoleDefinition(input: unknown, field: string): RoleSpec {
  const parsed = parse(roleDefinition, input, field, 'Role definition');
  return {
    inherits: [...new Set(parsed.inherits ?? [])],
    rules: (parsed.rules ?? []).map((r) => normalizeRule(r as PermissionRule)),
  };
}

export function parseActorPolicy(input: unknown, field: string): ActorSpec {
  const parsed = parse(actorPolicy, input, field, 'Actor policy');
  return {
    roles: [...new Set(parsed.roles ?? [])],
    rules: (parsed.rules ?? []).map((r) => normalizeRule(r as PermissionRule)),
  };
}

export function parseRoleName(input: unknown, field: string): string {
  return parse(roleName, input, field, 'Role name');
}

export function parseActorId(input: unknown, field: string): string {
  return parse(actorId, input, field, 'Actor id');
}

export function parsePattern(input: unknown, field: string): string {
  return parse(pattern, input, field, 'Permission');
}

export function parseConditions(input: unknown, field: string): PermissionConditions {
  return parse(conditions, input, field, 'Conditions');
}

/**
 * Validate `createHost({ permissionPolicy })`: the shape (errors name the field path, e.g.
 * `permissionPolicy.roles.admin.rules[0]`), and that every role it inherits or assigns is one
 * it defines, without cycles.
 * @throws ValidationError naming the field.
 */
export function parsePolicyOptions(input: unknown): PolicySpec {
  const root = 'permissionPolicy';
  const parsed = parse(policyOptions, input, root, 'Host option');
  const roles = new Map<string, RoleSpec>();
  for (const [name, definition] of Object.entries(parsed.roles ?? {}))
    roles.set(name, parseRoleDefinition(definition, `${root}.roles.${name}`));
  const actors = new Map<string, ActorSpec>();
  for (const [id, policy] of Object.entries(parsed.actors ?? {}))
    actors.set(id, parseActorPolicy(policy, `${root}.actors.${id}`));
  const undefinedRole = (name: string, field: string): never => {
    throw new ValidationError(
      `Host option "${field}": role "${name}" is not defined under "${root}.roles"; define it there.`,
      { details: { field, role: name } },
    );
  };
  for (const [name, role] of roles)
    role.inherits.forEach((parent, i) => {
      if (!roles.has(parent)) undefinedRole(parent, `${root}.roles.${name}.inherits[${i}]`);
    });
  for (const [id, actor] of actors)
    actor.roles.forEach((role, i) => {
      if (!roles.has(role)) undefinedRole(role, `${root}.actors.${id}.roles[${i}]`);
    });
  for (const name of roles.keys()) {
    const cycle = inheritanceCycle(roles, name);
    if (cycle !== undefined)
      throw new ValidationError(
        `Host option "${root}.roles.${name}.inherits": roles may not inherit in a cycle (${cycle.join(' → ')}).`,
        { details: { field: `${root}.roles.${name}.inherits`, cycle } },
      );
  }
  return { roles, actors };
}

/** The first inheritance cycle through `start`, as role names, or undefined. */
export function inheritanceCycle(
  roles: ReadonlyMap<string, RoleSpec>,
  start: string,
): string[] | undefined {
  const path: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    if (path.includes(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name)) return undefined;
    path.push(name);
    for (const parent of roles.get(name)?.inherits ?? []) {
      const cycle = visit(parent);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(name);
    return undefined;
  };
  return visit(start);
}

/** The public form of a stored role / actor. */
export function publicRole(spec: RoleSpec): RoleDefinition {
  return { inherits: [...spec.inherits], rules: spec.rules.map(publicRule) };
}

export function publicActor(spec: ActorSpec): ActorPolicy {
  return { roles: [...spec.roles], rules: spec.rules.map(publicRule) };
}
