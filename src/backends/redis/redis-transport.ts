import type { Logger } from 'pino';
import { createCodec, DEFAULT_MAX_PAYLOAD_BYTES } from '../../codec/codec.js';
import {
  BackendUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
} from '../../errors/errors.js';
import { errorToWire, wireToError, type WireError } from '../../errors/wire.js';
import { FaultListeners, InboundLimiter } from '../inbound-limiter.js';
import type {
  PortSubscription,
  Responder,
  TopicHandler,
  Transport,
  TransportFault,
  TransportStats,
} from '../ports.js';
import type { CommandRunner } from './connection.js';
import type { DeadlineEntry, Deadlines } from '../../util/deadlines.js';
import type { ClusterMac, RejectReason } from './cluster-mac.js';
import { FrameWriter, forEachFrame, MAX_TOPIC_BYTES, type Frame } from './frames.js';
import type { RedisKeys } from './keys.js';
import type { Outbox } from './outbox.js';
import { assertPayloadFits, readPubsubHardLimit } from './output-limit.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Flow-control settings and the command connection the transport checks the server with. */
export interface TransportFlow {
  /** Bound of concurrently running inbound message handlers of this node. */
  readonly maxInboundHandlers: number;
  /** Bound of the outbox's bytes (checked against `maxPayloadBytes` at start). */
  readonly maxPendingBytes: number;
  readonly operationTimeout: number;
  /** The command connection: reads the server's limits, and tells a cut subscriber from an outage. */
  readonly commands: CommandRunner;
  /** Checks every received PUBLISH when the cluster has a secret (see `clusterSecret`). */
  readonly cluster?: ClusterMac | undefined;
}

interface PendingRequest {
  readonly nodeId: string;
  readonly topic: string;
  readonly resolve: (reply: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  deadline?: DeadlineEntry;
}

/** Shortest time between two `rejected-frame` fault reports. */
const REJECT_REPORT_INTERVAL_MS = 1000;

/** Bound of the inbox channel name cache (node ids come and go over a cluster's life). */
const MAX_CACHED_INBOXES = 512;

// Error replies carry a WireError; its details may hold any structured data.
const wireCodec = createCodec({ maxPayloadBytes: 16 * 1024 * 1024 });

/**
 * The transport port over Redis pub/sub.
 *
 * - broadcast: one channel per topic (`{ns}:t:<topic>`); a node drops its own frames;
 * - direct messages, requests and replies: the target node's inbox channel (`{ns}:n:<node>`),
 *   to which every node subscribes once at start;
 * - frames to one channel within one tick leave as one PUBLISH ({@link Outbox});
 * - requests are correlated by a per-node counter and expire through one shared timer; a
 *   PUBLISH that reached nobody fails the requests it carried at once (the node is gone).
 */
export class RedisTransport implements Transport {
  private readonly writer: FrameWriter;
  private readonly topics = new Map<string, Set<TopicHandler>>();
  private readonly responders = new Map<string, Responder>();
  private readonly pending = new Map<number, PendingRequest>();
  /** Inbox channel names of the nodes talked to, built once (each request and reply needs one). */
  private readonly inboxes = new Map<string, string>();
  private nextId = Math.floor(Math.random() * 0xffffffff);
  private closed = false;
  private maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
  private readonly faults = new FaultListeners();
  private readonly limiter: InboundLimiter;
  private cuts = 0;
  /** Messages refused by the cluster MAC check, in all and not yet reported. */
  private rejected = 0;
  private unreportedRejects = 0;
  private lastRejectReport = -Infinity;
  private rejectTimer: NodeJS.Timeout | undefined;
  /**
   * The last message checked, and its frame: the hub hands one message to every subscription
   * of its channel, and it is checked (and counted as seen) once.
   */
  private lastMessage: Buffer | undefined;
  private lastOpened: Buffer | RejectReason = 'unsealed';

  constructor(
    readonly nodeId: string,
    private readonly keys: RedisKeys,
    private readonly hub: SubscriptionHub,
    private readonly outbox: Outbox,
    private readonly deadlines: Deadlines,
    private readonly logger: Logger,
    private readonly flow: TransportFlow,
  ) {
    this.writer = new FrameWriter(nodeId);
    this.limiter = new InboundLimiter(
      flow.maxInboundHandlers,
      (error, topic) => this.logger.error({ err: error, topic }, 'Transport handler threw'),
      (fault) => this.fault(fault),
    );
    this.watchReceiver();
  }

