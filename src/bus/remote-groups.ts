import { PatternTrie } from './pattern-trie.js';

/** A group subscription that lives on another node, as announced in the registry. */
export interface RemoteGroupMember {
  readonly recordId: string;
  readonly nodeId: string;
  readonly group: string;
  readonly pattern: string;
}

/**
 * Which other nodes have members of which groups for which patterns, kept from the registry's
 * `bus.group` entries. `nodesFor(event)` answers "for each group interested in this event,
 * which other nodes can take it", cached per event name until the table changes.
 */
export class RemoteGroupTable {
  private readonly trie = new PatternTrie<RemoteGroupMember>();
  private readonly byId = new Map<string, RemoteGroupMember>();
  private readonly cache = new Map<string, ReadonlyMap<string, readonly string[]>>();

  get size(): number {
    return this.byId.size;
  }

  put(member: RemoteGroupMember): void {
    this.remove(member.recordId);
    this.byId.set(member.recordId, member);
    this.trie.add(member.pattern, member);
    this.cache.clear();
  }

  remove(recordId: string): void {
    const existing = this.byId.get(recordId);
    if (existing === undefined) return;
    this.byId.delete(recordId);
    this.trie.remove(existing.pattern, existing);
    this.cache.clear();
  }

  nodesFor(event: string): ReadonlyMap<string, readonly string[]> {
    let result = this.cache.get(event);
    if (result !== undefined) return result;
    const byGroup = new Map<string, string[]>();
    for (const member of this.trie.match(event)) {
      const nodes = byGroup.get(member.group);
      if (nodes === undefined) byGroup.set(member.group, [member.nodeId]);
      else if (!nodes.includes(member.nodeId)) nodes.push(member.nodeId);
    }
    for (const nodes of byGroup.values()) nodes.sort();
    result = byGroup;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(event, result);
    return result;
  }
}
