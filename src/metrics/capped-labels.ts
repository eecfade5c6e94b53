/** Distinct label values one metric keeps at most; past it, new values are counted as `_other`. */
export const DEFAULT_LABEL_CAP = 500;

/** The label value that collects every value past the cap. */
export const OTHER_LABEL = '_other';

/**
 * Per-label-value entries of one metric, bounded: the first `cap` distinct keys get their own
 * entry, every later key shares the `_other` entry. So an application publishing events under
 * an unbounded set of names (ids in names) grows neither this map nor the scrape output.
 */
export class CappedLabels<T> {
  private readonly entries = new Map<string, T>();
  private other: T | undefined;

  constructor(
    private readonly cap: number,
    private readonly make: (key: string | undefined) => T,
  ) {}

  /** The entry of `key` (made on first use), or the shared `_other` entry once full. */
  get(key: string): T {
    const found = this.entries.get(key);
    if (found !== undefined) return found;
    if (this.entries.size >= this.cap) return (this.other ??= this.make(undefined));
    const made = this.make(key);
    this.entries.set(key, made);
    return made;
  }

  /** Distinct keys with an entry of their own (never more than the cap). */
  get size(): number {
    return this.entries.size;
  }

  /** Every entry by key, `_other` last (when some key was folded into it). */
  *[Symbol.iterator](): IterableIterator<[string, T]> {
    yield* this.entries;
    if (this.other !== undefined) yield [OTHER_LABEL, this.other];
  }
}

/** `service\0method` (or undefined: `_other`) as label values. */
export function splitCall(key: string | undefined): [string, string] {
  if (key === undefined || key === OTHER_LABEL) return [OTHER_LABEL, OTHER_LABEL];
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), key.slice(at + 1)];
}
