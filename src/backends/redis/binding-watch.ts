import type { Logger } from 'pino';
import type { BindingChange, BindingListener, PortSubscription } from '../ports.js';
import type { SubscriptionHub } from './subscriptions.js';

/**
 * Binding watchers of one node: one subscription to the bindings channel however many
 * listeners, plus a mirror of the bindings set (its members). Pub/sub drops whatever passes
 * while the subscriber connection is down, so after every reconnect {@link resync} lists the
 * set again and delivers the difference as ordinary `bind`/`unbind` changes (as
 * `RegistryWatches` does for the registry).
 */
export class BindingWatch {
  private readonly listeners = new Set<BindingListener>();
  private readonly mirror = new Set<string>();
  private opening: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly channel: string,
    private readonly members: () => Promise<Buffer[]>,
    private readonly logger: Logger,
    /** Told of every binding that went away (whoever removed it). */
    private readonly onUnbound: (member: string) => void = () => undefined,
  ) {}

  async watch(listener: BindingListener): Promise<PortSubscription> {
    const entry: BindingListener = (change) => listener(change);
    this.listeners.add(entry);
    this.opening ??= this.open();
    const opening = this.opening;
    try {
      await opening;
    } catch (error) {
      this.listeners.delete(entry);
      if (this.opening === opening) this.opening = undefined;
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        this.listeners.delete(entry);
        if (this.listeners.size > 0 || this.opening !== opening) return;
        this.opening = undefined;
        this.mirror.clear();
        const unsubscribe = this.unsubscribe;
        this.unsubscribe = undefined;
        await unsubscribe?.();
      },
    };
  }

  /** After a reconnect: deliver whatever changed while changes could not arrive. */
  async resync(): Promise<void> {
    if (this.opening === undefined) return;
    const current = new Set((await this.members()).map((m) => m.toString('latin1')));
    for (const member of current) if (!this.mirror.has(member)) this.apply('+', member);
    for (const member of [...this.mirror]) if (!current.has(member)) this.apply('-', member);
  }

  close(): void {
    this.listeners.clear();
    this.mirror.clear();
    this.opening = undefined;
  }

  private async open(): Promise<void> {
    this.unsubscribe = await this.hub.add(this.channel, (message) => {
      const sign = message.toString('latin1', 0, 1);
      if (sign !== '+' && sign !== '-') {
        this.logger.warn('Dropped a malformed binding change');
        return;
      }
      this.apply(sign, message.toString('latin1', 1));
    });
    for (const member of await this.members()) this.mirror.add(member.toString('latin1'));
  }

  private apply(sign: '+' | '-', member: string): void {
    if (sign === '+') {
      if (this.mirror.has(member)) return;
      this.mirror.add(member);
    } else {
      if (!this.mirror.delete(member)) return;
      this.onUnbound(member);
    }
    const change: BindingChange = {
      type: sign === '+' ? 'bind' : 'unbind',
      ...decodeBinding(Buffer.from(member, 'latin1')),
    };
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'Binding listener threw');
      }
    }
  }
}

/** A bindings-set member (`<len(queue)>:<queue><pattern>`, see `ownedMember`) as its parts. */
export function decodeBinding(member: Buffer): { queue: string; pattern: string } {
  const colon = member.indexOf(0x3a);
  const length = Number(member.toString('latin1', 0, colon));
  return {
    queue: member.toString('utf8', colon + 1, colon + 1 + length),
    pattern: member.toString('utf8', colon + 1 + length),
  };
}
