import type { ActorSpec, PolicySpec, RoleSpec, RuleSpec } from './policy-schema.js';
import type {
  ConditionValue,
  PermissionCheck,
  PermissionCondition,
  PermissionConditions,
  PermissionResource,
} from './types.js';

/** What `${actor.id}` in a condition's string stands for. */
const ACTOR_ID = '${actor.id}';

/** How many actors' rule lists one compiled policy keeps (least recently used go first). */
export const ACTOR_CACHE_SIZE = 4096;

type Test = (resource: PermissionResource, actorId: string) => boolean;

/** A rule ready to evaluate, with where it came from (for the reason of a decision). */
interface CompiledRule {
  readonly effect: 'allow' | 'deny';
  readonly permission: string;
  /** `role "admin"`, `role "viewer" (inherited by "admin")`, `actor "alice"`, ... */
  readonly source: string;
  readonly when: PermissionConditions | undefined;
  readonly matches: (segments: readonly string[]) => boolean;
  /** Undefined: no conditions (applies to any resource, and to none). */
  readonly test: Test | undefined;
}

interface ActorRules {
  readonly deny: readonly CompiledRule[];
  readonly allow: readonly CompiledRule[];
}

export function splitPermission(permission: string): string[] {
  return permission.split(/[.:]/);
}

/**
 * `*` matches one segment, `**` zero or more (as the event bus's patterns), `*` alone matches
 * every permission; `:` and `.` separate segments alike.
 */
export function compilePattern(pattern: string): (segments: readonly string[]) => boolean {
  if (pattern === '*') return () => true;
  const parts = splitPermission(pattern);
  if (!parts.some((p) => p === '*' || p === '**')) {
    return (segments) =>
      segments.length === parts.length && parts.every((part, i) => part === segments[i]);
  }
  // Memoized over (part, segment) positions: at most |parts| x |segments| steps, however many
  // `**` the pattern has (a plain recursion tries every split among them: exponential).
  return (segments) => {
    const width = segments.length + 1;
    const memo = new Int8Array((parts.length + 1) * width);
    const match = (i: number, j: number): boolean => {
      const at = i * width + j;
      if (memo[at] !== 0) return memo[at] === 1;
      let result: boolean;
      if (i === parts.length) result = j === segments.length;
      else {
        const part = parts[i] as string;
        if (part === '**') result = match(i + 1, j) || (j < segments.length && match(i, j + 1));
        else
          result =
            j < segments.length && (part === '*' || part === segments[j]) && match(i + 1, j + 1);
      }
      memo[at] = result ? 1 : 2;
      return result;
    };
    return match(0, 0);
  };
}

/** The attribute at `path` of `resource`: own properties only (never the prototype chain). */
function lookup(resource: unknown, path: readonly string[]): unknown {
  let current = resource;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key))
      return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function resolve(value: ConditionValue, actorId: string): ConditionValue {
  return typeof value === 'string' && value.includes(ACTOR_ID)
    ? value.split(ACTOR_ID).join(actorId)
    : value;
}

/** A Date compares as its epoch ms. */
function comparable(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : value;
}

function compare(actual: unknown, expected: number | string): number | undefined {
  const a = comparable(actual);
  if (typeof a === 'number' && typeof expected === 'number') return a - expected;
  if (typeof a === 'string' && typeof expected === 'string')
    return a < expected ? -1 : a > expected ? 1 : 0;
  return undefined;
}

function compileCondition(path: readonly string[], condition: PermissionCondition): Test {
  if (condition === null || typeof condition !== 'object') {
    return (resource, actorId) => lookup(resource, path) === resolve(condition, actorId);
  }
  const tests: ((actual: unknown, actorId: string) => boolean)[] = [];
  const { $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists } = condition;
  if ($eq !== undefined) tests.push((a, id) => a === resolve($eq, id));
  if ($ne !== undefined) tests.push((a, id) => a !== resolve($ne, id));
  if ($in !== undefined) tests.push((a, id) => $in.some((v) => a === resolve(v, id)));
  if ($nin !== undefined) tests.push((a, id) => !$nin.some((v) => a === resolve(v, id)));
  const order = (bound: number | string | undefined, ok: (diff: number) => boolean): void => {
    if (bound === undefined) return;
    tests.push((a, id) => {
      const diff = compare(a, typeof bound === 'string' ? (resolve(bound, id) as string) : bound);
      return diff !== undefined && ok(diff);
    });
  };
  order($gt, (d) => d > 0);
  order($gte, (d) => d >= 0);
  order($lt, (d) => d < 0);
  order($lte, (d) => d <= 0);
  if ($exists !== undefined) tests.push((a) => (a !== undefined) === $exists);
  return (resource, actorId) => {
    const actual = lookup(resource, path);
    return tests.every((test) => test(actual, actorId));
  };
}

