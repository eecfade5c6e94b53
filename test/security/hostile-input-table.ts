/**
 * The hostile-input table shared by hostile-input.test.ts (memory) and
 * hostile-input.redis.test.ts (Redis, the receiving host in a child process): prototype-polluting
 * payloads, huge and deeply nested payloads, and invalid names, driven through every block.
 *
 * A sender plugin drives each input through a block; a probe plugin (the same process on memory,
 * another process on Redis) receives what gets through and compares it with the table's value,
 * and says whether its own `Object.prototype` / `Array.prototype` changed. Everything the test
 * asks the probe goes through the probe's RPC service, so both backends run the same rows.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { Packr } from 'msgpackr';
import { describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import { until } from '../conformance/harness.js';

/** `limits.maxPayloadBytes` of the hosts of these tests (small: the huge rows stay cheap). */
export const HOSTILE_MAX_PAYLOAD_BYTES = 64 * 1024;

/** Nesting of the deep rows: far beyond any limit, and beyond a naive recursion's stack. */
const DEPTH = 10_000;

const proto = (): unknown => JSON.parse('{"__proto__":{"polluted":1}}');

function deepObject(): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < DEPTH; i++) value = { a: value };
  return value;
}

function deepArray(): unknown {
  let value: unknown = ['leaf'];
  for (let i = 0; i < DEPTH; i++) value = [value];
  return value;
}

/** What must happen to a payload row: delivered intact, or refused by the sender's call. */
export type PayloadOutcome =
  { readonly kind: 'delivered' } | { readonly kind: 'refused'; readonly codes: readonly string[] };

export interface PayloadCase {
  readonly label: string;
  readonly make: () => unknown;
  readonly outcome: PayloadOutcome;
}

const refused = (...codes: string[]): PayloadOutcome => ({ kind: 'refused', codes });
const delivered: PayloadOutcome = { kind: 'delivered' };

/**
 * The payloads. An own `__proto__` key cannot arrive as written (MessagePack decoders drop or
 * rename it, and assigning it would set a prototype), so it is refused (`SerializationError`, as
 * a function or a cycle is), the path named; `constructor.prototype` is plain data and arrives
 * intact. A Map's `__proto__` key is a Map key: plain data too.
 */
export const PAYLOAD_CASES: readonly PayloadCase[] = [
  { label: 'a normal object', make: () => ({ id: 1, tags: ['a'] }), outcome: delivered },
  {
    label: '__proto__ key (JSON.parse)',
    make: proto,
    outcome: refused('PB_SERIALIZATION'),
  },
  {
    label: '__proto__ key deep inside arrays',
    make: () => ({ list: [1, [{ inner: [proto()] }]] }),
    outcome: refused('PB_SERIALIZATION'),
  },
  {
    label: '__proto__ key inside a Map value',
    make: () => new Map<string, unknown>([['k', { v: proto() }]]),
    outcome: refused('PB_SERIALIZATION'),
  },
  {
    label: 'constructor.prototype',
    make: () => ({ constructor: { prototype: { polluted: 1 } } }),
    outcome: delivered,
  },
  {
    label: 'constructor.prototype inside arrays and a Map',
    make: () => [
      { x: [{ constructor: { prototype: { polluted: 1 } } }] },
      new Map<string, unknown>([
        ['__proto__', { polluted: 1 }],
        ['constructor', { prototype: { polluted: 1 } }],
      ]),
    ],
    outcome: delivered,
  },
  {
    label: `a payload over maxPayloadBytes (${HOSTILE_MAX_PAYLOAD_BYTES} bytes)`,
    make: () => ({ blob: 'x'.repeat(HOSTILE_MAX_PAYLOAD_BYTES + 1) }),
    outcome: refused('PB_PAYLOAD_TOO_LARGE'),
  },
  {
    label: `objects nested ${DEPTH} deep`,
    make: deepObject,
    outcome: refused('PB_VALIDATION'),
  },
  { label: `arrays nested ${DEPTH} deep`, make: deepArray, outcome: refused('PB_VALIDATION') },
];

/** Where a payload goes in: one API call of the sender, its counterpart in the probe. */
export interface PayloadBlock {
  readonly name: string;
  /** The word a refusal must name (`details.field`, or the message). */
  readonly field: string;
  /**
   * Drive `value` (row `index`) through the block. Resolves with what the sender got back when
   * the block hands something back to the sender; the probe's `seen` says what it received.
   */
  send(sender: PluginContext, index: number, value: unknown): Promise<unknown>;
  /** Whether the probe takes part (false: the block stays in the sender's process). */
  readonly probed: boolean;
}