  /**
   * Check that `maxPayloadBytes` fits the server's pub/sub output limit, then subscribe this
   * node's inbox; called once by the backend at start.
   * @throws ValidationError when a message of `maxPayloadBytes` would get receivers cut off.
   */
  async start(): Promise<void> {
    assertPayloadFits(
      this.maxPayloadBytes,
      this.flow.maxPendingBytes,
      await readPubsubHardLimit(this.flow.commands),
    );
    const inbox = this.keys.inboxChannel(this.nodeId);
    await this.hub.add(inbox, (message) => this.receive(inbox, message, undefined));
  }

  setMaxPayloadBytes(bytes: number): void {
    this.maxPayloadBytes = bytes;
  }

  stats(): TransportStats {
    return {
      runningHandlers: this.limiter.active,
      shedMessages: this.limiter.dropped,
      receiverCuts: this.cuts,
      pendingBytes: this.outbox.pendingBytes,
      rejectedFrames: this.rejected,
    };
  }

  /** Bytes of outgoing frames held (see `maxPendingBytes`). */
  get pendingBytes(): number {
    return this.outbox.pendingBytes;
  }

  onFault(listener: (fault: TransportFault) => void): () => void {
    return this.faults.add(listener);
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.guard(topic).then(() =>
      this.outbox
        .enqueue(this.keys.topicChannel(topic), this.writer.message(topic, payload))
        .then(() => undefined),
    );
  }

  send(nodeId: string, topic: string, payload: Uint8Array): Promise<void> {
    return this.guard(topic).then(() =>
      this.outbox
        .enqueue(this.inbox(nodeId), this.writer.message(topic, payload))
        .then((receivers) => {
          // Redis counts the subscribers a PUBLISH reached: 0 means the node's inbox is not
          // subscribed (crashed, or cut off), whatever the registry still says.
          if (receivers === 0) throw this.notConnected(nodeId, topic);
        }),
    );
  }

  async subscribe(topic: string, handler: TopicHandler): Promise<PortSubscription> {
    await this.guard(topic);
    let set = this.topics.get(topic);
    if (set === undefined) this.topics.set(topic, (set = new Set()));
    const entry: TopicHandler = (payload, info) => handler(payload, info);
    set.add(entry);
    let unsubscribe: () => Promise<void>;
    try {
      // Each subscription gets the channel's messages from the hub, which SUBSCRIBEs once.
      const channel = this.keys.topicChannel(topic);
      unsubscribe = await this.hub.add(channel, (message) => this.receive(channel, message, entry));
    } catch (error) {
      this.removeHandler(topic, entry);
      throw error;
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        this.removeHandler(topic, entry);
        await unsubscribe();
      },
    };
  }

