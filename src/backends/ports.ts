/**
 * Backend ports: the only things a building block may ask of a backend.
 *
 * They speak Plugboard, never Redis: topics, nodes, records, deadlines. A backend is a set of
 * implementations of these interfaces (`memory`, `redis`, ...) that passes the shared conformance
 * suite in `test/conformance/`. Building blocks never see client types, command names or
 * connection state; they see these promises settle or reject with a Plugboard error
 * (`BackendUnavailableError`, `TimeoutError`, `PayloadTooLargeError`, `BackpressureError`).
 *
 * Payloads are opaque bytes: the one codec (`src/codec`) turns values into bytes above this
 * layer, so every backend carries exactly the same data and no backend has to know about types.
 *
 * Settling rule for every method: each returned promise settles by the deadline it was given
 * or by the backend's own operation timeout. Nothing returned from a port may stay pending
 * forever, whatever the network or the server does.
 */

/** Who sent a message. */
export interface DeliveryInfo {
  /** Node id of the sender. */
  readonly from: string;
}

/**
 * Called for each message on a subscribed topic. Must not throw (errors are the caller's). It
 * returns nothing, or a promise (`void | Promise<void>`): a handler that returns a promise keeps
 * counting against the transport's bound of concurrently running inbound handlers
 * (`maxInboundHandlers`) until the promise settles. Typed `unknown` so that handlers written as
 * expressions (`(p) => list.push(p)`) still fit; any other returned value is ignored.
 */
export type TopicHandler = (payload: Uint8Array, info: DeliveryInfo) => unknown;

/** Answers one request; its resolved bytes are the reply, a rejection is sent back as an error. */
export type Responder = (
  payload: Uint8Array,
  info: DeliveryInfo,
) => Promise<Uint8Array> | Uint8Array;

/**
 * Something went wrong in a transport that no single caller can be told about:
 * - `inbound-shed`: inbound at-most-once messages were dropped because `maxInboundHandlers`
 *   handlers were running (reported at most once per second, `details.dropped` since the last
 *   report);
 * - `receiver-cut`: the connection that receives messages was cut while the server stayed up
 *   (Redis: the subscriber passed its pub/sub output buffer limit, or was killed); messages and
 *   replies in flight to this node were lost;
 * - `rejected-frame`: inbound messages failed the cluster's authentication (`clusterSecret`:
 *   forged, from a node with another secret, or replayed) and were dropped (reported at most
 *   once per second, `details.count` since the last report).
 */
export interface TransportFault {
  readonly kind: 'inbound-shed' | 'receiver-cut' | 'rejected-frame';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Flow-control counters of one transport (for health and tests). */
export interface TransportStats {
  /** Inbound message handlers running now (sync handlers finish at once and never count). */
  readonly runningHandlers: number;
  /** Inbound at-most-once messages dropped at the handler bound, since start. */
  readonly shedMessages: number;
  /** Times the receiving connection was cut while the server stayed up, since start. */
  readonly receiverCuts: number;
  /** Bytes of outgoing frames held: waiting to be written, or written and not yet answered. */
  readonly pendingBytes: number;
  /**
   * Inbound messages dropped since start because they failed the cluster's authentication
   * (forged, from a node with another secret, or replayed); always 0 without a cluster secret.
   */
  readonly rejectedFrames: number;
}

/** A live subscription or responder; `close()` is idempotent. */
export interface PortSubscription {
  close(): Promise<void>;
}

/**
 * Message transport between nodes.
 *
 * - **Broadcast** (`publish`/`subscribe`): a message published on a topic reaches every
 *   subscriber of that topic on every *other* node of the cluster. Delivery is at-most-once:
 *   a node that is down or disconnected when the message passes does not get it. Local
 *   delivery (same node) is the building block's job, which keeps the in-process path free of
 *   serialization.
 * - **Direct** (`send`): a message to the subscribers of a topic on one named node. This is how
 *   the event bus realises subscriber *groups* across the cluster: the publisher picks one
 *   member node of each group from the registry (see {@link RegistryStore}) and sends there.
 * - **Request/reply** (`request`/`respond`): one request to a responder on one named node, one
 *   reply back, correlated by the transport. `request` rejects with `TimeoutError` at its
 *   deadline, with `ServiceUnavailableError` when the node is known to be gone, and with the
 *   error the responder sent when it failed (as a `WireError`, see `src/errors/wire.ts`).
 *
 * - **Flow control**: outgoing work a backend holds is bounded (Redis: `maxPendingBytes`; past
 *   it, `BackpressureError` at once), and a frame is never sent after its caller was rejected.
 *   Inbound message handlers running at once are bounded per node (`maxInboundHandlers`); past
 *   the bound, broadcasts and direct messages are dropped and counted (`stats()`, an
 *   `inbound-shed` fault), requests and replies never are. Faults no caller can be told about
 *   go to `onFault` listeners.
 *
 * Topic names are plain dotted strings chosen by the building blocks (`pb.ev`, `pb.rpc`); the
 * backend may map them to channels however it likes (namespace prefix, node suffix).
 */
export interface Transport {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;

