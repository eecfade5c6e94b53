/**
 * Every Redis key and channel name of the Redis backend, built here and nowhere else.
 *
 * Namespace-wide names start with the hash tag `{<ns>}`; the names of one queue start with a
 * hash tag of their own, `{<ns>:q:<queue>}`, so that on Redis Cluster a namespace's queues
 * spread over the slots while every key of one queue shares a slot (like BullMQ's `{queue}`).
 * No script touches two slots: a script takes either namespace-wide keys or the keys of one
 * queue. Scripts never build key names: each declares every key it touches in KEYS.
 *
 * | name                          | type    | holds                                                   |
 * | ----------------------------- | ------- | ------------------------------------------------------- |
 * | `{ns}:nodes`                  | ZSET    | node id → liveness deadline (Redis TIME, epoch ms)     |
 * | `{ns}:reg:<kind>`             | HASH    | entry id → entry (`[u8 nodeLen][nodeId][value bytes]`) |
 * | `{ns}:own:<nodeId>`           | SET     | `<len(kind)>:<kind><id>` of every entry the node owns   |
 * | `{ns}:log:<kind>`             | STREAM  | change log of one kind: ids `<epoch>-<n>`, `f` = frame |
 * | `{ns}:rc:<kind>` (channel)    | pub/sub | registry change frames of one kind (hints, see watches) |
 * | `{ns}:t:<topic>` (channel)    | pub/sub | broadcast transport frames of one topic                 |
 * | `{ns}:n:<nodeId>` (channel)   | pub/sub | the node's inbox: direct messages, requests, replies    |
 * | `{ns}:bindings`               | SET     | `<len(queue)>:<queue><pattern>` event pattern bindings  |
 * | `{ns}:bc` (channel)           | pub/sub | binding changes: `+` or `-` then the bindings member    |
 * | `{ns}:keyuse`                 | HASH    | `<version>:<key id>` → encryptions under that key version |
 * | `{ns:q:<queue>}:seq`          | STRING  | message id counter                                      |
 * | `{ns:q:<queue>}:data`         | HASH    | message id → payload                                    |
 * | `{ns:q:<queue>}:meta`         | HASH    | id → `<attempt>:<enqueuedAt>:<maxAttempts>:<priority>[:<lease token>]` |
 * | `{ns:q:<queue>}:ready`        | LIST    | ready ids of priority 0, oldest first                   |
 * | `{ns:q:<queue>}:prio`         | ZSET    | ready ids of other priorities → -priority·2³² + seq mod 2³² |
 * | `{ns:q:<queue>}:leased`       | ZSET    | id → lease end (epoch ms)                               |
 * | `{ns:q:<queue>}:delayed`      | ZSET    | id → when it becomes ready (delayed, released, retried) |
 * | `{ns:q:<queue>}:dead`         | ZSET    | id → when it was dead-lettered                          |
 * | `{ns:q:<queue>}:why`          | HASH    | id → dead-letter reason                                 |
 * | `{ns:q:<queue>}:rate`         | HASH    | activity ring: per-second counters of the last minute   |
 * | `{ns:q:<queue>}:rl`           | STRING  | claims in the current rate-limit window (PX = its end)  |
 * | `{ns:q:<queue>}:wake`         | STRING  | set (PX) while a claimer waits: enqueues then publish   |
 * | `{ns:q:<queue>}:epoch`        | STRING  | when the queue's dedup memory began (Redis TIME, µs)    |
 * | `{ns:q:<queue>}:dd:<key>`     | STRING  | `<epoch>:<id>` of the first message with a dedup key (PX) |
 * | `{ns:q:<queue>}:qn` (channel) | pub/sub | "something to claim" wake-ups of one queue              |
 * | `{ns:f:<coll>}:log`           | STREAM  | change feed: ids `0-<seq>`, fields `t` (ms), `d` (data)  |
 * | `{ns:f:<coll>}:meta`          | HASH    | `s` last seq, `t` last timestamp, `a` next age trim due  |
 * | `{ns:f:<coll>}:cur`           | HASH    | durable watcher name → last handled seq                  |
 * | `{ns:f:<coll>}:fn` (channel)  | pub/sub | each appended change: `<seq>:<timestamp>:<data>`         |
 * | `ns:c:<key>`                  | STRING  | a shared cache entry: 16-byte version, then the value   |
 * | `ns:cl:<key>`                 | STRING  | owner of the right to load a missing cache key (PX)     |
 *
 * Cache names carry no namespace hash tag: each hashes on its whole name, so a namespace's
 * cache spreads over a Cluster's slots, and a user's own `{tag}` in a key (the first `{...}` of
 * the name: the namespace holds no braces) puts keys that change together in one slot.
 * | `{ns:l:<res>}:o`              | STRING  | owner id of the lock's holder (PX = the lock's TTL)     |
 * | `{ns:l:<res>}:f`              | STRING  | last fencing token issued (PX = TTL + one day)          |
 * | `{ns:l:<res>}:q`              | ZSET    | waiting owner → arrival (Redis TIME, µs): the FIFO line |
 * | `{ns:l:<res>}:d`              | ZSET    | waiting owner → when its place lapses (epoch ms)        |
 * | `{ns:l:<res>}:ln` (channel)   | pub/sub | "the lock may be free": the owner id first in line      |
 * | `{ns:tx:<p>}:r:<id>`          | HASH    | one transaction's log record (see redis-tx-log-store.ts) |
 * | `{ns:tx:<p>}:u`               | ZSET    | unfinished ids of partition p → lease end (epoch ms)    |
 * | `{ns:tx:<p>}:ur`              | ZSET    | `<resource>\0<id>` of unfinished records (score 0, by lex) |
 * | `{ns}:pol`                    | HASH    | permission policy: record key → record (role, actor)    |
 * | `{ns}:pol:rev`                | STRING  | the policy's revision (bumped by every policy write)    |
 * | `{ns}:au:h`                   | HASH    | audit chain head: s seq, h hash, c checkpoint, ss/sh/sa start |
 * | `{ns}:au:r`                   | HASH    | audit record by seq: 64 hex chars of its hash, then the entry |
 *
 * Transactions spread over {@link TX_PARTITIONS} fixed partitions, p = {@link txPartition}(id):
 * a record and its partition's indexes share one slot, so one script changes them together.
 *
 * A queue's key names end in a fixed suffix without `}` (a dedup key is escaped: `%` → `%25`,
 * `}` → `%7D`), so the last `}:` of a name ends the queue name and no two queues share a key
 * whatever their names (a queue name holding `}` shortens the hash tag, but all keys of that
 * queue still share it). Namespace-wide names never collide with queue names either: after the
 * tag they take other suffixes.
 *
 * Keys live in one logical database (`redis://host/<db>`), but pub/sub channels are
 * server-wide: channel names of a database other than 0 therefore carry it after the hash tag,
 * `{ns}:db<N>:rc:<kind>`, `{ns}:db<N>:t:<topic>`, `{ns:q:<queue>}:db<N>:qn` and so on, so two
 * clusters sharing a server and a namespace in different databases never hear each other
 * (database 0 keeps the plain names; `db<N>:` never starts a name of database 0).
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
  /** Hash of encryptions per key version (`<version>:<key id>` → count). */
  readonly keyUsage: string;
  /** What every queue's hash tag starts with (`{ns:q:`). */
  readonly queuePrefix: string;
  /** What every shared cache key starts with (`ns:c:`, no hash tag; what cache tracking covers). */
  readonly cachePrefix: string;
  /** The key of one shared cache entry. */
  cacheKey(key: string): string;
  /** The key holding who loads a missing cache entry now (outside {@link cachePrefix}). */
  cacheLoadKey(key: string): string;
  /** The keys of one collection's change feed (hash tag `{ns:f:<collection>}`). */
  feed(collection: string): FeedKeys;
  /** The keys of one lock resource. */
  lock(resource: string): LockKeys;
  /** The keys of each transaction log partition, index p for partition p. */
  readonly txPartitions: readonly TxPartitionKeys[];
  /** Hash of the permission policy's records (`context.permissionService`). */
  readonly policy: string;
  /** The permission policy's revision, written with every change of {@link policy}. */
  readonly policyRevision: string;
  /** The audit chain: its head and its records (see append-audit-2.lua). */
  readonly audit: { readonly head: string; readonly records: string };
}

