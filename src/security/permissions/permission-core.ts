import type { Logger } from 'pino';
import type { PolicyChange, PolicySnapshot, PolicyStore } from '../../backends/ports.js';
import {
  BackpressureError,
  PayloadTooLargeError,
  PermissionDeniedError,
  ValidationError,
} from '../../errors/errors.js';
import type { AuditCore } from '../audit/audit-core.js';
import { CompiledPolicy } from './policy-eval.js';
import {
  actorProblem,
  inheritanceCycle,
  parseActorPolicy,
  parseActorId,
  parseConditions,
  parsePattern,
  parsePolicyOptions,
  parseRoleDefinition,
  parseRoleName,
  permissionProblem,
  publicActor,
  publicRole,
  type ActorSpec,
  type PolicySpec,
  type RoleSpec,
  type RuleSpec,
} from './policy-schema.js';
import type {
  PermissionCheck,
  PermissionConditions,
  PermissionPolicy,
  PermissionPolicyOptions,
  PermissionResource,
  RoleDefinition,
} from './types.js';

export interface PermissionEnv {
  readonly store: PolicyStore;
  readonly logger: Logger;
  readonly policy: PermissionPolicyOptions | undefined;
  readonly audit: AuditCore;
}

const ROLE = 'role:';
const ACTOR = 'actor:';
/** Attempts of one change against concurrent writers before giving up (each one round trip). */
const WRITE_ATTEMPTS = 50;
/**
 * Bound on the stored policy (every host loads it whole and keeps it compiled): a change that
 * would make it larger is refused. Per-user facts belong in roles and conditions.
 */
export const MAX_POLICY_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON with object keys sorted: equal values, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const encode = (value: unknown): Uint8Array => encoder.encode(canonical(value));
const roleRecord = (spec: RoleSpec): Uint8Array => encode(publicRole(spec));
const actorRecord = (spec: ActorSpec): Uint8Array => encode(publicActor(spec));

/**
 * The stored policy of a snapshot. A record that does not parse fails the whole read (checks
 * fail closed), unless `skip` is given: then it is reported there and left out (what a change
 * computes from, so that redefining the role or actor repairs the record).
 */
function decode(snapshot: PolicySnapshot, skip?: (error: unknown) => void): PolicySpec {
  const roles = new Map<string, RoleSpec>();
  const actors = new Map<string, ActorSpec>();
  for (const { key, value } of snapshot.records) {
    try {
      const parsed = parseJson(key, value);
      if (key.startsWith(ROLE)) roles.set(key.slice(ROLE.length), parseRoleDefinition(parsed, key));
      else if (key.startsWith(ACTOR))
        actors.set(key.slice(ACTOR.length), parseActorPolicy(parsed, key));
    } catch (error) {
      if (skip === undefined) throw error;
      skip(error);
    }
  }
  return { roles, actors };
}

function parseJson(key: string, value: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(value));
  } catch (error) {
    throw new ValidationError(
      `The stored permission policy record "${key}" is not JSON; redefine it.`,
      { details: { field: key }, cause: error },
    );
  }
}

function sameRule(a: RuleSpec, b: RuleSpec): boolean {
  return (
    a.effect === b.effect &&
    a.permission === b.permission &&
    canonical(a.when) === canonical(b.when)
  );
}

/** What a change computes from the stored policy: the writes, and what the caller gets back. */
interface Change<T> {
  readonly changes: PolicyChange[];
  readonly result: T;
}

/**
 * One per host: evaluates checks against the cluster's stored policy, and changes it.
 *
 * Caching: the policy is compiled once per revision and kept; every check first reads the
 * store's revision (one `GET` on Redis, shared by the checks that arrive while it is in flight)
 * and recompiles from a fresh snapshot when it moved. A check that starts after a change
 * resolved on any node therefore sees it; nothing is trusted from a node's memory alone.
 */
export class PermissionCore {
  private compiled: CompiledPolicy | undefined;
  private loading: Promise<CompiledPolicy> | undefined;
  private reading: Promise<number> | undefined;
  private nextRead: Promise<number> | undefined;
  private readonly configured: PolicySpec | undefined;