function compileConditions(when: PermissionConditions | undefined): Test | undefined {
  if (when === undefined) return undefined;
  const tests = Object.entries(when).map(([path, condition]) =>
    compileCondition(path.split('.'), condition),
  );
  return (resource, actorId) => tests.every((test) => test(resource, actorId));
}

function compileRule(spec: RuleSpec, source: string): CompiledRule {
  return {
    effect: spec.effect,
    permission: spec.permission,
    source,
    when: spec.when,
    matches: compilePattern(spec.permission),
    test: compileConditions(spec.when),
  };
}

function whenText(when: PermissionConditions | undefined): string {
  return when === undefined ? '' : ` when ${JSON.stringify(when)}`;
}

function applies(rule: CompiledRule, resource: PermissionResource | undefined, actorId: string) {
  if (rule.test === undefined) return true;
  return resource !== undefined && rule.test(resource, actorId);
}

/**
 * A policy compiled at one revision: each role's rules (with the rules of the roles it
 * inherits) compiled once, each actor's rule list compiled on first check and kept (at most
 * {@link ACTOR_CACHE_SIZE} actors, least recently used dropped first).
 */
export class CompiledPolicy {
  private readonly roleRules = new Map<string, readonly CompiledRule[]>();
  private readonly actorRules = new Map<string, ActorRules>();

  constructor(
    readonly revision: number,
    readonly spec: PolicySpec,
  ) {}

  check(
    actorId: string,
    permission: string,
    resource: PermissionResource | undefined,
  ): PermissionCheck {
    const segments = splitPermission(permission);
    const rules = this.rulesOf(actorId);
    for (const rule of rules.deny) {
      // A deny with conditions applies to a check without a resource: its conditions cannot be
      // ruled out, and leaving the resource out must not be a way around a deny.
      if (!rule.matches(segments)) continue;
      const blind = resource === undefined && rule.test !== undefined;
      if (blind || applies(rule, resource, actorId))
        return {
          granted: false,
          reason:
            `${rule.source} denies "${rule.permission}"${whenText(rule.when)}` +
            (blind ? ' (no resource was given to rule the conditions out)' : ''),
        };
    }
    let unmet: CompiledRule | undefined;
    for (const rule of rules.allow) {
      if (!rule.matches(segments)) continue;
      if (applies(rule, resource, actorId))
        return {
          granted: true,
          reason: `${rule.source} allows "${rule.permission}"${whenText(rule.when)}`,
        };
      unmet ??= rule;
    }
    const hint =
      unmet === undefined
        ? ''
        : ` (${unmet.source} allows "${unmet.permission}" only${whenText(unmet.when)}` +
          `${resource === undefined ? ', and no resource was given' : ''})`;
    return { granted: false, reason: `no rule grants "${permission}" to "${actorId}"${hint}` };
  }

  private rulesOf(actorId: string): ActorRules {
    const cached = this.actorRules.get(actorId);
    if (cached !== undefined) {
      // Most recently used last: the first key is the one to drop.
      this.actorRules.delete(actorId);
      this.actorRules.set(actorId, cached);
      return cached;
    }
    const all: CompiledRule[] = [];
    const roles = new Set<string>();
    const add = (actor: ActorSpec | undefined, label: string): void => {
      if (actor === undefined) return;
      for (const rule of actor.rules) all.push(compileRule(rule, label));
      for (const role of actor.roles) roles.add(role);
    };
    add(this.spec.actors.get(actorId), `actor "${actorId}"`);
    if (actorId !== '*') add(this.spec.actors.get('*'), 'every actor ("*")');
    for (const role of roles) all.push(...this.rulesOfRole(role));
    const rules: ActorRules = {
      deny: all.filter((r) => r.effect === 'deny'),
      allow: all.filter((r) => r.effect === 'allow'),
    };
    if (this.actorRules.size >= ACTOR_CACHE_SIZE) {
      const oldest = this.actorRules.keys().next().value as string;
      this.actorRules.delete(oldest);
    }
    this.actorRules.set(actorId, rules);
    return rules;
  }

  /** A role's own rules, then those it inherits (each role once, cycles cut). */
  private rulesOfRole(name: string): readonly CompiledRule[] {
    const known = this.roleRules.get(name);
    if (known !== undefined) return known;
    const rules: CompiledRule[] = [];
    const seen = new Set<string>();
    const visit = (role: string, via: string | undefined): void => {
      if (seen.has(role)) return;
      seen.add(role);
      const spec: RoleSpec | undefined = this.spec.roles.get(role);
      if (spec === undefined) return;
      const source =
        via === undefined ? `role "${role}"` : `role "${role}" (inherited by "${via}")`;
      for (const rule of spec.rules) rules.push(compileRule(rule, source));
      for (const parent of spec.inherits) visit(parent, via ?? role);
    };
    visit(name, undefined);
    this.roleRules.set(name, rules);
    return rules;
  }
}
