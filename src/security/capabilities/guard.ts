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
   * the plugin's capabilities allow `area:action` on `target`. With `member` (an RPC method),
   * a capability covering `target.member` or `target` itself grants.
   */
  assert(area: CapabilityArea, action: string, target: string, member?: string): void;
  /** True when `area:action` on `target` is allowed (no error, no audit: for filtering lists). */
  allows(area: CapabilityArea, action: string, target: string): boolean;
  /**
   * The check of one `area:action`, for a facade's hot path: `check(target, member?)` behaves
   * as `assert(area, action, target, member)`, and answers a repeat of its last allowed target
   * with one comparison.
   */
  checker(area: CapabilityArea, action: string): TargetCheck;
  /** Write the denial counts still pending (the plugin stopped); the guard still checks. */
  flush(): void;
}

/** `assert` for one area and action (see {@link CapabilityGuard.checker}). */
export type TargetCheck = (target: string, member?: string) => void;
