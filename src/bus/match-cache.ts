import { assertName, RESERVED_SEGMENT } from '../util/names.js';
import type { PatternNode, PatternTrie } from './pattern-trie.js';

/** One cached name: the CLOCK ring's slot, reused when the name is evicted. */
interface Slot<E> {
  name: string;
  /** The name's hash (see `scanName`), to look up its frequency when it is the eviction victim. */
  hash: number;
  entry: E;
  /** Set by a hit; the clock hand clears it once before evicting (a second chance). */
  used: boolean;
}

/**
 * The dispatch entry of every concrete event name, computed from a pattern trie and cached.
 *
 * - **Hit**: one map lookup and a flag write.
 * - **Miss**: one pass validates and splits the name, the trie reports the pattern nodes it
 *   matches, and the entry is looked up by that set of nodes: every name matching the same
 *   patterns (`order.<id>.updated` for many ids) shares one entry, built (values sorted, entry
 *   derived) only the first time.
 * - **Admission**: a name is cached on its second miss within a while (and every 16th miss
 *   regardless), not on its first (see `admit`). Inserting into (and evicting from) a map of
 *   thousands of names costs more than the rest of a miss, so a stream of one-off names
 *   (`order.<id>.updated`) mostly skips it and cannot flush hot names out. A table of name
 *   hashes (computed during validation) remembers recent misses.
 * - **Bound**: at most `capacity` names; when full, a CLOCK hand picks a name not hit since
 *   the hand last passed it (a second chance), and the new name replaces it only if it was
 *   missed more often lately (TinyLFU-style), instead of the cache being cleared.
 *
 * `clear()` must be called whenever the trie's contents change: entries are not updated in place.
 */
export class MatchCache<V, E> {
  private readonly names = new Map<string, Slot<E>>();
  private readonly ring: Array<Slot<E>> = [];
  private hand = 0;
  /** Entries by the key of the one node that matched. */
  private readonly byNode = new Map<number, E>();
  /** Entries by the sorted keys of the nodes that matched, when several did. */
  private readonly byNodes = new Map<string, E>();
  private none: E | undefined;
  /** The name `get` last missed; reset by every insert, so it is never a cached name. */
  private lastMiss: string | undefined;
  /** Hashes of recently missed names, by `hash & mask`; -1 where none. */
  private readonly recent: Int32Array;
  private readonly mask: number;
  private misses = 0;
  /** Repeated misses per hash slot (a count-min sketch over slots `a` and `b` of `admit`). */
  private readonly counts: Uint8Array;
  private counted = 0;

  /**
   * `build` turns the matching values, already sorted with `compare`, into an entry; it is
   * called once per distinct set of matched patterns between two `clear()` calls.
   */
  constructor(
    private readonly trie: PatternTrie<V>,
    private readonly compare: (a: V, b: V) => number,
    private readonly build: (values: V[]) => E,
    readonly capacity: number,
  ) {
    if (!(capacity >= 1)) throw new RangeError('MatchCache capacity must be at least 1');
    // A power of two at least twice the capacity (and not tiny) keeps collisions rare.
    const size = 2 ** Math.ceil(Math.log2(Math.max(capacity * 2, 1024)));
    this.recent = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.counts = new Uint8Array(size);
  }

  /** Names currently cached (never more than `capacity`). */
  get size(): number {
    return this.names.size;
  }

  /** The cached entry of `name`, if any (`name` was validated when it was cached). */
  get(name: string): E | undefined {
    const slot = this.names.get(name);
    if (slot === undefined) {
      this.lastMiss = name;
      return undefined;
    }
    slot.used = true;
    return slot.entry;
  }

  /**
   * The entry of `name`, computed and cached on a miss. Throws a `ValidationError` (before
   * caching anything) unless `name` is a concrete dotted name.
   */
  lookup(name: string): E {
    // After `get(name) ?? lookup(name)` (the bus's publish), skip probing the map a second time.
    if (name === this.lastMiss) return this.miss(name);
    return this.get(name) ?? this.miss(name);
  }

  /** Forget every name and entry (the trie changed); which names were seen is kept. */
  clear(): void {
    this.lastMiss = undefined;
    this.names.clear();
    this.ring.length = 0;
    this.hand = 0;
    this.byNode.clear();
    this.byNodes.clear();
    this.none = undefined;
  }

  private miss(name: string): E {
    // Fresh small arrays: cheaper in V8 than truncating reused ones (`length = 0`).
    let segments: string[] = [];
    const nodes: Array<PatternNode<V>> = [];
    let hash = scanName(name, segments);
    if (hash < 0) {
      assertName(name, 'Event name'); // throws the precise error
      // Unreachable while scanName accepts exactly what assertName does; stay correct anyway.
      segments = name.split('.');
      hash = 0;
    }
    this.trie.matchNodes(segments, nodes);
    const entry = this.entryFor(nodes);
    if (this.admit(hash)) this.insert(name, hash, entry);
    return entry;
  }

