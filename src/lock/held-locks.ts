/** What the node shows of one lock held by one of its plugins (read only). */
export interface HeldLockView {
  readonly resource: string;
  readonly pluginId: string;
  readonly fencingToken: number;
  /** Epoch ms of its local expiry (moves on with each extension). */
  readonly expiresAt: number;
}

/**
 * The locks this node's plugins hold now, across plugins (for the dashboard): a lock is added
 * when granted and removed when released or lost. Bounded by what the plugins hold.
 */
export class HeldLocks {
  private readonly held = new Set<HeldLockView>();

  add(lock: HeldLockView): void {
    this.held.add(lock);
  }

  delete(lock: HeldLockView): void {
    this.held.delete(lock);
  }

  /** A snapshot, by resource. */
  list(): Array<{ resource: string; pluginId: string; fencingToken: number; expiresAt: number }> {
    return [...this.held]
      .map(({ resource, pluginId, fencingToken, expiresAt }) => ({
        resource,
        pluginId,
        fencingToken,
        expiresAt,
      }))
      .sort((a, b) => a.resource.localeCompare(b.resource));
  }
}
