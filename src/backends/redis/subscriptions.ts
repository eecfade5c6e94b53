import type { Logger } from 'pino';
import type { CommandRunner } from './connection.js';

/** Receives every message of one channel; the buffer is shared by all handlers, do not mutate. */
export type ChannelHandler = (message: Buffer) => void;

interface ChannelState {
  readonly handlers: Set<ChannelHandler>;
  /** What Redis holds for this connection: true, false, or unknown after a failed command. */
  subscribed: boolean | undefined;
  /** SUBSCRIBE/UNSUBSCRIBE of this channel run one at a time, in order. */
  chain: Promise<void>;
}

/**
 * The channels of the subscriber connection, reference-counted: however many local handlers
 * share a channel, Redis sees one SUBSCRIBE, and one UNSUBSCRIBE when the last one leaves.
 * Reconnects are ioredis's job (`autoResubscribe` replays exactly the channels Redis had
 * confirmed); this hub never subscribes again by itself, so nothing is doubled.
 */
export class SubscriptionHub {
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;
  private wasReady = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly logger: Logger,
  ) {
    runner.client.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.dispatch(channel, message),
    );
    // An UNSUBSCRIBE that could not be sent before its deadline (Redis was away) was dropped,
    // and ioredis resubscribes the channel on reconnect: once it has, unsubscribe again.
    runner.client.on('ready', () => setImmediate(() => this.dropUnwanted()));
    runner.client.on('ready', () => {
      this.wasReady = true;
    });
  }

  /**
   * Call `listener` each time the subscriber connection closes after it was ready, while this
   * hub is open (not on close): messages in flight to it are lost, and ioredis reconnects.
   */
  onLost(listener: () => void): void {
    this.runner.client.on('close', () => {
      if (this.closed || !this.wasReady) return;
      this.wasReady = false;
      listener();
    });
  }

  /**
   * Call `handler` for every message on `channel`. Resolves once Redis confirmed the
   * subscription, with an idempotent function that removes the handler again.
   * @throws BackendUnavailableError or TimeoutError when Redis cannot confirm in time.
   */
  async add(channel: string, handler: ChannelHandler): Promise<() => Promise<void>> {
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { handlers: new Set(), subscribed: false, chain: Promise.resolve() };
      this.channels.set(channel, state);
    }
    // Wrapped so the same function added twice is two handlers.
    const entry: ChannelHandler = (message) => handler(message);
    state.handlers.add(entry);
    try {
      await this.sync(channel, state);
    } catch (error) {
      state.handlers.delete(entry);
      this.sync(channel, state).catch(() => undefined);
      throw error;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      state.handlers.delete(entry);
      await this.sync(channel, state).catch((error: unknown) =>
        this.logger.debug(
          { err: error, channel },
          'UNSUBSCRIBE failed; Redis drops it with the connection',
        ),
      );
    };
  }

  /** Channels with at least one handler (for tests and health). */
  activeChannels(): string[] {
    return [...this.channels].filter(([, s]) => s.handlers.size > 0).map(([c]) => c);
  }

  /** Drop every handler (the connection is closing). */
  close(): void {
    this.closed = true;
    for (const state of this.channels.values()) state.handlers.clear();
    this.channels.clear();
  }

  private dropUnwanted(): void {
    for (const [channel, state] of this.channels) {
      if (state.handlers.size === 0 && state.subscribed !== false)
        this.sync(channel, state).catch((error: unknown) =>
          this.logger.debug({ err: error, channel }, 'UNSUBSCRIBE after reconnect failed'),
        );
    }
  }

  private sync(channel: string, state: ChannelState): Promise<void> {
    const next = state.chain.then(() => this.apply(channel, state));
    state.chain = next.catch(() => undefined);
    return next;
  }

  private async apply(channel: string, state: ChannelState): Promise<void> {
    const want = state.handlers.size > 0;
    if (want && state.subscribed !== true) {
      state.subscribed = undefined;
      await this.runner.run(`subscribe to ${channel}`, (client) => client.subscribe(channel));
      state.subscribed = true;
    } else if (!want && state.subscribed !== false) {
      state.subscribed = undefined;
      await this.runner.run(`unsubscribe from ${channel}`, (client) => client.unsubscribe(channel));
      state.subscribed = false;
      if (state.handlers.size === 0 && this.channels.get(channel) === state)
        this.channels.delete(channel);
    }
  }

  private dispatch(channel: Buffer, message: Buffer): void {
    const state = this.channels.get(channel.toString());
    if (state === undefined) return;
    for (const handler of state.handlers) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error(
          { err: error, channel: channel.toString() },
          'Redis message handler threw',
        );
      }
    }
  }
}
