import type { SubscriptionRecord } from './subscription-record.js';

/** Which subscribers of a match entry one dispatch calls. */
export const enum Deliver {
  /** A local publish: plain subscribers and the chosen group members. */
  All,
  /** A broadcast from another node: plain subscribers only. */
  Plain,
  /** This node's turn for some groups: the chosen group members only. */
  Groups,
}

/** One group's members among the subscribers matching an event name. */
export interface GroupSlot {
  readonly group: string;
  readonly members: SubscriptionRecord[];
}

/** Everything needed to dispatch one event name, computed once and cached. */
export interface MatchEntry {
  /** All matching local subscribers, in priority then subscription order. */
  readonly subs: SubscriptionRecord[];
  /** Group slots, or undefined when no matching subscriber has a group (the fast path). */
  readonly slots: Map<string, GroupSlot> | undefined;
  /** Some subscriber can see the meta, so the timestamp is taken at publish. */
  readonly seesMeta: boolean;
  /** Some subscriber has no group (takes broadcasts from other nodes). */
  readonly hasPlain: boolean;
}