  /** Broadcast `payload` to `topic` subscribers on every other node. Resolves once handed to the backend. */
  publish(topic: string, payload: Uint8Array): Promise<void>;

  /**
   * Deliver `payload` to `topic` subscribers on node `nodeId` only. Resolves once the backend
   * handed it to that node; rejects with `ServiceUnavailableError` when the backend knows at once
   * that the node cannot receive it (gone, or not connected), so the caller can pick another node.
   */
  send(nodeId: string, topic: string, payload: Uint8Array): Promise<void>;

  /**
   * Receive broadcasts and direct messages on `topic`. However often the connection drops and
   * comes back, each subscription receives each message at most once.
   */
  subscribe(topic: string, handler: TopicHandler): Promise<PortSubscription>;

  /**
   * Send a request to the responder of `topic` on node `nodeId` and wait for its reply until
   * `deadline` (epoch milliseconds).
   */
  request(
    nodeId: string,
    topic: string,
    payload: Uint8Array,
    deadline: number,
  ): Promise<Uint8Array>;

  /** Answer requests on `topic` addressed to this node. One responder per topic per node. */
  respond(topic: string, responder: Responder): Promise<PortSubscription>;

  /**
   * The largest payload the building blocks will hand to this transport (their
   * `maxPayloadBytes`). Call before the backend starts: a backend that cannot carry it fails
   * `start()` with `ValidationError` instead of cutting receivers off later.
   */
  setMaxPayloadBytes(bytes: number): void;

  /** Flow-control counters. */
  stats(): TransportStats;

  /** Be told of every {@link TransportFault}; returns a function that removes the listener. */
  onFault(listener: (fault: TransportFault) => void): () => void;
}

/** One entry in the registry, owned by the node that put it. */
export interface RegistryRecord {
  /** The family of entries, e.g. `rpc`, `service:payment-service`, `bus.group`. */
  readonly kind: string;
  /** Unique within `kind` across the cluster (owners prefix it with their node id). */
  readonly id: string;
  /** The node that owns the entry; the entry lives as long as that node does. */
  readonly nodeId: string;
  /** Encoded value (bytes from the codec). */
  readonly value: Uint8Array;
}

/** A change to a watched kind. */
export type RegistryChange =
  | { readonly type: 'put'; readonly record: RegistryRecord }
  | {
      readonly type: 'delete';
      readonly kind: string;
      readonly id: string;
      readonly nodeId: string;
    };

export type RegistryListener = (change: RegistryChange) => void;

/**
 * Cluster-wide registry of entries with expiry and watch: which node provides which RPC
 * service, which service instances exist, which nodes have group subscribers.
 *
 * Expiry is by owner liveness: every entry belongs to a node, and when that node leaves
 * (`close`) or stops proving it is alive (its liveness TTL lapses, e.g. after `kill -9`), all of
 * its entries disappear and watchers receive a `delete` for each. Backends implement liveness
 * with expiring keys or their equivalent, never with all-to-all heartbeats.
 */
export interface RegistryStore {
  /** Create or replace an entry owned by this node. */
  put(kind: string, id: string, value: Uint8Array): Promise<void>;

  /** Remove an entry owned by this node. Removing a missing entry is not an error. */
  remove(kind: string, id: string): Promise<void>;

  /** Every live entry of `kind`, across the cluster. */
  list(kind: string): Promise<RegistryRecord[]>;

  /**
   * Be told of every later change to `kind` (puts from any node, removals, expiries). Call
   * `list` after the watch resolves to get the state the changes apply to.
   */
  watch(kind: string, listener: RegistryListener): Promise<PortSubscription>;