const PROBE = 'hostile-probe';

export const PAYLOAD_BLOCKS: readonly PayloadBlock[] = [
  {
    name: 'eventBus.publish',
    field: 'data',
    probed: true,
    send: (s, _i, value) => s.eventBus.publish('hostile.event', value),
  },
  {
    name: 'pluginChain.execute',
    field: 'data',
    probed: false,
    send: (s, _i, value) => s.pluginChain.execute('hostile.chain', value),
  },
  {
    name: 'messageQueue.send',
    field: 'data',
    probed: true,
    send: (s, _i, value) => s.messageQueue.send('hostile.queue', value),
  },
  {
    name: 'rpcClient.call params',
    field: 'params',
    probed: true,
    send: (s, _i, value) => s.rpcClient.call(PROBE, 'check', [value]),
  },
  {
    name: 'rpcClient.call result',
    field: 'result',
    probed: false,
    send: (s, i) => s.rpcClient.call(PROBE, 'make', [i]),
  },
  {
    name: 'cache.set',
    field: 'value',
    probed: true,
    send: async (s, i, value) => {
      await s.cache.set(`hostile:${i}`, value);
      return s.rpcClient.call(PROBE, 'cacheGet', [`hostile:${i}`]);
    },
  },
  {
    name: 'cache.multi',
    field: 'value',
    probed: true,
    send: async (s, i, value) => {
      await s.cache.multi().set(`hostile:m:${i}`, value).exec();
      return s.rpcClient.call(PROBE, 'cacheGet', [`hostile:m:${i}`]);
    },
  },
  {
    name: 'dataSync.publish',
    field: 'data',
    probed: true,
    send: (s, i, value) => s.dataSync.publish('hostile', { type: 'update', id: i, data: value }),
  },
  {
    name: 'transaction.enlist',
    field: 'work',
    probed: true,
    send: async (s, _i, value) => {
      const tx = await s.transactionManager.begin();
      try {
        tx.enlist('hostile-resource', value);
      } catch (error) {
        await tx.rollback();
        throw error;
      }
      await tx.commit();
    },
  },
  {
    name: 'serviceRegistry.register',
    field: 'descriptor',
    probed: true,
    send: async (s, i, value) => {
      const registration = s.serviceRegistry.register('hostile-service', {
        name: `instance-${i}`,
        version: '1.0.0',
        endpoint: 'http://127.0.0.1:1',
        metadata: { value },
      });
      await registration.ready;
      return s.rpcClient.call(PROBE, 'discover', [`instance-${i}`]);
    },
  },
];

/** Which probe record a block fills in. */
const PROBE_KEY: Record<string, string> = {
  'eventBus.publish': 'event',
  'messageQueue.send': 'queue',
  'rpcClient.call params': 'params',
  'cache.set': 'cache',
  'cache.multi': 'cache',
  'dataSync.publish': 'sync',
  'transaction.enlist': 'tx',
  'serviceRegistry.register': 'registry',
};

/** The prototypes' own property names, to compare before and after. */
export function prototypeSnapshot(): string {
  return JSON.stringify([
    Object.getOwnPropertyNames(Object.prototype).sort(),
    Object.getOwnPropertyNames(Array.prototype).sort(),
    Object.getOwnPropertyNames(Function.prototype).sort(),
  ]);
}

/** True when a prototype gained a property (or a plain object inherits a strange one). */
export function polluted(baseline: string): boolean {
  const probe = {} as Record<string, unknown>;
  return (
    prototypeSnapshot() !== baseline ||
    probe['polluted'] !== undefined ||
    ([] as unknown as Record<string, unknown>)['polluted'] !== undefined
  );
}

/** What the probe saw of row `index`: `match`, `mismatch`, or nothing yet. */
type Seen = Record<string, 'match' | 'mismatch'>;

/**
 * The receiving side, run by the probe plugin (in the test's process on memory, in a child process
 * on Redis). Its RPC service `hostile-probe`: `expect(i)` (the row the next deliveries belong to),
 * `status()`, `check(value)`, `make(i)`, `cacheGet(key)`, `discover(name)`.
 */
