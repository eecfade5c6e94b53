import type { Redis } from 'ioredis';

/** The sockets corked by {@link corkForTick} and not uncorked yet. */
const corked = new WeakSet<object>();

/**
 * Let the commands written to `client` during the current tick leave in one socket write:
 * the first call of a tick corks the client's socket, and a `process.nextTick` uncorks it,
 * which runs once the current callback and its promise reactions are done, before any I/O. So
 * an ack and the claim it leads to, or the 1,000 sends of a burst, reach Redis together (one
 * `writev`, usually one read event on the server) instead of one write each; nothing is held
 * past the tick, and order is the socket's own (corking only buffers).
 *
 * Only a socket that is ready and writable is corked, and the one that was corked is the one
 * uncorked: a reconnect during the tick leaves the new socket alone (ioredis refuses commands
 * until it is ready) and uncorking a socket that closed meanwhile is harmless.
 */
export function corkForTick(client: Redis): void {
  const stream = client.stream as Redis['stream'] | undefined;
  if (stream === undefined || corked.has(stream)) return;
  if (client.status !== 'ready' || !stream.writable || stream.destroyed) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(uncork, stream);
}

function uncork(stream: Redis['stream']): void {
  corked.delete(stream);
  stream.uncork();
}