  request(
    nodeId: string,
    topic: string,
    payload: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closedError());
    if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return Promise.reject(this.topicTooLong(topic));
    if (deadline <= Date.now()) return Promise.reject(this.timeout(nodeId, topic));
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    return new Promise<Uint8Array>((resolve, reject) => {
      const request: PendingRequest = { nodeId, topic, resolve, reject };
      this.pending.set(id, request);
      request.deadline = this.deadlines.at(deadline, () => {
        if (this.pending.get(id) !== request) return;
        this.pending.delete(id);
        reject(this.timeout(nodeId, topic));
      });
      // The frame carries the request's own deadline and is left out of its PUBLISH if the
      // request settled before it is written.
      const caller = { deadline, waiting: () => this.pending.get(id) === request };
      this.outbox.enqueue(this.inbox(nodeId), this.writer.request(id, topic, payload), caller).then(
        (receivers) => {
          if (receivers === 0) {
            this.fail(id, this.notConnected(nodeId, topic));
          }
        },
        (error: unknown) =>
          this.fail(
            id,
            error instanceof Error ? error : new BackendUnavailableError(String(error)),
          ),
      );
    });
  }

  respond(topic: string, responder: Responder): Promise<PortSubscription> {
    if (this.closed) return Promise.reject(this.closedError());
    this.responders.set(topic, responder);
    return Promise.resolve({
      close: () => {
        if (this.responders.get(topic) === responder) this.responders.delete(topic);
        return Promise.resolve();
      },
    });
  }

  /** Fail every pending request and refuse new operations. */
  close(): void {
    this.closed = true;
    const error = this.closedError();
    for (const id of [...this.pending.keys()]) this.fail(id, error);
    this.topics.clear();
    this.responders.clear();
    this.limiter.close();
    clearTimeout(this.rejectTimer);
  }

  /** Requests waiting for a reply (for tests and health). */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /** A message from the inbox (`only` undefined) or from a topic channel for one subscription. */
  private receive(channel: string, message: Buffer, only: TopicHandler | undefined): void {
    const { cluster } = this.flow;
    if (cluster !== undefined) {
      if (message !== this.lastMessage) {
        this.lastMessage = message;
        this.lastOpened = cluster.open(channel, message);
        if (typeof this.lastOpened === 'string') this.reject(channel, this.lastOpened);
      }
      if (typeof this.lastOpened === 'string') return;
      message = this.lastOpened;
    }
    try {
      forEachFrame(message, (frame) => this.handle(frame, only));
    } catch (error) {
      this.logger.warn({ err: error }, 'Dropped a malformed transport frame');
    }
  }

  private handle(frame: Frame, only: TopicHandler | undefined): void {
    const inbox = only === undefined;
    switch (frame.type) {
      case 'message': {
        if (!inbox) {
          if (frame.from !== this.nodeId)
            this.deliver(only, frame.topic, frame.payload, frame.from);
          return;
        }
        const handlers = this.topics.get(frame.topic);
        if (handlers === undefined) return;
        for (const handler of handlers)
          this.deliver(handler, frame.topic, frame.payload, frame.from);
        return;
      }
      case 'request':
        if (inbox) this.answer(frame.from, frame.id, frame.topic, frame.payload);
        return;
      case 'reply':
      case 'error': {
        if (!inbox) return;
        const request = this.pending.get(frame.id);
        if (request === undefined || request.nodeId !== frame.from) return;
        this.pending.delete(frame.id);
        request.deadline?.cancel();
        if (frame.type === 'reply') request.resolve(frame.payload);
        else request.reject(decodeWireError(frame.payload));
        return;
      }
    }
  }

  private deliver(handler: TopicHandler, topic: string, payload: Uint8Array, from: string): void {
    this.limiter.deliver(handler, payload, { from }, topic);
  }

  /**
   * Report the subscriber connection being cut while Redis stays up (past its pub/sub output
   * buffer limit, or killed): messages and replies in flight to this node were lost. An outage
   * closes the command connection too, or leaves it unable to answer a PING: not reported.
   */
  private watchReceiver(): void {
    let commandDrops = 0;
    this.flow.commands.client.on('close', () => void commandDrops++);
    this.hub.onLost(() => {
      if (this.closed || this.flow.commands.client.status !== 'ready') return;
      const before = commandDrops;
      this.flow.commands
        .run(
          'check that Redis is up',
          (client) => client.ping(),
          Date.now() + this.flow.operationTimeout,
        )
        .then(
          () => {
            if (this.closed || commandDrops !== before) return;
            this.cuts++;
            this.fault({
              kind: 'receiver-cut',
              message:
                'Redis closed the subscriber connection while it stayed up (pub/sub output buffer limit reached, or the client was killed): messages and replies in flight to this node were lost. Handlers may be too slow for the inbound rate; see maxInboundHandlers.',
              details: { nodeId: this.nodeId, cuts: this.cuts },
            });
          },
          () => undefined,
        );
    });
  }

  /**
   * Count a message that failed the cluster MAC check (forged, from a node with another
   * secret, or replayed); reported as a `rejected-frame` fault at most once per second.
   */
  private reject(channel: string, reason: RejectReason): void {
    this.rejected++;
    this.unreportedRejects++;
    if (this.rejectTimer !== undefined) return;
    const report = (): void => {
      this.rejectTimer = undefined;
      const count = this.unreportedRejects;
      if (count === 0 || this.closed) return;
      this.unreportedRejects = 0;
      this.lastRejectReport = Date.now();
      this.fault({
        kind: 'rejected-frame',
        message: `Dropped ${count} message(s) that failed the cluster MAC check (e.g. "${reason}" on ${channel}): forged, sent by a node with another clusterSecret, or replayed.`,
        details: { count, total: this.rejected, reason, channel },
      });
    };
    const wait = this.lastRejectReport + REJECT_REPORT_INTERVAL_MS - Date.now();
    if (wait <= 0) report();
    else {
      this.rejectTimer = setTimeout(report, wait);
      this.rejectTimer.unref();
    }
  }

  private fault(fault: TransportFault): void {
    this.logger.debug({ fault }, 'Transport fault');
    this.faults.emit(fault);
  }

  private answer(from: string, id: number, topic: string, payload: Uint8Array): void {
    const responder = this.responders.get(topic);
    const replyTo = this.inbox(from);
    const sendReply = (bytes: Uint8Array, isError: boolean): void => {
      if (this.closed) return;
      this.outbox
        .enqueue(replyTo, this.writer.reply(id, bytes, isError))
        .catch((error: unknown) =>
          this.logger.debug(
            { err: error, to: from, topic },
            'Could not send a reply; the caller will time out',
          ),
        );
    };
    if (responder === undefined) {
      const error = new ServiceUnavailableError(
        `Node "${this.nodeId}" does not answer "${topic}".`,
        { details: { nodeId: this.nodeId, topic } },
      );
      sendReply(encodeWireError(errorToWire(error)), true);
      return;
    }
    let result: Promise<Uint8Array> | Uint8Array;
    try {
      result = responder(payload, { from });
    } catch (error) {
      sendReply(encodeWireError(errorToWire(error)), true);
      return;
    }
    if (result instanceof Uint8Array) {
      sendReply(result, false);
      return;
    }
    result.then(
      (reply) => sendReply(reply, false),
      (error: unknown) => sendReply(encodeWireError(errorToWire(error)), true),
    );
  }

  /** `{ns}:n:<nodeId>`, cached for the few hundred most recent peers. */
  private inbox(nodeId: string): string {
    let channel = this.inboxes.get(nodeId);
    if (channel === undefined) {
      if (this.inboxes.size >= MAX_CACHED_INBOXES) this.inboxes.clear();
      channel = this.keys.inboxChannel(nodeId);
      this.inboxes.set(nodeId, channel);
    }
    return channel;
  }

  private fail(id: number, error: Error): void {
    const request = this.pending.get(id);
    if (request === undefined) return;
    this.pending.delete(id);
    request.deadline?.cancel();
    request.reject(error);
  }

  private removeHandler(topic: string, entry: TopicHandler): void {
    const set = this.topics.get(topic);
    set?.delete(entry);
    if (set?.size === 0) this.topics.delete(topic);
  }

  private guard(topic: string): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return Promise.reject(this.topicTooLong(topic));
    return Promise.resolve();
  }

  private notConnected(nodeId: string, topic: string): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `Node "${nodeId}" is not connected; nobody received the message on "${topic}".`,
      { details: { nodeId, topic } },
    );
  }

  private timeout(nodeId: string, topic: string): TimeoutError {
    return new TimeoutError(`No reply from node "${nodeId}" on "${topic}" by the deadline.`, {
      details: { nodeId, topic },
    });
  }

  private topicTooLong(topic: string): ValidationError {
    return new ValidationError(
      `Topic "${topic.slice(0, 40)}..." is longer than ${MAX_TOPIC_BYTES} bytes.`,
      { details: { field: 'topic' } },
    );
  }

  private closedError(): BackendUnavailableError {
    return new BackendUnavailableError('The Redis backend of this host is closed.');
  }
}

function encodeWireError(wire: WireError): Uint8Array {
  try {
    return wireCodec.encode(wire);
  } catch {
    // Details that cannot be encoded are dropped rather than losing the error itself.
    return wireCodec.encode({ name: wire.name, code: wire.code, message: wire.message });
  }
}

function decodeWireError(bytes: Uint8Array): Error {
  try {
    const wire = wireCodec.decode(bytes) as WireError;
    return wireToError(wire);
  } catch (cause) {
    return new BackendUnavailableError('Received an error reply that cannot be decoded.', {
      cause,
    });
  }
}
