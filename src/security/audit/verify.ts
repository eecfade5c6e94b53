import type { AuditRecord, AuditStore } from '../../backends/ports.js';
import { anchorSigned, chainHash, decodeAnchor } from './chain.js';
import type { AuditFailure, AuditVerification } from './types.js';

/** Records read per round trip while walking the chain. */
export const PAGE = 500;

/** The records of `store` from `from` to `to` in stored order, page by page, with one lookahead. */
class Walk {
  private page: AuditRecord[] = [];
  private index = 0;
  private next: number;

  constructor(
    private readonly store: AuditStore,
    from: number,
    private readonly to: number,
  ) {
    this.next = from;
  }

  async peek(offset = 0): Promise<AuditRecord | undefined> {
    while (this.index + offset >= this.page.length && this.next <= this.to) {
      const count = Math.min(PAGE, this.to - this.next + 1);
      const read = await this.store.read(this.next, count);
      this.next += count;
      this.page = [...this.page.slice(this.index), ...read];
      this.index = 0;
    }
    return this.page[this.index + offset];
  }

  async take(): Promise<AuditRecord | undefined> {
    const record = await this.peek();
    if (record !== undefined) this.index++;
    return record;
  }
}

/** The seq written inside a record's entry (undefined: not an entry). */
function embeddedSeq(record: AuditRecord): number | undefined {
  try {
    const seq = (JSON.parse(Buffer.from(record.entry).toString('utf8')) as { seq?: unknown }).seq;
    return Number.isSafeInteger(seq) ? (seq as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Walk the whole chain of `store` and check it: each record's hash over the previous hash and
 * its bytes, its place (the seq inside it), no gaps, nothing past the head, and the checkpoint
 * (and a trimmed start's anchor) against `key`. `seen`: the highest seq this host itself
 * appended, so a rollback below it is caught even where the checkpoint was rolled back too.
 */
export async function verifyChain(
  store: AuditStore,
  key: Buffer | undefined,
  seen: number,
): Promise<AuditVerification> {
  const head = await store.head();
  const anchored = key !== undefined;
  let checked = 0;
  const fail = (seq: number, reason: AuditFailure, message: string): AuditVerification => ({
    ok: false,
    checked,
    head: head.seq,
    anchored,
    firstBad: { seq, reason, message },
  });

  const { start } = head;
  if (start.seq > 0) {
    const anchor = decodeAnchor(start.anchor);
    if (
      anchor === undefined ||
      anchor.seq !== start.seq ||
      anchor.hash !== start.hash ||
      (key !== undefined && !anchorSigned('start', anchor, key))
    )
      return fail(
        start.seq + 1,
        'bad-checkpoint',
        `The chain starts after entry ${start.seq} (older entries were trimmed) but that start's signed anchor does not match.`,
      );
  }

  let prev = start.hash;
  /** The hash before `prev`: an entry chaining from it means the one in between was put in. */
  let before: string | undefined;
  let expected = start.seq + 1;
  const walk = new Walk(store, expected, head.seq);
  for (let record = await walk.take(); record !== undefined; record = await walk.take()) {
    if (record.seq < expected)
      return fail(record.seq, 'inserted', `A second entry ${record.seq} was put into the log.`);
    if (record.seq > expected)
      return fail(
        expected,
        'missing',
        `Entries ${expected}..${record.seq - 1} are missing (the log jumps from ${expected - 1} to ${record.seq}).`,
      );
    const inside = embeddedSeq(record);
    const hashOk = chainHash(prev, record.entry) === record.hash;
    if (inside === expected && hashOk) {
      before = prev;
      prev = record.hash;
      expected++;
      checked++;
      continue;
    }
    if (
      inside === expected - 1 &&
      before !== undefined &&
      chainHash(before, record.entry) === record.hash
    )
      return fail(
        expected - 1,
        'inserted',
        `Entry ${expected - 1} does not belong to the chain: the next entry chains from the one before it.`,
      );
    const next = await walk.peek();
    if (inside !== undefined && inside !== expected) {
      if (next !== undefined && embeddedSeq(next) === expected)
        return fail(
          expected,
          'out-of-order',
          `Entry ${inside} sits at place ${expected} (entries were swapped).`,
        );
      if (inside > expected && chainHash(prev, record.entry) !== record.hash)
        return fail(
          expected,
          'missing',
          `Entry ${expected} is missing: entry ${inside} was moved into its place.`,
        );
      return fail(expected, 'out-of-order', `Entry ${inside} sits at place ${expected}.`);
    }
    if (next !== undefined && chainHash(prev, next.entry) === next.hash)
      return fail(
        expected,
        'inserted',
        `Entry ${expected} does not belong to the chain: the chain goes on after it as if it were not there.`,
      );
    return fail(
      expected,
      'edited',
      inside === undefined
        ? `Entry ${expected} is not a readable entry (damaged or edited).`
        : `Entry ${expected} was changed: its content no longer matches its hash.`,
    );
  }
  const last = expected - 1;
  if (last < head.seq)
    return fail(
      expected,
      'truncated',
      `The log ends at entry ${last}, but its head says ${head.seq}.`,
    );
  // A record past the head is one appended since the head was read (an append moves both at
  // once), unless the head, read again after it, still ends before it.
  const beyond = await store.read(head.seq + 1, 1);
  if (beyond.length > 0 && (await store.head()).seq < head.seq + 1)
    return fail(
      head.seq + 1,
      'inserted',
      `Entry ${head.seq + 1} lies past the chain's head (${head.seq}).`,
    );
  if (last < seen)
    return fail(
      last + 1,
      'truncated',
      `The log ends at entry ${last}, but this host wrote up to ${seen}.`,
    );
  if (head.hash !== prev)
    return fail(last, 'edited', `The head's hash does not match entry ${last}.`);
  if (last === 0 && head.checkpoint === undefined)
    return { ok: true, checked, head: head.seq, anchored };

  const checkpoint = decodeAnchor(head.checkpoint);
  if (checkpoint === undefined)
    return fail(
      last,
      'bad-checkpoint',
      'The log has entries but no checkpoint (it was removed or damaged).',
    );
  if (key !== undefined && !anchorSigned('checkpoint', checkpoint, key))
    return fail(
      Math.min(last, checkpoint.seq),
      'bad-checkpoint',
      'The checkpoint signature does not match: the log was rewritten, or the hosts use another checkpointKey.',
    );
  if (checkpoint.seq > last)
    return fail(
      last + 1,
      'truncated',
      `The checkpoint covers entries up to ${checkpoint.seq}, but the log ends at ${last}: entries were cut off its end.`,
    );
  if (checkpoint.seq < last)
    return fail(
      checkpoint.seq + 1,
      'inserted',
      `Entries after ${checkpoint.seq} were added outside the chain (the checkpoint ends at ${checkpoint.seq}).`,
    );
  if (checkpoint.hash !== prev)
    return fail(
      last,
      'bad-checkpoint',
      `The checkpoint's hash does not match entry ${last}: the log was rewritten.`,
    );
  return { ok: true, checked, head: head.seq, anchored };
}
