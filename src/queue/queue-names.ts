/**
 * Names of the durable queues behind event subscriptions, built here and nowhere else.
 *
 * A group's members with one pattern share a queue; the name carries the group's length, so no
 * two (group, pattern) pairs share a queue (`a.b` + `c` and `a` + `b.c` differ).
 */
const PREFIX = 'ev:';

/** The durable queue fed by `pattern` for the members of `group`. */
export function durableQueueName(group: string, pattern: string): string {
  return `${PREFIX}${Buffer.byteLength(group)}:${group}:${pattern}`;
}

/** The group and pattern of a durable event queue; undefined for any other queue name. */
export function parseDurableQueueName(
  queue: string,
): { group: string; pattern: string } | undefined {
  if (!queue.startsWith(PREFIX)) return undefined;
  const colon = queue.indexOf(':', PREFIX.length);
  const length = Number(queue.slice(PREFIX.length, colon));
  if (colon < 0 || !Number.isInteger(length) || length < 1) return undefined;
  const rest = Buffer.from(queue.slice(colon + 1));
  if (rest.length < length + 2 || rest[length] !== 0x3a) return undefined;
  return {
    group: rest.toString('utf8', 0, length),
    pattern: rest.toString('utf8', length + 1),
  };
}

/** Work queues of `context.messageQueue` live apart from durable event queues. */
const WORK_PREFIX = 'mq:';

/** The backend queue behind the work queue `name`. */
export function workQueueName(name: string): string {
  return `${WORK_PREFIX}${name}`;
}

/** The work queue behind backend queue `queue`; undefined for a durable event queue. */
export function workQueueOf(queue: string): string | undefined {
  return queue.startsWith(WORK_PREFIX) ? queue.slice(WORK_PREFIX.length) : undefined;
}