/** Keys of one transaction log partition (hash tag `{ns:tx:<p>}`, see {@link RedisKeys}). */
export interface TxPartitionKeys {
  /** ZSET: unfinished transaction id → when its lease ends (Redis TIME, epoch ms). */
  readonly unfinished: string;
  /** ZSET, every score 0: `<resource>\0<id>` per participant resource of each unfinished record. */
  readonly byResource: string;
  /** HASH: the record of transaction `id` (which must belong to this partition). */
  record(id: string): string;
}

/**
 * How many partitions the transaction log has. Part of the key layout: changing it strands the
 * records of a running cluster (each is looked up in the partition its id hashes to).
 */
export const TX_PARTITIONS = 16;

/** The partition of transaction `id`: FNV-1a (32 bit) of its UTF-8 bytes, mod {@link TX_PARTITIONS}. */
export function txPartition(id: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % TX_PARTITIONS;
}

/** Keys and notification channel of one change feed (see the table in {@link RedisKeys}). */
export interface FeedKeys {
  readonly log: string;
  readonly meta: string;
  readonly cursors: string;
  readonly notify: string;
}

/** Keys and wake-up channel of one lock resource (see the table in {@link RedisKeys}). */
export interface LockKeys {
  readonly owner: string;
  readonly fence: string;
  readonly line: string;
  readonly lineDeadlines: string;
  readonly notify: string;
}

