import type { QueueStore } from '../backends/ports.js';
import type { Codec } from '../codec/codec.js';
import { assertQueueName } from './message-options.js';
import { tryDecodeEnvelope } from './message-envelope.js';
import { parseWorkQueueName, workQueueName } from './queue-names.js';

/** One work queue of the cluster (`context.messageQueue`) and its message counts. */
export interface WorkQueueInfo {
  readonly name: string;
  readonly waiting: number;
  readonly delayed: number;
  readonly inFlight: number;
  readonly dead: number;
}

/** A dead letter of a work queue, decoded. */
export interface WorkDeadLetter {
  readonly id: string;
  readonly reason: string;
  readonly attempt: number;
  readonly enqueuedAt: number;
  /** Epoch ms when it was dead-lettered. */
  readonly failedAt: number;
  /** undefined when the stored message cannot be decoded. */
  readonly data: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The work queues of the whole cluster, seen from outside any plugin (the dashboard): list them
 * with their counts, read, replay and remove dead letters. Every method rejects on a bad queue
 * name (`ValidationError`) or a backend error.
 */
export interface WorkQueueAdmin {
  list(): Promise<WorkQueueInfo[]>;
  deadLetters(queue: string, limit: number): Promise<WorkDeadLetter[]>;
  /** Move one dead letter back to the ready messages. `false`: no such dead letter. */
  retryDeadLetter(queue: string, id: string): Promise<boolean>;
  /** Drop one dead letter for good. `false`: no such dead letter. */
  removeDeadLetter(queue: string, id: string): Promise<boolean>;
}

/** {@link WorkQueueAdmin} over a backend's queue store. */
export function createWorkQueueAdmin(store: QueueStore, codec: Codec): WorkQueueAdmin {
  const backendName = (queue: string): string => {
    assertQueueName(queue);
    return workQueueName(queue);
  };
  return {
    async list() {
      const names = (await store.queueNames())
        .map(parseWorkQueueName)
        .filter((name): name is string => name !== undefined)
        .sort();
      return Promise.all(
        names.map(async (name): Promise<WorkQueueInfo> => {
          const counts = await store.counts(workQueueName(name));
          return {
            name,
            waiting: counts.ready,
            delayed: counts.delayed,
            inFlight: counts.leased,
            dead: counts.dead,
          };
        }),
      );
    },
    async deadLetters(queue, limit) {
      const dead = await store.deadLetters(backendName(queue), limit);
      return dead.map((letter): WorkDeadLetter => {
        const envelope = tryDecodeEnvelope(codec, letter.payload);
        return {
          id: letter.id,
          reason: letter.reason,
          attempt: letter.attempt,
          enqueuedAt: letter.enqueuedAt,
          failedAt: letter.deadAt,
          data: envelope?.data,
          headers: envelope?.headers ?? {},
        };
      });
    },
    retryDeadLetter: async (queue, id) => store.retryDeadLetter(backendName(queue), id),
    removeDeadLetter: async (queue, id) => store.removeDeadLetter(backendName(queue), id),
  };
}