  constructor(private readonly env: PermissionEnv) {
    this.configured = env.policy === undefined ? undefined : parsePolicyOptions(env.policy);
  }

  /** Write the configured roles and actors (see `PermissionPolicyOptions`), then load. */
  async start(): Promise<void> {
    const configured = this.configured;
    if (configured !== undefined) {
      const changed = await this.change((stored) => {
        const changes: PolicyChange[] = [];
        const put = (key: string, value: Uint8Array, before: Uint8Array | undefined): void => {
          if (before === undefined || Buffer.compare(before, value) !== 0)
            changes.push({ key, value });
        };
        for (const [name, role] of configured.roles) {
          const old = stored.roles.get(name);
          put(ROLE + name, roleRecord(role), old && roleRecord(old));
        }
        for (const [id, actor] of configured.actors) {
          const old = stored.actors.get(id);
          put(ACTOR + id, actorRecord(actor), old && actorRecord(old));
        }
        return { changes, result: changes.length };
      });
      if (changed > 0)
        this.env.logger.info(
          { records: changed },
          'Permission policy: configured roles and actors written to the policy store',
        );
    }
    try {
      await this.current();
    } catch (error) {
      // Not fatal to the host: checks reject (fail closed) until the record is repaired.
      this.env.logger.error(
        { err: error },
        'Permission policy: the stored policy cannot be loaded; checks fail until it is fixed',
      );
    }
  }

  async check(
    actorId: string,
    permission: string,
    resource?: PermissionResource,
  ): Promise<PermissionCheck> {
    assertCheckArgs(actorId, permission, resource);
    const policy = await this.current();
    return policy.check(actorId, permission, resource);
  }

  async assert(
    plugin: string,
    actorId: string,
    permission: string,
    resource?: PermissionResource,
  ): Promise<void> {
    const result = await this.check(actorId, permission, resource);
    if (result.granted) return;
    this.env.audit.record({
      action: 'permission.denied',
      actor: actorId,
      target: permission,
      metadata: { reason: result.reason, plugin },
    });
    throw new PermissionDeniedError(
      `"${actorId}" may not "${permission}": ${result.reason}. Grant it with ` +
        'permissionService.grant or a role, if it should be allowed.',
      { details: { actor: actorId, permission, reason: result.reason } },
    );
  }

  async policy(): Promise<PermissionPolicy> {
    const snapshot = await this.env.store.snapshot();
    const spec = decode(snapshot);
    return {
      revision: snapshot.revision,
      roles: Object.fromEntries([...spec.roles].map(([n, r]) => [n, publicRole(r)])),
      actors: Object.fromEntries([...spec.actors].map(([n, a]) => [n, publicActor(a)])),
    };
  }

  async defineRole(plugin: string, name: string, definition: RoleDefinition): Promise<void> {
    const role = parseRoleName(name, 'name');
    const spec = parseRoleDefinition(definition, 'definition');
    await this.change((stored) => {
      spec.inherits.forEach((parent, i) => {
        if (parent !== role && !stored.roles.has(parent))
          throw new ValidationError(
            `Role "${role}" inherits "${parent}", which is not defined; define it first.`,
            { details: { field: `definition.inherits[${i}]`, role: parent } },
          );
      });
      const roles = new Map(stored.roles).set(role, spec);
      const cycle = inheritanceCycle(roles, role);
      if (cycle !== undefined)
        throw new ValidationError(
          `Role "${role}" may not inherit in a cycle (${cycle.join(' → ')}).`,
          { details: { field: 'definition.inherits', cycle } },
        );
      return { changes: [{ key: ROLE + role, value: roleRecord(spec) }], result: undefined };
    });
    this.audited(plugin, 'permission.role.define', role, { definition: publicRole(spec) });
  }

