import {
  BackendUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../errors/errors.js';
import { errorToWire, wireToError } from '../../errors/wire.js';
import type { MemoryNetwork, MemoryNodeState } from './memory-network.js';
import type { PortSubscription, Responder, TopicHandler, Transport } from '../ports.js';

/** The transport port over a {@link MemoryNetwork}. Messages are copied and delivered asynchronously. */
export class MemoryTransport implements Transport {
  private closed = false;

  constructor(
    readonly nodeId: string,
    private readonly network: MemoryNetwork,
    private readonly state: MemoryNodeState,
  ) {}

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
    // Wrap so the same function subscribed twice is two subscriptions.
    const entry: TopicHandler = (payload, info) => handler(payload, info);
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
      const timer = setTimeout(
        () =>
          reject(
            new TimeoutError(`No reply from node "${nodeId}" on "${topic}" by the deadline.`, {
              details: { nodeId, topic },
            }),
          ),
        Math.max(0, deadline - Date.now()),
      );
      // A node that crashed while working never answers: the caller times out (the timer stays).
      const stillThere = (): boolean => this.network.nodes.get(nodeId) === node;
      queueMicrotask(() => {
        Promise.resolve()
          .then(() => responder(copy, { from: this.nodeId }))
          .then(
            (reply) => {
              if (!stillThere()) return;
              clearTimeout(timer);
              resolve(reply.slice());
            },
            (error: unknown) => {
              if (!stillThere()) return;
              clearTimeout(timer);
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

  close(): void {
    this.closed = true;
  }

  private deliver(node: MemoryNodeState, topic: string, payload: Uint8Array): void {
    const handlers = node.topics.get(topic);
    if (handlers === undefined || handlers.size === 0) return;
    const from = this.nodeId;
    for (const handler of handlers) {
      const copy = payload.slice();
      queueMicrotask(() => handler(copy, { from }));
    }
  }
}

/** A closed port rejects (never throws), like the Redis backend. */
function rejectClosed(): Promise<never> {
  return Promise.reject(new BackendUnavailableError('The memory backend of this host is closed.'));
}
