/** An event as it crosses the wire or waits in a durable queue. */
export interface EventFrame {
  /** event name */
  e: string;
  /** data */
  d: unknown;
  /** event id */
  i: string;
  /** source plugin */
  s: string;
  /** source node */
  n: string;
  /** timestamp, epoch ms */
  t: number;
  /** trace id */
  tr: string;
  /** groups whose turn this direct message is (group frames only) */
  g?: string[];
}