  async removeRole(plugin: string, name: string): Promise<boolean> {
    const role = parseRoleName(name, 'name');
    const removed = await this.change((stored) => {
      if (!stored.roles.has(role)) return { changes: [], result: false };
      const changes: PolicyChange[] = [{ key: ROLE + role, value: undefined }];
      for (const [other, spec] of stored.roles)
        if (spec.inherits.includes(role))
          changes.push({
            key: ROLE + other,
            value: roleRecord({ ...spec, inherits: spec.inherits.filter((r) => r !== role) }),
          });
      for (const [id, actor] of stored.actors)
        if (actor.roles.includes(role))
          changes.push(actorChange(id, { ...actor, roles: actor.roles.filter((r) => r !== role) }));
      return { changes, result: true };
    });
    if (removed) this.audited(plugin, 'permission.role.remove', role, {});
    return removed;
  }

  async assignRole(plugin: string, actorId: string, name: string): Promise<void> {
    const id = parseActorId(actorId, 'actorId');
    const role = parseRoleName(name, 'role');
    const changed = await this.changeActor(id, (actor, stored) => {
      if (!stored.roles.has(role))
        throw new ValidationError(`Role "${role}" is not defined; define it first.`, {
          details: { field: 'role', role },
        });
      return actor.roles.includes(role) ? undefined : { ...actor, roles: [...actor.roles, role] };
    });
    if (changed) this.audited(plugin, 'permission.role.assign', id, { role });
  }

  async unassignRole(plugin: string, actorId: string, name: string): Promise<boolean> {
    const id = parseActorId(actorId, 'actorId');
    const role = parseRoleName(name, 'role');
    const changed = await this.changeActor(id, (actor) =>
      actor.roles.includes(role)
        ? { ...actor, roles: actor.roles.filter((r) => r !== role) }
        : undefined,
    );
    if (changed) this.audited(plugin, 'permission.role.unassign', id, { role });
    return changed;
  }

  async addRule(
    plugin: string,
    effect: 'allow' | 'deny',
    actorId: string,
    permission: string,
    conditions: PermissionConditions | undefined,
  ): Promise<void> {
    const id = parseActorId(actorId, 'actorId');
    const rule: RuleSpec = {
      effect,
      permission: parsePattern(permission, 'permission'),
      ...(conditions === undefined ? {} : { when: parseConditions(conditions, 'conditions') }),
    };
    const changed = await this.changeActor(id, (actor) =>
      actor.rules.some((r) => sameRule(r, rule))
        ? undefined
        : { ...actor, rules: [...actor.rules, rule] },
    );
    if (changed)
      this.audited(plugin, `permission.${effect === 'allow' ? 'grant' : 'deny'}`, id, {
        permission: rule.permission,
        ...(rule.when === undefined ? {} : { when: rule.when }),
      });
  }

  async revoke(plugin: string, actorId: string, permission: string): Promise<boolean> {
    const id = parseActorId(actorId, 'actorId');
    const pattern = parsePattern(permission, 'permission');
    const changed = await this.changeActor(id, (actor) =>
      actor.rules.some((r) => r.permission === pattern)
        ? { ...actor, rules: actor.rules.filter((r) => r.permission !== pattern) }
        : undefined,
    );
    if (changed) this.audited(plugin, 'permission.revoke', id, { permission: pattern });
    return changed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Change one actor's record: `update` returns the new record, or undefined for no change. */
  private changeActor(
    id: string,
    update: (actor: ActorSpec, stored: PolicySpec) => ActorSpec | undefined,
  ): Promise<boolean> {
    return this.change((stored) => {
      const next = update(stored.actors.get(id) ?? { roles: [], rules: [] }, stored);
      return next === undefined
        ? { changes: [], result: false }
        : { changes: [actorChange(id, next)], result: true };
    });
  }

  /**
   * Read the stored policy, compute a change, write it against the revision read; on a
   * concurrent change (the revision moved), read and compute again. No change: no write.
   */
  private async change<T>(compute: (stored: PolicySpec) => Change<T>): Promise<T> {
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const snapshot = await this.env.store.snapshot();
      const stored = decode(snapshot, (error) =>
        this.env.logger.warn(
          { err: error },
          'Permission policy: an invalid stored record is ignored by this change (checks fail ' +
            'until it is redefined)',
        ),
      );
      const { changes, result } = compute(stored);
      if (changes.length === 0) return result;
      assertPolicySize(snapshot, changes);
      const revision = await this.env.store.write(changes, snapshot.revision);
      if (revision !== undefined) return result;
    }
    throw new BackpressureError(
      `The permission policy changed ${WRITE_ATTEMPTS} times while this change was computed; ` +
        'retry it (fewer concurrent writers help).',
      { retryable: true, details: { attempts: WRITE_ATTEMPTS } },
    );
  }

