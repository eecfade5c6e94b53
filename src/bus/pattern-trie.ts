/**
 * A trie of dotted subscription patterns. `*` matches exactly one segment, `**` zero or more.
 * Matching walks the event's segments through the trie, so its cost depends on the number of
 * segments and on how many patterns share a path with the event, not on how many patterns exist
 * (10,000 patterns under distinct prefixes cost one map lookup at the root).
 */
/** A trie node as `matchNodes` reports it: one pattern and the values subscribed to it. */
export interface PatternNode<T> {
  /** Unique among all tries of the process, never reused (a memo key for this node). */
  readonly key: number;
  readonly values: ReadonlySet<T>;
}

interface TrieNode<T> extends PatternNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  star: TrieNode<T> | undefined;
  globstar: TrieNode<T> | undefined;
  readonly values: Set<T>;
}

let nodeKeys = 0;

function createNode<T>(): TrieNode<T> {
  return {
    key: ++nodeKeys,
    children: new Map(),
    star: undefined,
    globstar: undefined,
    values: new Set(),
  };
}

export class PatternTrie<T> {
  private readonly root = createNode<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const segment of pattern.split('.')) {
      if (segment === '*') node = node.star ??= createNode();
      else if (segment === '**') node = node.globstar ??= createNode();
      else {
        let child = node.children.get(segment);
        if (child === undefined) node.children.set(segment, (child = createNode()));
        node = child;
      }
    }
    if (!node.values.has(value)) {
      node.values.add(value);
      this.count++;
    }
  }

  /** Remove one value; empty branches are pruned so the trie never grows without bound. */
  remove(pattern: string, value: T): boolean {
    const path: Array<{ parent: TrieNode<T>; segment: string; node: TrieNode<T> }> = [];
    let node: TrieNode<T> | undefined = this.root;
    for (const segment of pattern.split('.')) {
      const parent: TrieNode<T> = node;
      node =
        segment === '*'
          ? parent.star
          : segment === '**'
            ? parent.globstar
            : parent.children.get(segment);
      if (node === undefined) return false;
      path.push({ parent, segment, node });
    }
    if (!node.values.delete(value)) return false;
    this.count--;
    for (let i = path.length - 1; i >= 0; i--) {
      const step = path[i]!;
      const n = step.node;
      if (
        n.values.size > 0 ||
        n.children.size > 0 ||
        n.star !== undefined ||
        n.globstar !== undefined
      )
        break;
      if (step.segment === '*') step.parent.star = undefined;
      else if (step.segment === '**') step.parent.globstar = undefined;
      else step.parent.children.delete(step.segment);
    }
    return true;
  }

  /**
   * Every value whose pattern matches the concrete dotted `name` (each value once). Each
   * (trie node, segment index) pair is visited at most once, so even patterns with several `**`
   * cost at most trie nodes × segments, never a combinatorial search.
   */
  match(name: string): Set<T> {
    const out = new Set<T>();
    const nodes: Array<PatternNode<T>> = [];
    this.matchNodes(name.split('.'), nodes);
    for (const node of nodes) for (const value of node.values) out.add(value);
    return out;
  }

  /**
   * Push onto `out` every node holding values whose pattern matches the name split into
   * `segments`, each node once, in the order the walk meets them. Nodes are stable while their
   * pattern has values, so callers can memoize per node (see `PatternNode.key`). Allocates
   * nothing unless the walk goes through a `**` (which needs a memo of visited node/index pairs).
   */
  matchNodes(segments: readonly string[], out: Array<PatternNode<T>>): void {
    this.visit(this.root, segments, 0, out, undefined);
  }

  /**
   * `seen` memoizes (node, index) pairs, needed only below a `**`: a node with no `**` above it
   * has a single path from the root, so it is reached once, at its depth.
   */
  private visit(
    node: TrieNode<T>,
    segments: readonly string[],
    index: number,
    out: Array<PatternNode<T>>,
    seen: Set<number> | undefined,
  ): void {
    if (seen !== undefined) {
      const visit = node.key * 1024 + index;
      if (seen.has(visit)) return;
      seen.add(visit);
    }
    if (node.globstar !== undefined) {
      // `**` consumes zero or more segments: try every suffix.
      const memo = seen ?? new Set<number>();
      for (let i = index; i <= segments.length; i++)
        this.visit(node.globstar, segments, i, out, memo);
    }
    if (index === segments.length) {
      if (node.values.size > 0) out.push(node);
      return;
    }
    const child = node.children.get(segments[index]!);
    if (child !== undefined) this.visit(child, segments, index + 1, out, seen);
    if (node.star !== undefined) this.visit(node.star, segments, index + 1, out, seen);
  }
}
