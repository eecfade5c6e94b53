import { PermissionDeniedError } from '../../errors/errors.js';
import type { AuditCore } from '../audit/audit-core.js';
import { parseCapabilities } from './grammar.js';
import type { CapabilityArea, CapabilityGuard, TargetCheck } from './guard.js';
import { CapabilityMatcher } from './matcher.js';

/** Longest target a denial shows (error, audit entry) in full. */
const MAX_SHOWN_TARGET = 256;

function clip(target: string): string {
  return target.length <= MAX_SHOWN_TARGET
    ? target
    : `${target.slice(0, MAX_SHOWN_TARGET)}…(${target.length} characters)`;
}

/** The value of a checker's empty slots: no caller can pass it. */
const EMPTY = Symbol('empty');

/** Denials of one capability within this window are audited once, then counted. */
export const DENIAL_WINDOW_MS = 10_000;
/** Distinct capabilities audited per window and plugin; past it, denials are only counted. */
export const MAX_DENIALS_PER_WINDOW = 100;

export interface GuardOptions {
  readonly pluginId: string;
  /** Declared capabilities; undefined when the plugin declares no list. */
  readonly permissions: readonly string[] | undefined;
  readonly strict: boolean;
  readonly audit: Pick<AuditCore, 'record'>;
  /** The coalescing window of denial audits, ms (default {@link DENIAL_WINDOW_MS}). */
  readonly denialWindowMs?: number;
}

/**
 * The plugin's guard, or undefined when it is trusted: no list and strict mode off. A plugin
 * with a list (even an empty one) is always held to it; in strict mode a plugin without a list
 * may do nothing.
 * @throws InvalidManifestError for a malformed capability (naming the plugin and the entry)
 */
export function createCapabilityGuard(options: GuardOptions): CapabilityGuard | undefined {
  const { pluginId, permissions, strict } = options;
  if (permissions === undefined && !strict) return undefined;
  const matcher = new CapabilityMatcher(parseCapabilities(pluginId, permissions ?? []));
  const denials = new DenialAudit(
    pluginId,
    options.audit,
    options.denialWindowMs ?? DENIAL_WINDOW_MS,
  );
  const deny = (area: string, action: string, target: string, member?: string): never => {
    // Clipped: a denied target may be anything a caller passed (the block's own limits come
    // after the check), and the error and its audit entry must stay small.
    const name = clip(member === undefined ? target : `${target}.${member}`);
    const capability = `${area}:${action}:${name}`;
    const reason =
      permissions === undefined
        ? `declares no permissions and the host runs in strict mode (strictPermissions: true)`
        : `does not have the capability "${capability}"`;
    denials.denied(capability, area, action, name);
    throw new PermissionDeniedError(
      `Plugin "${pluginId}" may not ${action} "${name}" (${area}): it ${reason}. ` +
        `Add "${capability}" (or a pattern covering it) to the plugin's permissions.`,
      {
        details: {
          plugin: pluginId,
          capability,
          area,
          action,
          target: name,
          declared: permissions !== undefined,
        },
      },
    );
  };
  const checker = (area: CapabilityArea, action: string): TargetCheck => {
    const rules = matcher.rulesFor(area, action);
    // The last 4 targets allowed as a whole, and the last (target, member) pair allowed:
    // plugins repeat their targets, so most checks end at a few comparisons (interned strings).
    // Capabilities never change while the plugin runs, so what was allowed stays allowed.
    // Empty slots hold a value no caller can pass (not `undefined`, which a caller can), so a
    // fresh checker never lets a missing target through.
    let w0: unknown = EMPTY,
      w1: unknown = EMPTY,
      w2: unknown = EMPTY,
      w3: unknown = EMPTY;
    let slot = 0;
    let pairTarget: unknown = EMPTY;
    let pairMember: unknown = EMPTY;
    const slow = (target: string, member: string | undefined): void => {
      // Not a string: refused (the block would refuse it too; a guard fails closed).
      if (typeof target !== 'string') return deny(area, action, String(target));
      if (rules?.allows(target) === true) {
        const at = slot++ & 3;
        if (at === 0) w0 = target;
        else if (at === 1) w1 = target;
        else if (at === 2) w2 = target;
        else w3 = target;
        return;
      }
      if (member === undefined) return deny(area, action, target);
      if (typeof member !== 'string') return deny(area, action, target, String(member));
      if (rules?.allows(`${target}.${member}`) !== true) return deny(area, action, target, member);
      pairTarget = target;
      pairMember = member;
    };
    return (target, member) => {
      if (target === w0 || target === w1 || target === w2 || target === w3) return;
      if (target === pairTarget && member === pairMember && member !== undefined) return;
      slow(target, member);
    };
  };
  const checkers = new Map<string, TargetCheck>();
  return {
    allows: (area: CapabilityArea, action: string, target: string): boolean =>
      typeof target === 'string' && matcher.allows(area, action, target),
    assert(area: CapabilityArea, action: string, target: string, member?: string): void {
      const key = `${area}:${action}`;
      let check = checkers.get(key);
      // Areas and actions are the facades' own constants: the map stays small.
      if (check === undefined) checkers.set(key, (check = checker(area, action)));
      check(target, member);
    },
    checker,
    flush: () => denials.flush(),
  };
}

/**
 * Audits a plugin's denials without letting a storm flood the log: the first denial of a
 * capability in a window is audited at once (`permission.denied`); repeats within the window
 * are counted and audited as one entry (`metadata.repeated`) when it ends. Past
 * {@link MAX_DENIALS_PER_WINDOW} distinct capabilities in a window, further ones are counted
 * together (`metadata.suppressed`, target `*`). Bounded: one map of at most that many entries
 * and one timer per plugin.
 */
class DenialAudit {
  private readonly counts = new Map<
    string,
    { area: string; action: string; target: string; repeated: number }
  >();
  private overflow = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pluginId: string,
    private readonly audit: Pick<AuditCore, 'record'>,
    private readonly windowMs: number,
  ) {}

  denied(capability: string, area: string, action: string, target: string): void {
    const seen = this.counts.get(capability);
    if (seen !== undefined) seen.repeated++;
    else if (this.counts.size >= MAX_DENIALS_PER_WINDOW) this.overflow++;
    else {
      this.counts.set(capability, { area, action, target, repeated: 0 });
      this.record(capability, { area, action, target });
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [capability, { area, action, target, repeated }] of this.counts) {
      if (repeated > 0) this.record(capability, { area, action, target, repeated });
    }
    if (this.overflow > 0) {
      this.record('*', { suppressed: this.overflow, windowMs: this.windowMs });
    }
    this.counts.clear();
    this.overflow = 0;
  }

  private record(capability: string, metadata: Record<string, unknown>): void {
    this.audit.record({
      action: 'permission.denied',
      actor: this.pluginId,
      target: capability,
      metadata: { plugin: this.pluginId, capability, ...metadata },
    });
  }
}