  /** The compiled policy at the store's current revision (or a later one). */
  private async current(): Promise<CompiledPolicy> {
    const revision = await this.freshRevision();
    const compiled = this.compiled;
    // Equal, not "at least": a store that lost its data restarts its revisions.
    if (compiled !== undefined && compiled.revision === revision) return compiled;
    for (;;) {
      this.loading ??= this.env.store
        .snapshot()
        .then((snapshot) => {
          // Loads run one at a time: the last one read the newest policy.
          const next = new CompiledPolicy(snapshot.revision, decode(snapshot));
          this.compiled = next;
          return next;
        })
        .finally(() => {
          this.loading = undefined;
        });
      const loaded = await this.loading;
      if (loaded.revision >= revision) return loaded;
    }
  }

  /**
   * The store's revision, read by a request that started after this call: callers arriving
   * while a read is in flight share the next one (at most two reads in flight per host).
   */
  private freshRevision(): Promise<number> {
    if (this.reading === undefined) {
      this.reading = this.env.store.revision().finally(() => {
        this.reading = undefined;
      });
      return this.reading;
    }
    this.nextRead ??= this.reading
      .catch(() => undefined)
      .then(() => {
        this.nextRead = undefined;
        return this.freshRevision();
      });
    return this.nextRead;
  }

  private audited(
    plugin: string,
    action: string,
    target: string,
    metadata: Record<string, unknown>,
  ): void {
    this.env.audit.record({ action, actor: plugin, target, metadata });
  }
}

/** Refuse `changes` if the policy they leave would exceed {@link MAX_POLICY_BYTES}. */
function assertPolicySize(snapshot: PolicySnapshot, changes: readonly PolicyChange[]): void {
  const sizes = new Map(snapshot.records.map((r) => [r.key, r.key.length + r.value.byteLength]));
  for (const { key, value } of changes)
    if (value === undefined) sizes.delete(key);
    else sizes.set(key, key.length + value.byteLength);
  let total = 0;
  for (const size of sizes.values()) total += size;
  if (total > MAX_POLICY_BYTES)
    throw new PayloadTooLargeError(
      `The permission policy would grow to ${total} bytes, over its ${MAX_POLICY_BYTES}-byte ` +
        'limit (every host loads it whole): grant through roles and conditions rather than ' +
        'per-actor rules, or remove what is no longer needed.',
      { details: { field: 'permissionPolicy', bytes: total, limit: MAX_POLICY_BYTES } },
    );
}

function actorChange(id: string, actor: ActorSpec): PolicyChange {
  const empty = actor.roles.length === 0 && actor.rules.length === 0;
  return { key: ACTOR + id, value: empty ? undefined : actorRecord(actor) };
}

function assertCheckArgs(actorId: unknown, permission: unknown, resource: unknown): void {
  const actorIssue = typeof actorId === 'string' ? actorProblem(actorId) : 'must be a string';
  if (actorIssue !== undefined)
    throw new ValidationError(`permissionService: the actor id ${actorIssue}.`, {
      details: { field: 'actorId' },
    });
  const permissionIssue =
    typeof permission === 'string' ? permissionProblem(permission, false) : 'must be a string';
  if (permissionIssue !== undefined)
    throw new ValidationError(
      `permissionService: permission ${JSON.stringify(permission)} ${permissionIssue}.`,
      { details: { field: 'permission' } },
    );
  if (resource !== undefined && (resource === null || typeof resource !== 'object'))
    throw new ValidationError('permissionService: the resource must be an object of attributes.', {
      details: { field: 'resource' },
    });
}
