import {
  BackendUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../errors/errors.js';
import { errorToWire, wireToError } from '../../errors/wire.js';
import {
  DEFAULT_MAX_INBOUND_HANDLERS,
  FaultListeners,
  InboundLimiter,
} from '../inbound-limiter.js';
import { sharedDeadlines, type Deadlines } from '../../util/deadlines.js';
import type { MemoryNetwork, MemoryNodeState } from './memory-network.js';
import type {
  PortSubscription,
  Responder,
  TopicHandler,
  Transport,
  TransportFault,
  TransportStats,
} from '../ports.js';
import { rejectClosed } from './closed.js';

export interface MemoryTransportOptions {
  /** Bound of concurrently running inbound message handlers of this node. Default 1000. */
  maxInboundHandlers?: number;
  /** Scheduler of request deadlines. Default: the process-wide `sharedDeadlines`. */
  deadlines?: Deadlines;
}

/**
 * The transport port over a {@link MemoryNetwork}. Messages are copied and delivered
 * asynchronously; inbound message handlers of this node are bounded like on every backend
 * ({@link InboundLimiter}), requests are not.
 */
export class MemoryTransport implements Transport {
  private closed = false;
  private readonly faults = new FaultListeners();
  private readonly limiter: InboundLimiter;
  private readonly deadlines: Deadlines;
  /** Requests waiting for a reply: closing fails them at once, as a dropped connection would. */
  private readonly pending = new Set<(error: Error) => void>();

  constructor(
    readonly nodeId: string,
    private readonly network: MemoryNetwork,
    private readonly state: MemoryNodeState,
    options: MemoryTransportOptions = {},
  ) {
    this.deadlines = options.deadlines ?? sharedDeadlines;
    this.limiter = new InboundLimiter(
      options.maxInboundHandlers ?? DEFAULT_MAX_INBOUND_HANDLERS,
      // As before the bound existed: a throwing handler surfaces as an uncaught error.
      (error) =>
        queueMicrotask(() => {
          throw error;
        }),
      (fault) => this.faults.emit(fault),
    );
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.closed) return rejectClosed();
    for (const [nodeId, node] of this.network.nodes) {
      if (nodeId !== this.nodeId) this.deliver(node, topic, payload);
    }
    return Promise.resolve();
  }

  send(nodeId: string, topic: string, payload: Uint8Array): Promise<void> {
    if (this.closed) return rejectClosed();
    const node = this.network.nodes.get(nodeId);
    if (node === undefined) {
      return Promise.reject(
        new ServiceUnavailableError(
          `Node "${nodeId}" is not connected; nobody received the message on "${topic}".`,
          { details: { nodeId, topic } },
        ),
      );
    }
    this.deliver(node, topic, payload);
    return Promise.resolve();
  }

  subscribe(topic: string, handler: TopicHandler): Promise<PortSubscription> {
    if (this.closed) return rejectClosed();
    let set = this.state.topics.get(topic);
    if (set === undefined) this.state.topics.set(topic, (set = new Set()));
    // Wrapped so the same function subscribed twice is two subscriptions; other nodes call the
    // wrapper, so this node's bound applies to what it receives.
    const entry: TopicHandler = (payload, info) => {
      this.limiter.deliver(handler, payload, info, topic);
    };
    set.add(entry);
    return Promise.resolve({
      close: () => {
        set.delete(entry);
        return Promise.resolve();
      },
    });
  }

  request(
    nodeId: string,
    topic: string,
    payload: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array> {
    if (this.closed) return rejectClosed();
    const node = this.network.nodes.get(nodeId);
    const responder = node?.responders.get(topic);
    if (responder === undefined) {
      return Promise.reject(
        new ServiceUnavailableError(`Node "${nodeId}" is not answering "${topic}".`, {
          details: { nodeId, topic },
        }),
      );
    }
    const copy = payload.slice();
    return new Promise<Uint8Array>((resolve, reject) => {
      const settle = (): boolean => this.pending.delete(fail) && timer.cancel();
      const fail = (error: Error): void => {
        if (settle()) reject(error);
      };
      // The request's own epoch deadline, in the shared scheduler (no timer per request).
      const timer = this.deadlines.at(deadline, () => {
        this.pending.delete(fail);
        reject(
          new TimeoutError(`No reply from node "${nodeId}" on "${topic}" by the deadline.`, {
            details: { nodeId, topic },
          }),
        );
      });
      this.pending.add(fail);
      // A node that crashed while working never answers: the caller times out (the deadline stays).
      const stillThere = (): boolean => this.network.nodes.get(nodeId) === node;
      queueMicrotask(() => {
        Promise.resolve()
          .then(() => responder(copy, { from: this.nodeId }))
          .then(
            (reply) => {
              if (!stillThere() || !settle()) return;
              resolve(reply.slice());
            },
            (error: unknown) => {
              if (!stillThere() || !settle()) return;
              reject(wireToError(errorToWire(error)));
            },
          );
      });
    });
  }

  respond(topic: string, responder: Responder): Promise<PortSubscription> {
    if (this.closed) return rejectClosed();
    this.state.responders.set(topic, responder);
    return Promise.resolve({
      close: () => {
        if (this.state.responders.get(topic) === responder) this.state.responders.delete(topic);
        return Promise.resolve();
      },
    });
  }

  setMaxPayloadBytes(): void {
    // Any size fits in memory.
  }

  stats(): TransportStats {
    return {
      runningHandlers: this.limiter.active,
      shedMessages: this.limiter.dropped,
      rejectedFrames: 0,
      receiverCuts: 0,
      pendingBytes: 0,
    };
  }

  onFault(listener: (fault: TransportFault) => void): () => void {
    return this.faults.add(listener);
  }

  close(): void {
    this.closed = true;
    const error = new BackendUnavailableError(
      'The memory backend of this host closed before the reply came.',
    );
    for (const fail of [...this.pending]) fail(error);
    this.limiter.close();
  }

  private deliver(node: MemoryNodeState, topic: string, payload: Uint8Array): void {
    const handlers = node.topics.get(topic);
    if (handlers === undefined || handlers.size === 0) return;
    const from = this.nodeId;
    for (const handler of handlers) {
      const copy = payload.slice();
      queueMicrotask(() => void handler(copy, { from }));
    }
  }
}