  /** Ids of the nodes currently alive in the cluster, this one included. */
  liveNodes(): Promise<string[]>;
}

/** A message claimed from a queue. */
export interface ClaimedMessage {
  /** Backend-assigned id, unique within the queue. */
  readonly id: string;
  /** Encoded message (bytes from the codec). */
  readonly payload: Uint8Array;
  /** 1 on first delivery; grows with each redelivery (lease expiry or `release`). */
  readonly attempt: number;
  /** Epoch ms when the message was first enqueued. */
  readonly enqueuedAt: number;
  /**
   * Proof of this lease. `ack`, `release`, `extend` and `deadLetter` take it back and change
   * nothing when the lease has since lapsed and the message was claimed again: a slow consumer
   * can never settle another consumer's delivery.
   */
  readonly lease: string;
}

/** How a message is enqueued (every field optional; the defaults give a plain FIFO message). */
export interface EnqueueOptions {
  /** Not claimable before this many ms from now, measured on the backend's clock (Redis TIME). */
  delayMs?: number;
  /**
   * Not claimable before this epoch ms, on the backend's clock (a repeating message's due time).
   * With `delayMs` too, the later of the two wins.
   */
  notBefore?: number;
  /**
   * Integer in [-1_000_000, 1_000_000], default 0. Among ready messages a higher priority is
   * claimed first; equal priorities are claimed in enqueue order (FIFO).
   */
  priority?: number;
  /**
   * Idempotency key: when a message was enqueued with the same key in the last `dedupMs`, nothing
   * is enqueued and `enqueue` resolves with that first message's id.
   */
  dedupKey?: string;
  /** How long `dedupKey` is remembered, in ms (required with `dedupKey`; at most 30 days). */
  dedupMs?: number;
  /**
   * Deliveries after which the backend itself dead-letters the message when it would be delivered
   * again (receivers that died or overran their lease every time: a poison message). 0 or absent:
   * no limit. Counted in the backend, so it holds whichever node crashed.
   */
  maxAttempts?: number;
}

/** One message of {@link QueueStore.enqueueMany}. */
export interface EnqueueItem {
  readonly payload: Uint8Array;
  readonly options?: EnqueueOptions;
}

/** One leased message to settle (see {@link QueueStore.ackMany}). */
export interface SettleItem {
  readonly id: string;
  readonly lease: string;
}

/** A cluster-wide rate limit of one queue: at most `max` claims per `intervalMs` window. */
export interface QueueRateLimit {
  max: number;
  intervalMs: number;
}

export interface ClaimOptions {
  /** Most messages to return. */
  count: number;
  /** How long the claimer owns each message; unacknowledged, it is redelivered after this. */
  leaseMs: number;
  /** How long to wait for a message when none is ready (0: do not wait). */
  waitMs: number;
  /** Stop waiting early (returns what it has, possibly nothing). */
  signal?: AbortSignal;
  /**
   * Claim no more than the queue's limit allows, counted in the backend across every claimer
   * (every claimer of a queue should pass the same limit). When the window is used up, a waiting
   * claim sleeps until the window ends.
   */
  rateLimit?: QueueRateLimit;
}

/** Messages of a queue, by state. */
export interface QueueCounts {
  ready: number;
  delayed: number;
  leased: number;
  dead: number;
}

/**
 * What a queue did lately, by the backend's clock: messages enqueued, completed (acknowledged)
 * and failed (released for a retry or dead-lettered) in the last `windowMs` (60 s, or less just
 * after the queue was created), plus the current counts.
 */
export interface QueueActivity extends QueueCounts {
  enqueued: number;
  completed: number;
  failed: number;
  windowMs: number;
}

/** A binding that appeared (`bind`) or went away (`unbind`). */
export interface BindingChange {
  readonly type: 'bind' | 'unbind';
  readonly queue: string;
  readonly pattern: string;
}

export type BindingListener = (change: BindingChange) => void;

/** A message in a queue's dead-letter list, as kept for inspection and replay. */
export interface DeadLetter {
  readonly id: string;
  readonly payload: Uint8Array;
  /** Deliveries it had before it was dead-lettered. */
  readonly attempt: number;
  readonly enqueuedAt: number;
  /** Epoch ms when it was dead-lettered. */
  readonly deadAt: number;
  readonly reason: string;
}

/**
 * Durable work queues with competing consumers and at-least-once delivery: the backing store of
 * `durable: true` event subscriptions today and of the message queue building block.
 *
 * A message is enqueued once, claimed by one consumer at a time under a lease, and then either
 * acknowledged (gone), released (available again after a delay, `attempt + 1`), or moved to the
 * queue's dead-letter list with a reason. A consumer that dies or overruns its lease loses the
 * message to the next `claim` (redelivery). Queues survive every node's restart for as long as
 * the backend keeps data (memory: the process; Redis: the server).
 *
 * Bindings say which event patterns feed which durable queue; they are persistent (not owned by a
 * node), so events published while every consumer is down still accumulate.
 */
export interface QueueStore {
  /**
   * Append a message; resolves with its id once the backend has stored it (for a duplicate
   * `dedupKey`, with the first message's id, storing nothing).
   */
  enqueue(queue: string, payload: Uint8Array, options?: EnqueueOptions): Promise<string>;