  /**
   * Whether to cache a missed name: yes when its hash is in `recent` (missed lately), else
   * record it there. Each hash has two candidate slots, so names colliding in one slot (which in
   * a cyclic working set would overwrite each other forever) are both remembered; every 16th
   * miss is admitted regardless, so no pattern of collisions keeps a name out for good.
   */
  private admit(hash: number): boolean {
    const recent = this.recent;
    const a = hash & this.mask;
    const b = (hash >>> 11) & this.mask;
    if (recent[a] === hash) {
      recent[a] = -1;
      this.count(hash);
      return true;
    }
    if (recent[b] === hash) {
      recent[b] = -1;
      this.count(hash);
      return true;
    }
    const misses = ++this.misses;
    if ((misses & 15) === 0) {
      this.count(hash);
      return true;
    }
    if (recent[a] === -1) recent[a] = hash;
    else if (recent[b] === -1 || (misses & 1) === 0) recent[b] = hash;
    else recent[a] = hash;
    return false;
  }

  /** Count one more repeated miss of the name with this hash (4-bit counters, halved often). */
  private count(hash: number): void {
    const counts = this.counts;
    const a = hash & this.mask;
    const b = (hash >>> 11) & this.mask;
    if (counts[a]! < 15) counts[a]!++;
    if (counts[b]! < 15) counts[b]!++;
    if (++this.counted === counts.length) {
      this.counted = 0;
      for (let i = 0; i < counts.length; i++) counts[i]! >>>= 1;
    }
  }

  /** How often the name with this hash was missed again lately (an over-estimate at worst). */
  private frequency(hash: number): number {
    return Math.min(this.counts[hash & this.mask]!, this.counts[(hash >>> 11) & this.mask]!);
  }

  private entryFor(nodes: ReadonlyArray<PatternNode<V>>): E {
    if (nodes.length === 0) return (this.none ??= this.build([]));
    if (nodes.length === 1) {
      const node = nodes[0]!;
      let entry = this.byNode.get(node.key);
      if (entry === undefined) {
        entry = this.build([...node.values].sort(this.compare));
        this.byNode.set(node.key, entry);
      }
      return entry;
    }
    const keys = nodes.map((n) => n.key).sort((a, b) => a - b);
    const key = keys.join(',');
    let entry = this.byNodes.get(key);
    if (entry === undefined) {
      const values: V[] = [];
      for (const node of nodes) for (const value of node.values) values.push(value);
      entry = this.build(values.sort(this.compare));
      // A memo only (names hold their own entries): when it is full, start it over.
      if (this.byNodes.size >= this.capacity) this.byNodes.clear();
      this.byNodes.set(key, entry);
    }
    return entry;
  }

  /**
   * Cache `name`. When full, the CLOCK hand picks a victim (skipping, and clearing, names hit
   * since it last passed), and `name` replaces it only if it was missed more often lately: with
   * a working set larger than the cache, a stable part of it stays cached and hits, instead of
   * every name being evicted just before it comes back.
   */
  private insert(name: string, hash: number, entry: E): void {
    this.lastMiss = undefined;
    const ring = this.ring;
    if (ring.length < this.capacity) {
      const slot: Slot<E> = { name, hash, entry, used: false };
      ring.push(slot);
      this.names.set(name, slot);
      return;
    }
    let hand = this.hand;
    let slot = ring[hand]!;
    while (slot.used) {
      slot.used = false;
      hand = hand + 1 === ring.length ? 0 : hand + 1;
      slot = ring[hand]!;
    }
    this.hand = hand;
    if (this.frequency(hash) <= this.frequency(slot.hash)) return;
    this.hand = hand + 1 === ring.length ? 0 : hand + 1;
    this.names.delete(slot.name);
    slot.name = name;
    slot.hash = hash;
    slot.entry = entry;
    this.names.set(name, slot);
  }
}

const MAX_NAME_LENGTH = 256;
const MAX_SEGMENTS = 64;
const DOT = 46;
/** Character codes allowed in a name segment: letters, digits and `_-:/$@` (see util/names). */
const SEGMENT_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:/$@')
  SEGMENT_CHAR[c.charCodeAt(0)] = 1;

/**
 * Validate `name` as a concrete event name and push its segments onto `out` in the same pass.
 * Returns a 31-bit hash of the name (never negative), or -1 (with `out` in any state) for
 * anything `assertName` rejects, so the caller can let `assertName` throw the detailed error.
 * Accepts exactly the names `assertName` accepts.
 */
export function scanName(name: unknown, out: string[]): number {
  if (typeof name !== 'string') return -1;
  const length = name.length;
  if (length === 0 || length > MAX_NAME_LENGTH) return -1;
  let hash = 0;
  let start = 0;
  for (let i = 0; i < length; i++) {
    const c = name.charCodeAt(i);
    hash = (Math.imul(hash, 31) + c) | 0;
    if (c === DOT) {
      if (i === start || out.length === MAX_SEGMENTS - 1) return -1;
      const segment = name.slice(start, i);
      if (segment === RESERVED_SEGMENT) return -1;
      out.push(segment);
      start = i + 1;
    } else if (c >= 128 || SEGMENT_CHAR[c] === 0) return -1;
  }
  if (start === length) return -1;
  const last = start === 0 ? name : name.slice(start);
  if (last === RESERVED_SEGMENT) return -1;
  out.push(last);
  // Mix, so names differing in a few characters spread over the low bits too.
  hash = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return (hash ^ (hash >>> 16)) & 0x7fffffff;
}