export function installProbe(context: PluginContext): void {
  const baseline = prototypeSnapshot();
  let current = -1;
  let seen: Seen = {};
  const record = (key: string, value: unknown): 'match' | 'mismatch' => {
    const expected = PAYLOAD_CASES[current]?.make();
    const verdict = isDeepStrictEqual(value, expected) ? 'match' : 'mismatch';
    seen[key] = verdict;
    return verdict;
  };
  context.eventBus.subscribe('hostile.event', (data) => void record('event', data));
  context.messageQueue.receive('hostile.queue', (message) => void record('queue', message.data));
  context.dataSync.watch('hostile', (change) => void record('sync', change.data));
  context.transactionManager.registerResource('hostile-resource', {
    prepare: (work) => record('tx', work) === 'match',
    commit: () => undefined,
    rollback: () => undefined,
  });
  context.rpcServer.register(PROBE, {
    expect: (index: number) => {
      current = index;
      seen = {};
    },
    status: () => ({ seen, polluted: polluted(baseline), pid: process.pid }),
    check: (value: unknown) => record('params', value),
    make: (index: number) => PAYLOAD_CASES[index]!.make(),
    cacheGet: async (key: string) => record('cache', await context.cache.get(key)),
    /** A cache value written straight into the backend (never through a sender's codec). */
    forged: async (key: string) => {
      const value = await context.cache.get<Record<string, unknown>>(key);
      return {
        found: value !== undefined,
        plain: value !== undefined && Object.getPrototypeOf(value) === Object.prototype,
        inherits: value?.['polluted'] !== undefined,
        polluted: polluted(baseline),
      };
    },
    discover: async (name: string) => {
      const found = await context.serviceRegistry.discover('hostile-service', { name });
      return record('registry', found[0]?.metadata['value']);
    },
  });
}

/** Names given to each block that takes one; `accepts` lists the inputs valid for that block. */
export interface NameCase {
  readonly label: string;
  readonly value: unknown;
}

export const NAME_CASES: readonly NameCase[] = [
  { label: 'empty', value: '' },
  { label: '2,000 characters', value: 'n'.repeat(2000) },
  { label: 'spaces and "!"', value: 'bad name!' },
  { label: 'a control character', value: 'a\u0000b' },
  { label: 'a number', value: 42 },
  { label: 'null', value: null },
  { label: 'an object', value: { toString: () => 'hostile' } },
  { label: '"__proto__"', value: '__proto__' },
  { label: '"a.__proto__"', value: 'a.__proto__' },
  { label: '"constructor"', value: 'constructor' },
];

export interface NameBlock {
  readonly name: string;
  /** Labels of NAME_CASES this block accepts (a cache key may hold spaces); the rest are refused. */
  readonly accepts: readonly string[];
  use(sender: PluginContext, name: string): Promise<unknown>;
}

const noop = (): void => undefined;

/** Dotted names (events, queues, services, locks, resources) refuse every row but "constructor". */
const DOTTED = ['"constructor"'];
/** Names that are data (method names, instance names): any non-empty string. */
const ANY_STRING = [
  '2,000 characters',
  'spaces and "!"',
  'a control character',
  '"__proto__"',
  '"a.__proto__"',
  '"constructor"',
];