  /**
   * Append many messages, in order, as `enqueue` would one by one (a dedup key used twice in the
   * batch stores the first message only; the later ones answer its id), at the cost of few
   * backend calls. Resolves with one id per item, in order. Every item's options are checked
   * first: one bad item rejects the whole call (ValidationError) and nothing is stored.
   */
  enqueueMany(queue: string, items: readonly EnqueueItem[]): Promise<string[]>;

  /**
   * Remove a message that is waiting (ready or delayed), e.g. a cancelled delayed message.
   * `false`: no such waiting message (unknown, leased right now, settled or dead).
   */
  remove(queue: string, id: string): Promise<boolean>;

  /**
   * Lease up to `count` ready messages to `consumer`: expired leases first (redeliveries),
   * then new messages in order. Waits up to `waitMs` when none is ready.
   */
  claim(queue: string, consumer: string, options: ClaimOptions): Promise<ClaimedMessage[]>;

  /**
   * Done with a leased message: remove it. Resolves `false` (and changes nothing) when `lease`
   * is no longer the message's current lease (it lapsed and was claimed again, or was settled).
   */
  ack(queue: string, id: string, lease: string): Promise<boolean>;

  /**
   * `ack` for many leased messages at the cost of few backend calls: one boolean per item, in
   * order (`false` for a lease that is no longer current, as `ack` answers).
   */
  ackMany(queue: string, items: readonly SettleItem[]): Promise<boolean[]>;

  /** Give a leased message back, to be redelivered after `delayMs`. `false`: not your lease. */
  release(queue: string, id: string, lease: string, delayMs: number): Promise<boolean>;

  /** Keep the lease `leaseMs` longer from now (a long-running handler). `false`: not your lease. */
  extend(queue: string, id: string, lease: string, leaseMs: number): Promise<boolean>;

  /** Move a leased message to the dead-letter list, recording why. `false`: not your lease. */
  deadLetter(queue: string, id: string, lease: string, reason: string): Promise<boolean>;

  /** How many messages are in each state. */
  counts(queue: string): Promise<QueueCounts>;

  /** Counts plus what the queue did in the last minute (see {@link QueueActivity}). */
  activity(queue: string): Promise<QueueActivity>;

  /** Feed events matching `pattern` into `queue` from now on (idempotent, persistent). */
  bind(queue: string, pattern: string): Promise<void>;

  /** Stop feeding `queue` from `pattern`. */
  unbind(queue: string, pattern: string): Promise<void>;

  /** Every binding in the cluster. */
  bindings(): Promise<Array<{ queue: string; pattern: string }>>;

  /**
   * Be told of every later binding change made by any node (only real transitions: binding what
   * is bound already changes nothing). Changes missed while this node could not hear them (a
   * dropped connection) are delivered after it reconnects, by comparing with `bindings()`. Call
   * `bindings()` after the watch resolves to get the state the changes apply to.
   */
  watchBindings(listener: BindingListener): Promise<PortSubscription>;

  /** Names of every queue that has a binding or was ever enqueued to (until `deleteQueue`). */
  queueNames(): Promise<string[]>;

  /** Up to `limit` dead letters of `queue`, oldest first. */
  deadLetters(queue: string, limit: number): Promise<DeadLetter[]>;

  /** Drop one dead letter for good. `false`: no such dead letter. */
  removeDeadLetter(queue: string, id: string): Promise<boolean>;

  /** Move one dead letter back to the ready messages (claimable at once, attempt kept). */
  retryDeadLetter(queue: string, id: string): Promise<boolean>;

  /** Move every dead letter of `queue` back to the ready messages; resolves with how many. */
  retryDeadLetters(queue: string): Promise<number>;

  /** Drop every dead letter of `queue`; resolves with how many there were. */
  purgeDeadLetters(queue: string): Promise<number>;

