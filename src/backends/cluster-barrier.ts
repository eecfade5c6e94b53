import { hasErrorCode } from '../errors/errors.js';
import type { Backend, PortSubscription } from './ports.js';

/** The topic every node answers at once: a reply proves it has handled all that came before. */
const BARRIER_TOPIC = 'pb.sync';
const EMPTY = new Uint8Array(0);

/** Answer barrier requests on this node (the runtime does this once at start). */
export function answerBarriers(backend: Backend): Promise<PortSubscription> {
  return backend.transport.respond(BARRIER_TOPIC, () => EMPTY);
}

/**
 * Resolve once every other live node has handled everything this node caused in the backend
 * before the call (registry puts, bindings): a round trip to each node, which a backend delivers
 * after the change notifications published before it (pub/sub order on one connection; queued
 * microtasks in memory). A node that leaves meanwhile no longer counts. This is what makes a
 * `ready` promise mean "in effect across the cluster" rather than "stored".
 * @throws TimeoutError when some live node did not answer by `deadline`.
 */
export async function clusterBarrier(backend: Backend, deadline: number): Promise<void> {
  if (!backend.clustered) return;
  const nodes = await backend.registry.liveNodes();
  await Promise.all(
    nodes
      .filter((node) => node !== backend.nodeId)
      .map((node) =>
        backend.transport.request(node, BARRIER_TOPIC, EMPTY, deadline).then(
          () => undefined,
          (error: unknown) => {
            if (!hasErrorCode(error, 'PB_SERVICE_UNAVAILABLE')) throw error;
          },
        ),
      ),
  );
}