/** Keys and wake-up channel of one durable queue (see the table in {@link RedisKeys}). */
export interface QueueKeys {
  readonly seq: string;
  readonly data: string;
  readonly meta: string;
  readonly ready: string;
  readonly prio: string;
  readonly leased: string;
  readonly delayed: string;
  readonly dead: string;
  readonly why: string;
  readonly rate: string;
  readonly rateLimit: string;
  readonly wake: string;
  readonly epoch: string;
  /** Every key above (what deleting the queue removes; dedup keys expire on their own). */
  readonly all: readonly string[];
  /** The key remembering one dedup key. */
  dedup(key: string): string;
  readonly notify: string;
}

/** A dedup key as a key-name suffix without `}` (and without `%` standing for itself). */
function escapeDedupKey(key: string): string {
  return key.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D'));
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
  const queuePrefix = `{${namespace}:q:`;
  const notifyName = db === 0 ? 'qn' : `db${db}:qn`;
  const feedNotify = db === 0 ? 'fn' : `db${db}:fn`;
  const cachePrefix = `${namespace}:c:`;
  const cacheLoadPrefix = `${namespace}:cl:`;
  const lockNotifyName = db === 0 ? 'ln' : `db${db}:ln`;
  return {
    cachePrefix,
    cacheKey: (key) => cachePrefix + key,
    cacheLoadKey: (key) => cacheLoadPrefix + key,
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
    policy: `${prefix}pol`,
    policyRevision: `${prefix}pol:rev`,
    bindingsChannel: `${prefix}bc`,
    audit: { head: `${prefix}au:h`, records: `${prefix}au:r` },
    keyUsage: `${prefix}keyuse`,
    queuePrefix,
    feed: (collection) => {
      const base = `{${namespace}:f:${collection}}:`;
      return {
        log: `${base}log`,
        meta: `${base}meta`,
        cursors: `${base}cur`,
        notify: base + feedNotify,
      };
    },
    lock: (resource) => {
      // Resource names never hold `{` or `}` (see the lock facade's validation).
      const base = `{${namespace}:l:${resource}}:`;
      return {
        owner: `${base}o`,
        fence: `${base}f`,
        line: `${base}q`,
        lineDeadlines: `${base}d`,
        notify: base + lockNotifyName,
      };
    },
    txPartitions: Array.from({ length: TX_PARTITIONS }, (_, p) => {
      const base = `{${namespace}:tx:${p}}:`;
      return {
        unfinished: `${base}u`,
        byResource: `${base}ur`,
        record: (id: string) => `${base}r:${id}`,
      };
    }),
    queue: (name) => {
      const base = `${queuePrefix}${name}}:`;
      const keys = {
        seq: `${base}seq`,
        data: `${base}data`,
        meta: `${base}meta`,
        ready: `${base}ready`,
        prio: `${base}prio`,
        leased: `${base}leased`,
        delayed: `${base}delayed`,
        dead: `${base}dead`,
        why: `${base}why`,
        rate: `${base}rate`,
        rateLimit: `${base}rl`,
        wake: `${base}wake`,
        epoch: `${base}epoch`,
      };
      return {
        ...keys,
        all: Object.values(keys),
        dedup: (key: string) => `${base}dd:${escapeDedupKey(key)}`,
        notify: base + notifyName,
      };
    },
  };
}