  /** Unbind every pattern of `queue` and delete all its messages and dead letters. */
  deleteQueue(queue: string): Promise<void>;
}

// ---- Cache (src/cache/) ---------------------------------------------------------------------

/** One cache entry as stored: the encoded value and its version. */
export interface CacheRecord {
  value: Uint8Array;
  /** Opaque, different after every write of the key: what compare-and-set compares. */
  version: string;
}

/** One operation of an atomic batch ({@link CacheStore.exec}); TTLs in ms here (seconds only at the API). */
export type CacheOp =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: Uint8Array; ttlMs?: number }
  | { op: 'delete'; key: string }
  | { op: 'expire'; key: string; ttlMs: number };

/** Per op, in order: `get` → record or undefined; `set` → the new version; `delete`/`expire` → whether the key existed. */
export type CacheOpResult = CacheRecord | string | boolean | undefined;

/**
 * What a node's local tier must drop: the keys some node (this one included) wrote, deleted or
 * let expire, or `all` when this node may have missed invalidations (its channel dropped).
 */
export type CacheInvalidation =
  | { kind: 'keys'; keys: readonly string[] }
  /** `lost`: the channel is down; local tiers keep nothing until the next `all` without it. */
  | { kind: 'all'; lost?: boolean };

/**
 * The shared cache tier: keys with TTLs, versions for compare-and-set, invalidations.
 *
 * Keys are the API's keys as given (the facade validated them); values are the codec's bytes,
 * which a store may keep or hand back without copying (nobody mutates them). TTLs and leases
 * are integer ms from 1 to `MAX_CACHE_TTL_MS` (`src/backends/cache-ttl.ts`; a store refuses
 * others with `ValidationError`). A store is bounded: memory evicts least recently used
 * entries past its byte bound; Redis follows the server's `maxmemory-policy`.
 */
