import type { PortSubscription, RegistryChange, RegistryStore } from './ports.js';

/**
 * Watch a registry kind and learn its current state, without the race between the two: changes
 * that arrive while the snapshot is being listed are buffered and replayed on top of it, in order.
 * Without this, a delete that lands while `list()` is in flight is lost and the snapshot brings
 * the entry back forever. `apply` sees the snapshot as `put`s and must treat a repeated `put` of
 * an entry as a replacement.
 */
export async function watchKind(
  registry: RegistryStore,
  kind: string,
  apply: (change: RegistryChange) => void,
): Promise<PortSubscription> {
  let buffer: RegistryChange[] | undefined = [];
  const subscription = await registry.watch(kind, (change) => {
    if (buffer !== undefined) buffer.push(change);
    else apply(change);
  });
  try {
    for (const record of await registry.list(kind)) apply({ type: 'put', record });
    for (const change of buffer) apply(change);
  } catch (error) {
    await subscription.close();
    throw error;
  } finally {
    buffer = undefined;
  }
  return subscription;
}
