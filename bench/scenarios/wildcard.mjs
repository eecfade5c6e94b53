// Scenario 2: cost of one publish as the number of subscribed patterns grows.
import { startPlugboard } from '../lib/plugboard.mjs';
import { createSink, PAYLOAD } from '../lib/sink.mjs';

const SIZES = [100, 1_000, 10_000];
// Publishing modes. Plugboard caches the match result per event name (up to 10,000 names, a
// name cached on its second miss), so 1,000 rotating names measure the cached path, 20,000
// rotating names mostly miss, and unique names (built per publish, never repeated) always miss:
// the worst case for any per-name cache. `same` is the best case.
const MODES = [
  { key: 'same', names: 1, label: 'same name' },
  { key: 'rot1k', names: 1_000, label: '1,000 rotating names' },
  { key: 'rot20k', names: 20_000, label: '20,000 rotating names' },
  { key: 'unique', names: 0, label: 'unique names' },
];

/**
 * Half `svc<i>.*.created`, half `svc<i>.**`, each over its own first segment. The published names
 * all match exactly one pattern (`svc<T>.*.created`, T in the middle of the list): `names` for
 * the rotating modes, `${prefix}<k>.created` built per publish for unique names.
 */
function workload(count, nameCount) {
  const patterns = Array.from({ length: count }, (_, i) =>
    i % 2 === 0 ? `svc${i}.*.created` : `svc${i}.**`,
  );
  const target = 2 * Math.floor(count / 4);
  const names = Array.from({ length: nameCount }, (_, k) => `svc${target}.e${k}.created`);
  return { patterns, names, prefix: `svc${target}.u` };
}

async function plugboard(count, nameCount) {
  const { patterns, names, prefix } = workload(count, nameCount);
  const pb = await startPlugboard(['producer', 'consumer'], { parity: false });
  const sink = createSink();
  for (const p of patterns) pb.ctx.consumer.eventBus.subscribe(p, sink.handler());
  const bus = pb.ctx.producer.eventBus;
  const last = names.length - 1;
  let k = 0;
  return {
    perOp: 1,
    delivered: sink.calls,
    // One loop for every rotating mode (with one name, k stays 0) so they differ only in names.
    batch:
      nameCount === 0
        ? async (n) => {
            for (let i = 0; i < n; i++) await bus.publish(`${prefix}${k++}.created`, PAYLOAD);
          }
        : async (n) => {
            for (let i = 0; i < n; i++) {
              await bus.publish(names[k], PAYLOAD);
              k = k === last ? 0 : k + 1;
            }
          },
    close: pb.close,
  };
}

async function eventEmitter2(count, nameCount) {
  const { default: EE2 } = await import('eventemitter2');
  const { patterns, names, prefix } = workload(count, nameCount);
  const ee = new EE2({ wildcard: true, delimiter: '.', maxListeners: 100 });
  const sink = createSink();
  for (const p of patterns) ee.on(p, sink.handler());
  const last = names.length - 1;
  let k = 0;
  return {
    perOp: 1,
    delivered: sink.calls,
    batch:
      nameCount === 0
        ? (n) => {
            for (let i = 0; i < n; i++) ee.emit(`${prefix}${k++}.created`, PAYLOAD);
          }
        : (n) => {
            for (let i = 0; i < n; i++) {
              ee.emit(names[k], PAYLOAD);
              k = k === last ? 0 : k + 1;
            }
          },
  };
}

const IMPLS = [
  { key: 'ours', side: 'ours', label: 'Plugboard `await publish`', setup: plugboard },
  {
    key: 'ee2',
    side: 'anchor',
    label: 'EventEmitter2 (wildcard: true) `emit`',
    setup: eventEmitter2,
  },
];

const variants = MODES.flatMap((mode) =>
  SIZES.flatMap((size) =>
    IMPLS.map((impl) => ({
      id: `${impl.key}-${size}-${mode.key}`,
      side: impl.side,
      label: `${impl.label}, ${size.toLocaleString('en-US')} patterns, ${mode.label}`,
      setup: () => impl.setup(size, mode.names),
    })),
  ),
);

const comparisons = MODES.flatMap((mode) => [
  ...SIZES.map((size) => ({
    label: `ours ÷ EventEmitter2, ${size.toLocaleString('en-US')} patterns, ${mode.label}`,
    a: `ours-${size}-${mode.key}`,
    b: `ee2-${size}-${mode.key}`,
  })),
  // Growth = ns/publish at 10,000 ÷ ns/publish at 100 = ops/s at 100 ÷ ops/s at 10,000.
  {
    label: `ours growth 100 → 10,000 patterns (ns ratio), ${mode.label}`,
    a: `ours-100-${mode.key}`,
    b: `ours-10000-${mode.key}`,
    target: { op: '<', value: 1.5 },
  },
  {
    label: `EventEmitter2 growth 100 → 10,000 patterns (ns ratio), ${mode.label}`,
    a: `ee2-100-${mode.key}`,
    b: `ee2-10000-${mode.key}`,
  },
]);

export default {
  name: 'wildcard',
  title: 'Wildcard matching (100 / 1,000 / 10,000 patterns)',
  notes: `Patterns alternate \`svc<i>.*.created\` and \`svc<i>.**\`, each on its own first segment; every
published name matches exactly one of them (\`svc<T>.*.created\`), whose synchronous handler
counts the call (checked: calls = publishes). Plugboard keeps a match cache of up to 10,000
event names (\`src/bus/match-cache.ts\`): a name is cached on its second miss, and when the
cache is full a new name replaces a CLOCK victim only if it was missed more often lately. On a
miss the name is validated and split in one pass and walked through the trie; the dispatch
entry is memoized per set of matched patterns, so names matching the same pattern share it
(no sort, no new entry). Four publishing modes, best case first:
- **same name**: the best case for any cache.
- **1,000 rotating names** \`svc<T>.e<k>.created\`: all fit in the cache, so after the first
  passes this measures the cached path, not the trie.
- **20,000 rotating names**: twice what the cache holds, each name coming back after 19,999
  others. About half the publishes hit (the cache keeps a stable half of the names instead of
  evicting each one just before it returns); the other half miss.
- **unique names** \`svc<T>.u<k>.created\`, built per publish (on both sides) and never
  repeated: every publish misses (and hardly any of these names gets cached). The worst case,
  and the row that shows the cost of a name it has not seen (\`order.<id>.updated\`).
Not measured here: the first publish after a subscribe or unsubscribe, which clears the cache
and rebuilds (sorts) the entry of each pattern set on its next use.

Per operation, Plugboard does a full \`await bus.publish\` (as in the publish scenario);
EventEmitter2 (no cache) does a synchronous \`emit\` with \`wildcard: true\`. The ratios
ours ÷ EE2 therefore include our fixed per-publish cost; the **growth** rows (ns per publish at
10,000 patterns ÷ at 100) isolate how matching scales with the number of patterns.`,
  variants,
  comparisons,
};