export interface CacheStore {
  get(key: string): Promise<CacheRecord | undefined>;
  /** Store `value`; `ttlMs` undefined: no expiry. Resolves with the new version. */
  set(key: string, value: Uint8Array, ttlMs?: number): Promise<string>;
  /**
   * Store `value` only if the key's version is `expected` (`null`: only if the key is absent).
   * Resolves with the new version, or undefined when the version did not match (nothing written).
   */
  setIfVersion(
    key: string,
    value: Uint8Array,
    expected: string | null,
    ttlMs?: number,
  ): Promise<string | undefined>;
  delete(key: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Give an existing key a new TTL; false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Apply every op atomically (all or none, no other write in between); results in order. */
  exec(ops: readonly CacheOp[]): Promise<CacheOpResult[]>;
  /**
   * Hear every invalidation (see {@link CacheInvalidation}) until the subscription closes. Keys
   * are the API's keys (as given to `set`), never backend key names. `listener` must not throw.
   */
  watchInvalidations(
    listener: (invalidation: CacheInvalidation) => void,
  ): Promise<PortSubscription>;
  /**
   * Take the cluster-wide right to load `key` (stampede protection) for `leaseMs`; false while
   * another owner holds it. Waiters learn the load finished from the key's invalidation.
   */
  claimLoad(key: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Give the load right back (only if `owner` still holds it). */
  releaseLoad(key: string, owner: string): Promise<void>;
}

// ---- Locks (src/lock/) -----------------------------------------------------------------------

/** The outcome of one acquire attempt. */
export type LockAttempt =
  | {
      granted: true;
      /** Strictly increasing per resource across the cluster, also across backend restarts. */
      fencingToken: number;
    }
  | {
      granted: false;
      /** Upper bound on how long the current holder can keep it without extending, ms. */
      holderTtlMs: number;
    };

/** Told that a lock may be free (see {@link LockStore.watch}). */
export type LockWakeListener = (next?: string, holderTtlMs?: number) => void;

/** Exclusive, expiring ownership of named resources, with a FIFO line of waiters per resource. */
export interface LockStore {
  /**
   * Grant `resource` to `owner` for `ttlMs` when it is free and `owner` is first in its line (or
   * the line is empty). When not granted and `lineMs > 0`, `owner` joins the line (or keeps its
   * place) for `lineMs`: each attempt renews it; a waiter that stops trying drops out.
   * An `owner` that already holds the lock gets its token again and a fresh `ttlMs` (a retried
   * attempt whose reply was lost). Tokens are `max(previous + 1, backend clock in µs)`.
   */
  acquire(resource: string, owner: string, ttlMs: number, lineMs: number): Promise<LockAttempt>;
  /** Leave the line without the lock (the waiter gave up). */
  leave(resource: string, owner: string): Promise<void>;
  /** Free the lock if `owner` holds it; false (and nothing touched) otherwise. */
  release(resource: string, owner: string): Promise<boolean>;
  /** Set the lock's TTL to `ttlMs` from now if `owner` holds it; false otherwise. */
  extend(resource: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Called when `resource` may have become free (released, or its line changed), with the owner
   * id first in line when the backend knows it: that waiter tries again at once, the others keep
   * waiting for their turn (no herd of attempts per release). Without `next`, all try again.
   * With `holderTtlMs`, the lock was just granted from the line: `next` (now first) does not try
   * yet, it only learns that the new holder keeps it at most `holderTtlMs` (its wait is bounded
   * by that should the new holder die without releasing).
   */
  watch(resource: string, listener: LockWakeListener): Promise<PortSubscription>;
  /**
   * Optional: true when this node already listens for `resource`'s wake-ups, so a `watch` of it
   * takes effect before any request sent after it (no round trip): a waiter then watches before
   * its first attempt and sleeps right after a refusal, with no wake-up missed in between.
   */
  listening?(resource: string): boolean;
  /**
   * Optional (backends with a server): call `listener` after a reconnect, when the server may have
   * lost every lock (restarted without persistence), so holders check theirs at once rather than
   * at their expiry. Returns a function that removes the listener.
   */
  onReconnect?(listener: () => void): () => void;
}

// ---- Change feeds (src/sync/) ----------------------------------------------------------------

/** One recorded change: `seq` increases by one per change of a collection. */
export interface FeedEntry {
  seq: number;
  /** When the backend recorded it (its clock, epoch ms); never decreases along a feed. */
  timestamp: number;
  data: Uint8Array;
}

/** How much of each feed a backend keeps. */
export interface FeedRetention {
  /** Changes kept per collection (the oldest are trimmed beyond). */
  maxChanges: number;
  /** Changes older than this are trimmed, ms. */
  maxAgeMs: number;
}

/**
 * Per-collection, ordered, retained change logs with durable named cursors. `seq` starts at 1
 * and increases by one per change of a collection, also across trimming: entries between the
 * oldest kept and the last one are contiguous.
 */
export interface ChangeFeedStore {
  /**
   * Record a change; the backend assigns `seq` and `timestamp` (its own clock, made
   * non-decreasing) and trims the collection to `retention` (count and age; a backend may keep
   * slightly more than `maxChanges`, never fewer, and trims by age on later appends).
   */
  append(collection: string, data: Uint8Array, retention: FeedRetention): Promise<FeedEntry>;
  /** Changes with `seq > afterSeq`, oldest first, at most `limit` (trimmed ones are gone). */
  read(collection: string, afterSeq: number, limit: number): Promise<FeedEntry[]>;
  /**
   * The seq just before the first kept change recorded at or after `timestampMs`: reading after
   * it yields the changes from that moment on. The last seq when every kept change is older (0
   * for an empty feed).
   */
  seqBefore(collection: string, timestampMs: number): Promise<number>;
  /** The last `seq` recorded in the collection (0 when none). */
  lastSeq(collection: string): Promise<number>;
  /**
   * Called after each append to `collection` by any node, in seq order, with the entry when the
   * backend has it; called without an entry when notifications may have been missed (e.g. after
   * a reconnect): listeners then read from where they are.
   */
  watch(collection: string, listener: (entry?: FeedEntry) => void): Promise<PortSubscription>;
  /** Remember how far the named watcher got (cluster-wide). */
  saveCursor(collection: string, name: string, seq: number): Promise<void>;
  loadCursor(collection: string, name: string): Promise<number | undefined>;
}

// ---- Transactions (src/tx/) ------------------------------------------------------------------

/** A coordinator's decision: first one recorded wins (see {@link TransactionLogStore.decide}). */
export type TxDecision = 'commit' | 'abort';

/** One named participant of a logged transaction (participants are addressed by position). */
export interface TxLogParticipant {
  /** The transaction resource's name (`transactionManager.registerResource(name, ...)`). */
  readonly resource: string;
  /** The work enlisted for it, encoded by the codec; sent again with every phase message. */
  readonly work: Uint8Array;
  /** Its phase two (commit or rollback) was applied and recorded. */
  readonly done: boolean;
}

/** What the coordinator log keeps of one transaction. */
export interface TxLogRecord {
  readonly id: string;
  /** Node id of the coordinator that opened it. */
  readonly coordinator: string;
  /** When it was opened (backend clock, epoch ms). */
  readonly createdAt: number;
  /** Undefined while in doubt (nothing decided yet). */
  readonly decision: TxDecision | undefined;
  /** Why it aborted (empty for a commit). */
  readonly reasons: readonly string[];
  readonly participants: readonly TxLogParticipant[];
  /** Who drives it now (the coordinator, or a node recovering it) and until when (backend clock). */
  readonly leaseOwner: string;
  readonly leaseUntil: number;
  /** Every participant is done: kept only for late lookups until its retention lapses. */
  readonly finished: boolean;
}

/**
 * The coordinator log of two-phase commit: durable, cluster-wide, the single source of truth of
 * what was decided. Every write resolves only once durable by the backend's own standard (file
 * `fdatasync` for the embedded file log; the server's persistence settings on Redis). Times are
 * the backend's clock. Records of finished transactions are removed after their retention;
 * unfinished ones stay until some node finishes them.
 */
export interface TransactionLogStore {
  /**
   * Record a transaction before its first prepare message, leased to `owner` for `leaseMs`.
   * Rejects with `ValidationError` when `id` is already recorded.
   */
  open(
    id: string,
    owner: string,
    participants: readonly { resource: string; work: Uint8Array }[],
    leaseMs: number,
  ): Promise<void>;
  /**
   * Record `decision` unless one is recorded already, and resolve with the decision on record
   * (the first one wins: a recovering node's presumed abort and a slow coordinator's commit can
   * race, and exactly one of them holds). With no record at all, an abort is recorded (presumed
   * abort) and `'abort'` returned, whatever was asked.
   */
  decide(id: string, decision: TxDecision, reasons: readonly string[]): Promise<TxDecision>;
  /**
   * Mark participant `index`'s phase two done (idempotent). Resolves true if this call marked it,
   * false if it was done already (or the record is gone).
   */
  markDone(id: string, index: number): Promise<boolean>;
  /** Mark the record finished; it is removed `retentionMs` later (late lookups still see it). */
  finish(id: string, retentionMs: number): Promise<void>;
  get(id: string): Promise<TxLogRecord | undefined>;
  /** Extend the lease if `owner` still holds it; false when another node took it over. */
  renew(id: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Take over at most `limit` unfinished records whose lease lapsed (their driver died or hung),
   * leasing each to `owner` for `leaseMs`, and return them. Two nodes never get the same record
   * while its new lease runs.
   */
  claimExpired(owner: string, leaseMs: number, limit: number): Promise<TxLogRecord[]>;
  /** Unfinished records naming `resource` among their participants (at most `limit`). */
  unfinishedFor(resource: string, limit: number): Promise<TxLogRecord[]>;
}

/** Where a backend stands; building blocks may read it, only the backend changes it. */
export type BackendStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** One connection of a backend, as `host.health()` reports it. */
export interface BackendConnectionHealth {
  /** `commands`, `subscriber` (Redis); the backend's kind for a backend without connections. */
  readonly name: string;
  /** True when the connection can carry work now. */
  readonly up: boolean;
  /** The connection's own status (Redis: ioredis's `ready`, `connecting`, `reconnect`...). */
  readonly status: string;
  /** The last error the connection reported, epoch ms `at` (kept after it recovered). */
  readonly lastError?: { readonly message: string; readonly code?: string; readonly at: number };
}

// ---- security: permission policies (context.permissionService) ------------------------------

/** One record of a {@link PolicyStore}. */
export interface PolicyRecord {
  readonly key: string;
  readonly value: Uint8Array;
}

/** Every record of a {@link PolicyStore} as of one revision. */
export interface PolicySnapshot {
  readonly revision: number;
  readonly records: readonly PolicyRecord[];
}

/** One change of a {@link PolicyStore.write}: `value` undefined removes the key. */
export interface PolicyChange {
  readonly key: string;
  readonly value: Uint8Array | undefined;
}

/**
 * Stored permission policy (roles, grants, assignments) shared by every node. Records are
 * opaque bytes by key (policies are small: roles and grants, not data). `revision` is 0 before
 * the first write and grows by one with every write, in the same atomic step as the write, so a
 * node may cache what it compiled from a snapshot and revalidate it with one cheap `revision()`
 * read. The first write may start the count anywhere above 0 (Redis starts at its clock in ms,
 * so that revisions after a data loss never repeat those a node compiled before).
 */
export interface PolicyStore {
  /** The current revision (0 before the first write). */
  revision(): Promise<number>;
  /** Every record and the revision they are at, read in one atomic step. */
  snapshot(): Promise<PolicySnapshot>;
  /**
   * Apply `changes` atomically, only if the revision is still `expected` (optimistic
   * concurrency: read a snapshot, compute, write against its revision, retry on a miss).
   * Resolves with the new revision, or `undefined` (nothing written) when it had moved.
   */
  write(changes: readonly PolicyChange[], expected: number): Promise<number | undefined>;
}

// ---- security: audit log (context.auditLogger) ----------------------------------------------

/** One stored audit entry: its place in the chain, its hash and its canonical bytes. */
export interface AuditRecord {
  readonly seq: number;
  readonly hash: string;
  readonly entry: Uint8Array;
}

/** Where a trimmed chain begins: the seq and hash of the last dropped record, and its anchor. */
export interface AuditStart {
  readonly seq: number;
  readonly hash: string;
  /** The signed anchor written by the trim (undefined: never trimmed). */
  readonly anchor: Uint8Array | undefined;
}

/**
 * The end of the chain (`seq` 0 and hash '' when empty), the checkpoint written with the last
 * append, and where the kept records start.
 */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
  readonly checkpoint: Uint8Array | undefined;
  readonly start: AuditStart;
}

/**
 * An append-only, hash-chained log shared by every node. `append` is atomic and conditional: it
 * adds `records` (seqs `expected.seq + 1`, `+ 2`, ...) and stores `checkpoint` with them only if
 * the head is still `expected`, so writers on several nodes form one linear chain. The store
 * never computes hashes: the writer does (and `verify` checks them).
 */
export interface AuditStore {
  head(): Promise<AuditHead>;
  /** Resolves false when the head moved since `expected` was read (read it again and retry). */
  append(
    expected: { readonly seq: number; readonly hash: string },
    records: readonly AuditRecord[],
    checkpoint: Uint8Array,
  ): Promise<boolean>;
  /** Records with `fromSeq <= seq < fromSeq + count`, in stored order. */
  read(fromSeq: number, count: number): Promise<AuditRecord[]>;
  /**
   * Drop every record up to and including `start.seq` (the retention bound), if record
   * `start.seq` is still there with hash `start.hash` and the start is not past it already;
   * `anchor` is kept as the new start's. Resolves with how many records were dropped.
   */
  trim(start: { readonly seq: number; readonly hash: string }, anchor: Uint8Array): Promise<number>;
}

// ---- security: key usage (context.encryptionService) ----------------------------------------

/**
 * Cluster-wide count of encryptions per key version (for the AES-GCM usage limit). Every node
 * adds its own batches; the total is the sum of every node's, whatever the interleaving.
 */
export interface KeyUsageStore {
  /**
   * Add `count` (0 or more; 0 reads the total) uses of `keyId` version `version`; resolves
   * with the new cluster-wide total. Counts of different key ids or versions never mix.
   */
  add(keyId: string, version: number, count: number): Promise<number>;
}

/**
 * A backend: the ports plus a lifecycle. The host owns exactly one per host and closes it on
 * `host.stop()` after every plugin is released.
 */
export interface Backend {
  /** `memory`, `redis`, ... for logs and health. */
  readonly kind: string;
  readonly nodeId: string;
  readonly transport: Transport;
  readonly registry: RegistryStore;
  readonly queues: QueueStore;
  readonly cache: CacheStore;
  readonly locks: LockStore;
  readonly feeds: ChangeFeedStore;
  /** The transaction coordinator log (`context.transactionManager`). */
  readonly transactions: TransactionLogStore;
  /** Permission policies (`context.permissionService`). */
  readonly policies: PolicyStore;
  /** The hash-chained audit log (`context.auditLogger`). */
  readonly audit: AuditStore;
  /** Encryptions per key version (`context.encryptionService`). */
  readonly keyUsage: KeyUsageStore;
  /**
   * False when no other node can ever exist (a lone in-memory host). Building blocks use it to
   * skip cluster bookkeeping entirely.
   */
  readonly clustered: boolean;
  readonly status: BackendStatus;
  /** Each connection's health; a backend without any (memory) leaves it out. */
  connections?(): BackendConnectionHealth[];
  /** Connect and announce this node. */
  start(): Promise<void>;
  /** Leave the cluster gracefully (entries removed at once) and release every resource. */
  close(): Promise<void>;
}
