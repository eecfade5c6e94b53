import type { Capability } from './grammar.js';
import { segmentsOf } from './grammar.js';

/** Decisions remembered per (area, action): targets repeat, so most checks are one map lookup. */
const CACHE_LIMIT = 1024;
/** Longer targets are not remembered (names are at most 256 characters): the cache stays small in bytes. */
const MAX_CACHED_TARGET = 256;

/**
 * True when `pattern` matches every name `target` could stand for. `target` is a concrete name
 * or itself a pattern (a subscription): its `*` and `**` are the sets of names they match.
 * Memoized over (pattern index, target index): at most |pattern| × |target| steps.
 */
export function covers(pattern: readonly string[], target: readonly string[]): boolean {
  const width = target.length + 1;
  const memo = new Int8Array((pattern.length + 1) * width);
  const walk = (i: number, j: number): boolean => {
    const at = i * width + j;
    if (memo[at] !== 0) return memo[at] === 1;
    let result: boolean;
    if (i === pattern.length) result = j === target.length;
    else {
      const p = pattern[i]!;
      if (p === '**') {
        // Consume nothing, or absorb the target's next segment (whatever it stands for).
        result = walk(i + 1, j) || (j < target.length && walk(i, j + 1));
      } else if (j === target.length) result = false;
      else {
        const t = target[j]!;
        // A target's `**` may be any number of segments: only a `**` covers it.
        if (t === '**') result = false;
        else if (t === '*') result = p === '*' && walk(i + 1, j + 1);
        else result = (p === '*' || p === t) && walk(i + 1, j + 1);
      }
    }
    memo[at] = result ? 1 : 2;
    return result;
  };
  return walk(0, 0);
}

/** The patterns granted for one (area, action), with its remembered decisions. */
export class ActionRules {
  private readonly decisions = new Map<string, boolean>();
  constructor(private readonly patterns: readonly (readonly string[])[]) {}

  allows(target: string): boolean {
    const known = this.decisions.get(target);
    if (known !== undefined) return known;
    const segments = segmentsOf(target);
    const allowed = this.patterns.some((pattern) => covers(pattern, segments));
    if (target.length > MAX_CACHED_TARGET) return allowed;
    if (this.decisions.size >= CACHE_LIMIT) {
      // Forget the oldest decision: the map stays bounded whatever the plugin asks for.
      this.decisions.delete(this.decisions.keys().next().value!);
    }
    this.decisions.set(target, allowed);
    return allowed;
  }
}

/** A plugin's compiled capabilities. */
export class CapabilityMatcher {
  private readonly rules = new Map<string, Map<string, ActionRules | undefined>>();

  constructor(private readonly capabilities: readonly Capability[]) {}

  /** True when a capability grants `area:action` on `target`. */
  allows(area: string, action: string, target: string): boolean {
    const rules = this.rulesFor(area, action);
    return rules !== undefined && rules.allows(target);
  }

  /** The compiled patterns of `area:action` (undefined: none granted). */
  rulesFor(area: string, action: string): ActionRules | undefined {
    let byAction = this.rules.get(area);
    if (byAction === undefined)
      this.rules.set(area, (byAction = new Map<string, ActionRules | undefined>()));
    let rules = byAction.get(action);
    if (rules === undefined && !byAction.has(action)) {
      rules = this.compile(area, action);
      byAction.set(action, rules);
    }
    return rules;
  }

  private compile(area: string, action: string): ActionRules | undefined {
    const patterns = this.capabilities
      .filter(
        (c) => (c.area === '*' || c.area === area) && (c.action === '*' || c.action === action),
      )
      .map((c) => c.segments);
    return patterns.length === 0 ? undefined : new ActionRules(patterns);
  }
}
