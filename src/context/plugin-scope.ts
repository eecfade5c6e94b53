import type { Logger } from 'pino';
import { ContextClosedError } from '../errors/errors.js';
import { settleWithin } from '../util/bound.js';
import type { CapabilityGuard } from '../security/capabilities/guard.js';
import type { PluginTag } from '../util/plugin-attribution.js';
import { WorkTracker } from '../util/work-tracker.js';

/** Something a plugin holds that must be let go when it stops. */
export interface Releasable {
  readonly kind:
    | 'subscription'
    | 'registration'
    | 'registryEntry'
    | 'timer'
    | 'batchProcessor'
    | 'lock'
    | 'feedWatch'
    | 'cacheTier'
    | 'breakerListener';
  /** `timeoutMs`: the bound of the plugin's release (work still running past it is given up). */
  release(timeoutMs?: number): void | Promise<void>;
}

/**
 * Everything one plugin holds, so the host can release it all when the plugin stops: the
 * facades add a {@link Releasable} for each subscription, registration, registry entry and
 * timer, and count handlers and background tasks in flight.
 */
export class PluginScope {
  readonly tracker = new WorkTracker();
  readonly background = new WorkTracker();
  readonly controller = new AbortController();
  private readonly held = new Set<Releasable>();
  private readonly backgroundNames = new Map<number, string>();
  private backgroundSeq = 0;
  /** Set when release begins: nothing new may be created (subscriptions, registrations, timers). */
  private releasing = false;
  /** Set once released: no operation at all. In between, handlers still finishing may publish and call. */
  private isClosed = false;

  /** Marks the plugin's code for unhandled-rejection attribution (see `util/plugin-attribution`). */
  readonly tag: PluginTag;

  /** `host`: the object that identifies the plugin's host (the runtime) in {@link tag}. */
  /**
   * `guard`: the plugin's capability check, run by every facade before any side effect;
   * undefined when the plugin is trusted (no check at all on the hot path).
   */
  constructor(
    readonly pluginId: string,
    readonly logger: Logger,
    host: object = {},
    readonly guard?: CapabilityGuard,
  ) {
    this.tag = Object.freeze({ pluginId, host });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Throw if the plugin has stopped: a stopped plugin's context must not create anything. */
  assertOpen(operation: string): void {
    if (this.releasing || this.isClosed) {
      throw new ContextClosedError(
        `Plugin "${this.pluginId}" has stopped; ${operation} is no longer possible.`,
        {
          details: { pluginId: this.pluginId, operation },
        },
      );
    }
  }

  hold(item: Releasable): void {
    this.held.add(item);
  }

  /** Forget an item that was released by the plugin itself. */
  drop(item: Releasable): void {
    this.held.delete(item);
  }

  startBackground(name: string): () => void {
    const id = ++this.backgroundSeq;
    this.backgroundNames.set(id, name);
    this.background.begin();
    return () => {
      if (this.backgroundNames.delete(id)) this.background.end();
    };
  }

  count(kind: Releasable['kind']): number {
    let n = 0;
    for (const item of this.held) if (item.kind === kind) n++;
    return n;
  }

  /** Resolves when no handler and no background task is in flight (re-checked: work spawns work). */
  async idle(): Promise<void> {
    while (this.tracker.inFlight > 0 || this.background.inFlight > 0) {
      await Promise.all([this.tracker.idle(), this.background.idle()]);
    }
  }

  async release(timeoutMs: number): Promise<{ unfinished: string[] }> {
    this.releasing = true;
    try {
      return await this.releaseAll(timeoutMs);
    } finally {
      this.isClosed = true;
    }
  }

  /**
   * Stop inbound work first (subscriptions, registrations, timers), then wait for what is in
   * flight: a handler finishing its work may still publish its result or call another plugin.
   */
  private async releaseAll(timeoutMs: number): Promise<{ unfinished: string[] }> {
    this.controller.abort(new ContextClosedError(`Plugin "${this.pluginId}" is stopping.`));
    const items = [...this.held];
    this.held.clear();
    const results = await Promise.allSettled(items.map(async (item) => item.release(timeoutMs)));
    for (const result of results) {
      if (result.status === 'rejected') {
        this.logger.warn({ err: result.reason as unknown }, 'could not release a resource cleanly');
      }
    }
    const outcome = await settleWithin(this.idle(), timeoutMs);
    if (outcome.status === 'ok') return { unfinished: [] };
    const unfinished = [...this.backgroundNames.values()].map(
      (name) => `background task "${name}"`,
    );
    if (this.tracker.inFlight > 0) unfinished.push(`${this.tracker.inFlight} handler(s) in flight`);
    return { unfinished };
  }
}
