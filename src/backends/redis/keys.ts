/**
 * Every Redis key and channel name of the Redis backend, built here and nowhere else.
 *
 * All names start with the hash tag `{<namespace>}` so that, on Redis Cluster, all keys of a
 * namespace live in one slot and any script may take any of them. Scripts never build key
 * names: each declares every key it touches in KEYS.
 *
 * | name                         | type    | holds                                                    |
 * | ---------------------------- | ------- | -------------------------------------------------------- |
 * | `{ns}:nodes`                 | ZSET    | node id → liveness deadline (Redis TIME, epoch ms)      |
 * | `{ns}:reg:<kind>`            | HASH    | entry id → entry (`[u8 nodeLen][nodeId][value bytes]`)  |
 * | `{ns}:own:<nodeId>`          | SET     | `<len(kind)>:<kind><id>` of every entry the node owns    |
 * | `{ns}:log:<kind>`            | STREAM  | change log of one kind: ids `<epoch>-<n>`, `f` = frame  |
 * | `{ns}:rc:<kind>` (channel)   | pub/sub | registry change frames of one kind (hints, see watches)  |
 * | `{ns}:t:<topic>` (channel)   | pub/sub | broadcast transport frames of one topic                  |
 * | `{ns}:n:<nodeId>` (channel)  | pub/sub | the node's inbox: direct messages, requests, replies     |
 * | `{ns}:q:<queue>:seq`         | STRING  | message id counter                                       |
 * | `{ns}:q:<queue>:data`        | HASH    | message id → payload                                     |
 * | `{ns}:q:<queue>:meta`        | HASH    | id → `<attempt>:<enqueuedAt ms>[:<lease token>]`         |
 * | `{ns}:q:<queue>:ready`       | LIST    | ids never claimed, oldest first                          |
 * | `{ns}:q:<queue>:leased`      | ZSET    | id → lease end (epoch ms)                                |
 * | `{ns}:q:<queue>:delayed`     | ZSET    | id → when a released message is claimable again          |
 * | `{ns}:q:<queue>:dead`        | ZSET    | id → when it was dead-lettered                           |
 * | `{ns}:q:<queue>:why`         | HASH    | id → dead-letter reason                                  |
 * | `{ns}:bindings`              | SET     | `<len(queue)>:<queue><pattern>` event pattern bindings   |
 * | `{ns}:qn:<queue>` (channel)  | pub/sub | "something to claim" wake-ups of one queue               |
 * | `{ns}:bc` (channel)          | pub/sub | binding changes: `+` or `-` then the bindings member     |
 *
 * A queue's key names end in a fixed suffix without `:`, so no two queues share a key whatever
 * their names.
 *
 * Keys live in one logical database (`redis://host/<db>`), but pub/sub channels are
 * server-wide: channel names of a database other than 0 therefore carry it after the hash tag,
 * `{ns}:db<N>:rc:<kind>`, `{ns}:db<N>:t:<topic>` and so on, so two clusters sharing a server
 * and a namespace in different databases never hear each other (database 0 keeps the plain
 * names; `db<N>:` never starts a name of database 0).
 */
export interface RedisKeys {
  /** The prefix every name starts with: `{namespace}:`. */
  readonly prefix: string;
  /** Sorted set of live nodes scored by liveness deadline. */
  readonly nodes: string;
  /** Hash of the registry entries of one kind. */
  entries(kind: string): string;
  /** Set of the entries owned by one node. */
  owned(nodeId: string): string;
  /** Stream logging the changes of one kind (what watchers apply). */
  changeLog(kind: string): string;
  /** Prefix of every {@link entries} key. */
  readonly entriesPrefix: string;
  /** Prefix of every {@link owned} key. */
  readonly ownedPrefix: string;
  /** Prefix of every {@link changeChannel} name. */
  readonly changePrefix: string;
  /** Channel carrying registry changes of one kind. */
  changeChannel(kind: string): string;
  /** Channel carrying broadcasts of one topic. */
  topicChannel(topic: string): string;
  /** Inbox channel of one node. */
  inboxChannel(nodeId: string): string;
  /** The keys of one durable queue. */
  queue(name: string): QueueKeys;
  /** Set of event-pattern → queue bindings. */
  readonly bindings: string;
  /** Channel carrying binding changes (published by the bind/unbind scripts). */
  readonly bindingsChannel: string;
  /** Prefix of every queue key (`{ns}:q:`). */
  readonly queuePrefix: string;
}

/** Keys and wake-up channel of one durable queue (see the table in {@link RedisKeys}). */
export interface QueueKeys {
  readonly seq: string;
  readonly data: string;
  readonly meta: string;
  readonly ready: string;
  readonly leased: string;
  readonly delayed: string;
  readonly dead: string;
  readonly why: string;
  readonly notify: string;
}

/** Member of an owned set naming one entry: the kind's length keeps any kind/id pair unambiguous. */
export function ownedMember(kind: string, id: string): string {
  return `${Buffer.byteLength(kind)}:${kind}${id}`;
}

/** Build the names of one namespace in logical database `db` (see the note on channels above). */
export function createKeys(namespace: string, db = 0): RedisKeys {
  const prefix = `{${namespace}}:`;
  const channels = db === 0 ? prefix : `${prefix}db${db}:`;
  const entriesPrefix = `${prefix}reg:`;
  const ownedPrefix = `${prefix}own:`;
  const changePrefix = `${channels}rc:`;
  const topicPrefix = `${channels}t:`;
  const inboxPrefix = `${channels}n:`;
  const queuePrefix = `${prefix}q:`;
  const notifyPrefix = `${channels}qn:`;
  return {
    prefix,
    nodes: `${prefix}nodes`,
    entriesPrefix,
    ownedPrefix,
    changePrefix,
    entries: (kind) => entriesPrefix + kind,
    owned: (nodeId) => ownedPrefix + nodeId,
    changeLog: (kind) => `${prefix}log:${kind}`,
    changeChannel: (kind) => changePrefix + kind,
    topicChannel: (topic) => topicPrefix + topic,
    inboxChannel: (nodeId) => inboxPrefix + nodeId,
    bindings: `${prefix}bindings`,
    bindingsChannel: `${prefix}bc`,
    queuePrefix,
    queue: (name) => {
      const base = `${queuePrefix}${name}:`;
      return {
        seq: `${base}seq`,
        data: `${base}data`,
        meta: `${base}meta`,
        ready: `${base}ready`,
        leased: `${base}leased`,
        delayed: `${base}delayed`,
        dead: `${base}dead`,
        why: `${base}why`,
        notify: notifyPrefix + name,
      };
    },
  };
}