export const NAME_BLOCKS: readonly NameBlock[] = [
  {
    name: 'eventBus.publish',
    accepts: DOTTED,
    use: (s, n) => s.eventBus.publish(n, {}),
  },
  {
    name: 'eventBus.subscribe',
    accepts: DOTTED,
    use: async (s, n) => s.eventBus.subscribe(n, noop).unsubscribe(),
  },
  { name: 'pluginChain.execute', accepts: DOTTED, use: (s, n) => s.pluginChain.execute(n, {}) },
  { name: 'messageQueue.send', accepts: DOTTED, use: (s, n) => s.messageQueue.send(n, {}) },
  {
    name: 'messageQueue.receive',
    accepts: DOTTED,
    use: (s, n) => s.messageQueue.receive(n, noop).stop(),
  },
  {
    name: 'rpcClient.call',
    accepts: DOTTED,
    use: (s, n) => s.rpcClient.call(n, 'm', [], { timeout: 50 }),
  },
  {
    name: 'rpcClient.call method',
    // Any non-empty string names a method; inherited ones (constructor, __proto__) are not methods.
    accepts: ANY_STRING,
    use: (s, n) => s.rpcClient.call(PROBE, n, [], { timeout: 2_000 }),
  },
  {
    name: 'rpcServer.register',
    accepts: DOTTED,
    use: (s, n) => s.rpcServer.register(n, { m: () => 1 }).unregister(),
  },
  {
    name: 'cache.set/get',
    accepts: ['spaces and "!"', '"__proto__"', '"a.__proto__"', '"constructor"'],
    use: async (s, n) => {
      await s.cache.set(n, { name: n });
      assert.deepEqual(await s.cache.get(n), { name: n }, `cache key ${n} round-trips`);
      await s.cache.delete(n);
    },
  },
  {
    name: 'lock.acquire',
    accepts: DOTTED,
    use: async (s, n) => (await s.lock.acquire(n, { ttl: 5_000, waitTimeout: 1_000 })).release(),
  },
  {
    name: 'dataSync.publish',
    accepts: ['spaces and "!"', '"__proto__"', '"a.__proto__"', '"constructor"'],
    use: (s, n) => s.dataSync.publish(n, { type: 'create', id: 1, data: null }),
  },
  {
    name: 'dataSync.watch',
    accepts: ['spaces and "!"', '"__proto__"', '"a.__proto__"', '"constructor"'],
    use: (s, n) => s.dataSync.watch(n, noop).unsubscribe(),
  },
  {
    name: 'transactionManager.registerResource',
    accepts: DOTTED,
    use: (s, n) =>
      s.transactionManager
        .registerResource(n, { prepare: () => true, commit: noop, rollback: noop })
        .unregister(),
  },
  {
    name: 'transaction.enlist',
    accepts: DOTTED,
    use: async (s, n) => {
      const tx = await s.transactionManager.begin();
      try {
        tx.enlist(n, {});
      } finally {
        await tx.rollback();
      }
    },
  },
  {
    name: 'serviceRegistry.register',
    accepts: DOTTED,
    use: async (s, n) => {
      const registration = s.serviceRegistry.register(n, {
        name: 'x',
        version: '1.0.0',
        endpoint: 'http://127.0.0.1:1',
      });
      await registration.ready;
      await registration.unregister();
    },
  },
  {
    name: 'serviceRegistry.register descriptor.name',
    // Instance names are data (matched by equality), not dotted names: any non-empty string.
    accepts: ANY_STRING,
    use: async (s, n) => {
      const registration = s.serviceRegistry.register('hostile-named', {
        name: n,
        version: '1.0.0',
        endpoint: 'http://127.0.0.1:1',
      });
      try {
        await registration.ready;
        const found = await s.serviceRegistry.discover('hostile-named', { name: n });
        assert.deepEqual(
          found.map((instance) => instance.name),
          [n],
          'discovered by its name',
        );
      } finally {
        await registration.unregister();
      }
    },
  },
];

/** Blocks for which a valid name is simply not there: the error they answer with. */
const ACCEPTED_AS_NOT_FOUND: Record<string, string> = {
  'rpcClient.call': 'PB_SERVICE_UNAVAILABLE',
  'rpcClient.call method': 'PB_METHOD_NOT_FOUND',
};

