import calculateSlot from 'cluster-key-slot';
import { CrossSlotError } from '../../errors/errors.js';

/**
 * The Redis Cluster slot of each key (CRC16 of the key, or of its first non-empty `{tag}`), by
 * the same library ioredis's Cluster client routes with, so our check and its routing agree.
 */
export function keySlot(key: string): number {
  return calculateSlot(key);
}

/**
 * Refuse an atomic operation (a script or MULTI) over keys of more than one Cluster slot: a
 * Cluster cannot run it, and splitting it would lose its atomicity.
 * @throws CrossSlotError naming two keys of different slots and how to group them.
 */
export function assertOneSlot(keys: readonly string[], what: string): void {
  if (keys.length < 2) return;
  const first = keySlot(keys[0]!);
  for (let i = 1; i < keys.length; i++) {
    const slot = keySlot(keys[i]!);
    if (slot === first) continue;
    throw new CrossSlotError(
      `Cannot ${what}: keys "${keys[0]}" (slot ${first}) and "${keys[i]}" (slot ${slot}) are in different Redis Cluster slots. Put the part that must change together in a {tag} (e.g. "{user:123}:profile" and "{user:123}:cart").`,
      { details: { keys: [keys[0], keys[i]], slots: [first, slot] } },
    );
  }
}