/** The two plugins of a run: the sender in this process, the probe here or in a child process. */
export interface HostileSetup {
  readonly sender: PluginContext;
  /** The probe's process id: another process on Redis. */
  readonly probePid: number;
  /**
   * Write `bytes` as the shared cache entry `key` straight into the backend, as someone with
   * access to it could (Redis only).
   */
  forgeCacheEntry?(key: string, bytes: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

interface ProbeStatus {
  seen: Seen;
  polluted: boolean;
  pid: number;
}

/** Prepare the sender's side: a chain handler (chains never leave the process). */
export function installSender(context: PluginContext): void {
  context.eventBus.subscribe('hostile.chain', (_data, next) => next());
}

/** A refusal's error: a Plugboard code among `codes`, naming `field`. */
function assertRefusal(error: unknown, codes: readonly string[], field: string): void {
  const e = error as { code?: string; message?: string; details?: Record<string, unknown> };
  assert.ok(
    e.code !== undefined && codes.includes(e.code),
    `expected ${codes.join('/')}, got ${e.code ?? String(error)}: ${e.message}`,
  );
  const named =
    e.details?.['field'] === field || new RegExp(`\\b${field}\\b`).test(e.message ?? '');
  assert.ok(named, `the error names "${field}": ${e.message} ${JSON.stringify(e.details)}`);
}

/**
 * The table as tests: every payload row through every block, every name row through every block
 * taking a name, and a normal publish and call afterwards. `setup` starts the hosts.
 */
export function describeHostileInput(title: string, setup: () => Promise<HostileSetup>): void {
  void describe(title, () => {
    let run: HostileSetup;
    const baseline = prototypeSnapshot();
    const probeStatus = (): Promise<ProbeStatus> =>
      run.sender.rpcClient.call(PROBE, 'status', []) as Promise<ProbeStatus>;

    void it('starts the sender and the probe', async () => {
      run = await setup();
      assert.equal(typeof run.probePid, 'number');
    });

    for (const block of PAYLOAD_BLOCKS) {
      for (const [index, row] of PAYLOAD_CASES.entries()) {
        void it(`${block.name}: ${row.label}`, async () => {
          await run.sender.rpcClient.call(PROBE, 'expect', [index]);
          const value = row.make();
          const outcome = await Promise.resolve()
            .then(() => block.send(run.sender, index, value))
            .then(
              (result) => ({ ok: true as const, result }),
              (error: unknown) => ({ ok: false as const, error }),
            );
          // Chains pass data by reference within the process: never copied, never refused.
          const expected: PayloadOutcome =
            block.name === 'pluginChain.execute' ? delivered : row.outcome;
          if (expected.kind === 'refused') {
            assert.equal(outcome.ok, false, 'the call is refused');
            if (!outcome.ok) assertRefusal(outcome.error, expected.codes, block.field);
          } else {
            if (!outcome.ok) throw outcome.error;
            if (block.name === 'pluginChain.execute') assert.equal(outcome.result, value);
            if (block.name === 'rpcClient.call result')
              assert.ok(isDeepStrictEqual(outcome.result, value), 'the result arrives intact');
            const key = PROBE_KEY[block.name];
            if (key !== undefined) {
              await until(
                async () => (await probeStatus()).seen[key] !== undefined,
                5_000,
                `the probe to receive ${block.name}`,
              );
              assert.equal((await probeStatus()).seen[key], 'match', 'arrives intact');
            }
          }
          assert.equal(polluted(baseline), false, 'prototypes of this process untouched');
          assert.equal((await probeStatus()).polluted, false, "the probe's prototypes untouched");
        });
      }
    }

    for (const block of NAME_BLOCKS) {
      for (const row of NAME_CASES) {
        const accepted = block.accepts.includes(row.label);
        void it(`${block.name}: name ${row.label} ${accepted ? 'works' : 'is refused'}`, async () => {
          const outcome = await Promise.resolve()
            .then(() => block.use(run.sender, row.value as string))
            .then(
              () => undefined,
              (error: unknown) => error as { code?: string; message?: string },
            );
          if (accepted) {
            // A valid name nobody provides: not a ValidationError, the ordinary "not found".
            const notFound = ACCEPTED_AS_NOT_FOUND[block.name];
            if (notFound !== undefined) assert.equal(outcome?.code, notFound, outcome?.message);
            else assert.equal(outcome, undefined, `accepted: ${outcome?.message}`);
          } else {
            assert.equal(
              outcome?.code,
              'PB_VALIDATION',
              `refused: ${outcome?.message ?? 'no error'}`,
            );
          }
          assert.equal(polluted(baseline), false, 'prototypes of this process untouched');
        });
      }
    }

    void it('a value with own __proto__ keys written straight into the backend pollutes nothing where it is read', async (t) => {
      if (run.forgeCacheEntry === undefined) return t.skip('the backend is in this process');
      const forged = JSON.parse(
        '{"__proto__":{"polluted":1},"a":[{"__proto__":{"polluted":1}}]}',
      ) as unknown;
      // A MessagePack encoder without the codec's checks, as a forger would use.
      const bytes = new Packr({ structuredClone: true, useRecords: true }).pack(forged);
      await run.forgeCacheEntry('hostile:forged', bytes);
      assert.deepEqual(await run.sender.rpcClient.call(PROBE, 'forged', ['hostile:forged']), {
        found: true,
        plain: true,
        inherits: false,
        polluted: false,
      });
    });

    void it('keeps running: a normal publish, call and send work afterwards', async () => {
      const index = 0;
      await run.sender.rpcClient.call(PROBE, 'expect', [index]);
      await run.sender.eventBus.publish('hostile.event', PAYLOAD_CASES[index]!.make());
      await run.sender.messageQueue.send('hostile.queue', PAYLOAD_CASES[index]!.make());
      assert.equal(
        await run.sender.rpcClient.call(PROBE, 'check', [PAYLOAD_CASES[index]!.make()]),
        'match',
      );
      await until(
        async () => {
          const { seen } = await probeStatus();
          return seen['event'] === 'match' && seen['queue'] === 'match';
        },
        5_000,
        'the probe to receive a normal event and message',
      );
      const status = await probeStatus();
      assert.equal(status.polluted, false);
      assert.equal(status.pid, run.probePid);
      await run.stop();
    });
  });
}
