// Scenario: the overhead of a circuit breaker (and of a composed timeout + breaker + retry
// policy) around an awaited async call, against a bare call, cockatiel 4 and opossum 10.
// Best case: a resolved promise through a closed breaker. Worst cases: a rejected promise (the
// failure is recorded, the circuit stays closed), an open circuit (rejected at once), and 1,000
// distinct breakers visited round-robin.
import { startPlugboard } from '../lib/plugboard.mjs';

/** Every breaker's rolling window, ms (ours' and opossum's default; cockatiel's `duration`). */
const WINDOW_MS = 10_000;
/** Failure rate that opens, percent. */
const THRESHOLD = 50;
/** Calls in the window before the rate counts (ours' default; opossum's `volumeThreshold`). */
const MINIMUM_CALLS = 10;
/** How long an open circuit stays open, ms: far longer than a run, so it never half-opens. */
const OPEN_MS = 600_000;
/** Per-attempt timeout of the composed policies, ms (never reached: the call resolves at once). */
const CALL_TIMEOUT_MS = 1000;
const ATTEMPTS = 3;
const MANY = 1000;
/**
 * A minimum call count no run reaches: the failing workload must record every failure without
 * ever opening the circuit (an open circuit is a workload of its own).
 */
const NEVER = 1e9;

const VALUE = 7;
const resolved = async () => VALUE;
// One error for every call: a fresh Error per call (stack capture, ~1 µs) would hide the
// breakers' own cost, which is what is measured.
const FAILURE = new Error('downstream failed');
const rejected = () => Promise.reject(FAILURE);

/**
 * The run shared by every implementation. `exec(i)` runs call number `i` through the
 * implementation (`i` picks the breaker in the many-breakers workload). `expect`: 'value' (each
 * call resolves with VALUE), 'failure' (each rejects with the callee's own error) or 'open'
 * (each rejects with the library's open-circuit error, `isOpen(error)`, the callee never runs).
 */
function breakerRun({ exec, expect, isOpen, calls = () => 0, close }) {
  let done = 0;
  let wrong = 0;
  let i = 0;
  const batch =
    expect === 'value'
      ? async (n) => {
          for (let k = 0; k < n; k++) {
            if ((await exec(i++)) !== VALUE) wrong++;
            done++;
          }
        }
      : async (n) => {
          for (let k = 0; k < n; k++) {
            try {
              await exec(i++);
              wrong++;
            } catch (error) {
              if (expect === 'failure' ? error !== FAILURE : !isOpen(error)) wrong++;
            }
            done++;
          }
        };
  return {
    batch,
    verify: (ops) => {
      if (done !== ops) return `completed ${done} calls, harness counted ${ops}`;
      if (wrong) return `${wrong} calls did not end as expected (${expect})`;
      if (expect === 'open' && calls() !== 0) return `the callee ran ${calls()} times while open`;
      return null;
    },
    close,
  };
}

/** The callee for a workload, and whether the circuit must be open before the window. */
function callee(workload) {
  let calls = 0;
  const fn =
    workload === 'ok' || workload === 'many'
      ? resolved
      : workload === 'fail'
        ? rejected
        : () => (calls++, Promise.reject(FAILURE));
  return {
    fn,
    expect: workload === 'fail' ? 'failure' : workload === 'open' ? 'open' : 'value',
    calls: () => calls,
  };
}

/** Trip a breaker: `failures` failing calls through `exec` (the open workload's set-up). */
async function trip(exec, failures) {
  for (let i = 0; i < failures; i++) await exec(0).catch(() => undefined);
}

// ---------------------------------------------------------------- bare call

function bare(workload) {
  const { fn, expect } = callee(workload);
  return breakerRun({ exec: () => fn(), expect });
}

// ---------------------------------------------------------------- Plugboard

async function plugboard(workload) {
  const pb = await startPlugboard(['guarded']);
  const factory = pb.ctx.guarded.circuitBreakerFactory;
  const { CircuitOpenError } = await import('../../dist/index.js');
  const { fn, expect, calls } = callee(workload);
  const options = {
    failureThreshold: THRESHOLD,
    windowMs: WINDOW_MS,
    minimumCalls: workload === 'fail' ? NEVER : workload === 'open' ? 1 : MINIMUM_CALLS,
    timeout: OPEN_MS,
  };
  let exec;
  if (workload === 'many') {
    const breakers = Array.from({ length: MANY }, (_, k) => factory.create(`b${k}`, options));
    exec = (i) => breakers[i % MANY].execute(fn);
  } else {
    const breaker = factory.create('downstream', options);
    exec = () => breaker.execute(fn);
  }
  if (workload === 'open') await trip(exec, 1);
  return breakerRun({
    exec,
    expect,
    isOpen: (error) => error instanceof CircuitOpenError && error.type === 'CircuitOpenError',
    calls: () => calls() - (workload === 'open' ? 1 : 0),
    close: pb.close,
  });
}

/** `factory.policy({ timeout, breaker, retry })`: the documented composition order. */
async function plugboardPolicy() {
  const pb = await startPlugboard(['guarded']);
  const policy = pb.ctx.guarded.circuitBreakerFactory.policy({
    timeout: CALL_TIMEOUT_MS,
    breaker: {
      name: 'downstream',
      failureThreshold: THRESHOLD,
      windowMs: WINDOW_MS,
      minimumCalls: MINIMUM_CALLS,
      timeout: OPEN_MS,
    },
    retry: { maxAttempts: ATTEMPTS },
  });
  return breakerRun({ exec: () => policy.execute(resolved), expect: 'value', close: pb.close });
}

// ---------------------------------------------------------------- cockatiel 4

async function cockatielBreaker(kind, workload, c) {
  const { circuitBreaker, handleAll, ConsecutiveBreaker, SamplingBreaker } =
    await import('cockatiel');
  const make = () =>
    circuitBreaker(handleAll, {
      halfOpenAfter: OPEN_MS,
      breaker:
        kind === 'consecutive'
          ? new ConsecutiveBreaker(workload === 'fail' ? NEVER : workload === 'open' ? 1 : 5)
          : new SamplingBreaker({
              threshold: THRESHOLD / 100,
              duration: WINDOW_MS,
              // Its minimum volume is a rate: MINIMUM_CALLS per window.
              minimumRps:
                workload === 'fail'
                  ? NEVER
                  : workload === 'open'
                    ? 1 / (WINDOW_MS / 1000)
                    : MINIMUM_CALLS / (WINDOW_MS / 1000),
            }),
    });
  if (workload === 'many') {
    const breakers = Array.from({ length: MANY }, make);
    return (i) => breakers[i % MANY].execute(c.fn);
  }
  const breaker = make();
  return () => breaker.execute(c.fn);
}

async function cockatiel(kind, workload) {
  const { BrokenCircuitError } = await import('cockatiel');
  const c = callee(workload);
  const exec = await cockatielBreaker(kind, workload, c);
  // The sampling breaker needs its minimum volume before a failure rate opens it.
  if (workload === 'open') await trip(exec, kind === 'consecutive' ? 1 : 2);
  const tripped = workload === 'open' ? c.calls() : 0;
  return breakerRun({
    exec,
    expect: c.expect,
    isOpen: (error) => error instanceof BrokenCircuitError,
    calls: () => c.calls() - tripped,
  });
}

/**
 * `wrap(retry, breaker, timeout)`: cockatiel's outermost-first order, the same composition.
 * `abortOnReturn: false` is ours' behaviour (a call that returned in time leaves its signal
 * alone); cockatiel's default aborts the signal after every call, which costs an abort per call.
 */
async function cockatielPolicy(abortOnReturn) {
  const {
    circuitBreaker,
    ExponentialBackoff,
    handleAll,
    retry,
    SamplingBreaker,
    timeout,
    TimeoutStrategy,
    wrap,
  } = await import('cockatiel');
  const policy = wrap(
    retry(handleAll, { maxAttempts: ATTEMPTS - 1, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, {
      halfOpenAfter: OPEN_MS,
      breaker: new SamplingBreaker({
        threshold: THRESHOLD / 100,
        duration: WINDOW_MS,
        minimumRps: MINIMUM_CALLS / (WINDOW_MS / 1000),
      }),
    }),
    timeout(CALL_TIMEOUT_MS, { strategy: TimeoutStrategy.Aggressive, abortOnReturn }),
  );
  return breakerRun({ exec: () => policy.execute(resolved), expect: 'value' });
}

// ---------------------------------------------------------------- opossum 10

async function opossum(withTimeout, workload) {
  const { default: CircuitBreaker } = await import('opossum');
  const c = callee(workload);
  const options = {
    timeout: withTimeout ? undefined : false,
    errorThresholdPercentage: THRESHOLD,
    rollingCountTimeout: WINDOW_MS,
    volumeThreshold: workload === 'fail' ? NEVER : workload === 'open' ? 1 : MINIMUM_CALLS,
    resetTimeout: OPEN_MS,
  };
  const breakers = Array.from(
    { length: workload === 'many' ? MANY : 1 },
    () => new CircuitBreaker(c.fn, options),
  );
  const exec = workload === 'many' ? (i) => breakers[i % MANY].fire() : () => breakers[0].fire();
  if (workload === 'open') await trip(exec, 1);
  const tripped = workload === 'open' ? c.calls() : 0;
  return breakerRun({
    exec,
    expect: c.expect,
    isOpen: (error) => error?.code === 'EOPENBREAKER',
    calls: () => c.calls() - tripped,
    close: () => {
      for (const b of breakers) b.shutdown();
    },
  });
}

// ---------------------------------------------------------------- variants

const WORKLOADS = [
  ['ok', 'resolved promise'],
  ['fail', 'rejected promise (circuit stays closed)'],
  ['open', 'open circuit (rejected at once)'],
  ['many', `${MANY.toLocaleString('en')} breakers round-robin, resolved`],
];
const IMPLS = [
  ['ours', 'ours', 'Plugboard `breaker.execute(fn)`', (w) => plugboard(w)],
  ['ckt-sampling', 'anchor', 'cockatiel 4 `SamplingBreaker`', (w) => cockatiel('sampling', w)],
  [
    'ckt-consecutive',
    'anchor',
    'cockatiel 4 `ConsecutiveBreaker`',
    (w) => cockatiel('consecutive', w),
  ],
  ['opossum', 'anchor', 'opossum 10, default 10 s timeout', (w) => opossum(true, w)],
  ['opossum-nt', 'anchor', 'opossum 10, `timeout: false`', (w) => opossum(false, w)],
];
const ANCHOR_IDS = IMPLS.filter(([, side]) => side === 'anchor').map(([id]) => id);

export default {
  name: 'breaker',
  title: 'Circuit breaker overhead on a resolved promise (calls/s, ns per call)',
  notes: `One process, one call at a time: each call is awaited before the next (\`await
breaker.execute(fn)\`), so **ops/s = calls/s** and **ns/op** is the whole cost of one awaited call.
The callee is \`async () => 7\` (resolved) or \`() => Promise.reject(error)\` with one error object
made once (a fresh \`Error\` per call would cost more than the breakers themselves). Every breaker
has the same settings: a ${WINDOW_MS / 1000} s rolling window, opening at ${THRESHOLD}% failures
once ${MINIMUM_CALLS} calls were seen, open for ${OPEN_MS / 60_000} minutes (never reached in a
run). Each run checks every call's result (or its error: the callee's own error, or the
library's open-circuit error without the callee running).

- **bare**: \`await fn()\`, the floor.
- **Plugboard**: \`const breaker = context.circuitBreakerFactory.create('downstream', {
  failureThreshold: ${THRESHOLD}, windowMs: ${WINDOW_MS}, minimumCalls: ${MINIMUM_CALLS}, timeout })\`
  from a started host (\`dist/\`), then \`await breaker.execute(fn)\`.
- **cockatiel 4**: \`circuitBreaker(handleAll, { halfOpenAfter, breaker })\` with a
  \`SamplingBreaker({ threshold: 0.5, duration: ${WINDOW_MS}, minimumRps: 1 })\` (the same rate over a
  window; its minimum volume is a rate) or a \`ConsecutiveBreaker(5)\` (a counter: the cheapest
  breaker it has), \`await breaker.execute(fn)\`.
- **opossum 10**: \`new CircuitBreaker(fn, { errorThresholdPercentage, rollingCountTimeout,
  volumeThreshold, resetTimeout })\`, \`await breaker.fire()\`, with its default 10 s call timeout
  (a timer per call) and with \`timeout: false\`.
- **Composed policy**: ours \`factory.policy({ timeout: ${CALL_TIMEOUT_MS}, breaker: {...}, retry: {
  maxAttempts: ${ATTEMPTS} } })\` (per-attempt timeout with an \`AbortSignal\`, inside the breaker,
  inside retry) against cockatiel's \`wrap(retry(handleAll, { maxAttempts: ${ATTEMPTS - 1},
  backoff }), breaker, timeout(${CALL_TIMEOUT_MS}, { strategy: Aggressive, abortOnReturn }))\`, the
  same order (cockatiel lists the outermost first; its \`maxAttempts\` counts retries) and the same
  behaviour at the timeout (the caller gets the timeout error at once). With \`abortOnReturn:
  false\` (ours' behaviour: a call that returned in time keeps its signal unaborted) and with
  cockatiel's default (\`true\`: the signal is aborted after every call); the ratio takes the
  faster of the two per round.

**Worst cases**: a rejected promise through a closed breaker (each failure recorded; the minimum
volume is set out of reach so that the circuit never opens and every call reaches the callee),
an open circuit (tripped by one failing call before the window: every call is rejected without
running the callee), and ${MANY.toLocaleString('en')} distinct breakers visited round-robin
(each its own state and window; opossum runs a bucket timer per breaker). "fastest anchor" is,
per round, the best of the four anchor configurations in that round.

**Findings** (figures are the medians of the run below; ns per awaited call).

- **Resolved promise**: ours adds about 80 ns to the bare call's ~100 ns (~185 ns in all: a
  state check, one \`then\` whose handlers are made once per closed period, two counter
  increments and a coarse clock read), where cockatiel's cheapest breaker (\`ConsecutiveBreaker\`)
  takes ~465 ns and opossum ~1.1 µs without its call timer, ~2.3 µs with it: ours is about 2.5x
  the fastest anchor (target ≥ 1.5x, met in every round).
- **Rejected promise**: the rejection itself dominates (bare \`await\` of a rejected promise
  ~2.4 µs: Node's bookkeeping of a promise rejected before a handler is attached); ours adds
  ~0.2 µs to it, cockatiel ~2 µs. Opossum recomputes its window statistics on every failure,
  concatenating and sorting every latency recorded in the window (\`rollingPercentilesEnabled\`,
  on by default), so a failure costs it ~300 µs at this call rate and grows with the rate.
- **Open circuit**: ~6.3 µs per rejected call against ~12.1–12.4 µs for every anchor (1.9x the
  fastest). Every library builds a fresh error per rejected call. Ours was below the anchors
  (~20 µs, 0.63x, at commit 183443d): a CPU profile put half of it in capturing the
  \`CircuitOpenError\`'s stack. That error is now built without a stack trace (a fast failure
  made many times a second while a dependency is down; its message and \`details\` name the
  breaker and the time left, and the stack would only show the breaker's own line).
- **1,000 breakers**: ours stays within ~15% of one breaker (fixed-size windows, no timers per
  breaker); opossum runs one bucket timer per breaker.
- **Composed policy**: ours ~1 µs against cockatiel's ~24 µs with \`abortOnReturn: false\` (~60 µs
  with its default): cockatiel makes an \`AbortController\` and its \`AbortSignal\` for every call
  (tens of µs on Node 20) and listens to it, where ours makes the callee's signal only when the
  callee reads \`signal\` and reaches running attempts through one listener per outer signal.`,
  variants: [
    ...WORKLOADS.flatMap(([w, label]) => [
      {
        id: `bare-${w}`,
        side: 'anchor',
        label: `bare \`await fn()\`, ${label}`,
        setup: () => bare(w),
      },
      ...IMPLS.map(([id, side, implLabel, setup]) => ({
        id: `${id}-${w}`,
        side,
        label: `${implLabel}, ${label}`,
        setup: () => setup(w),
      })),
    ]).filter((v) => !(v.id === 'bare-open' || v.id === 'bare-many')),
    {
      id: 'ours-policy',
      side: 'ours',
      label: 'Plugboard `factory.policy({ timeout, breaker, retry })`, resolved promise',
      setup: plugboardPolicy,
    },
    {
      id: 'ckt-policy',
      side: 'anchor',
      label:
        'cockatiel 4 `wrap(retry, breaker, timeout)`, `abortOnReturn: false`, resolved promise',
      setup: () => cockatielPolicy(false),
    },
    {
      id: 'ckt-policy-default',
      side: 'anchor',
      label: 'cockatiel 4 `wrap(retry, breaker, timeout)`, its defaults, resolved promise',
      setup: () => cockatielPolicy(true),
    },
  ],
  comparisons: [
    {
      label: 'ours ÷ fastest anchor, resolved promise',
      a: 'ours-ok',
      b: ANCHOR_IDS.map((id) => `${id}-ok`),
      target: { op: '>=', value: 1.5 },
    },
    { label: 'ours ÷ cockatiel SamplingBreaker, resolved', a: 'ours-ok', b: 'ckt-sampling-ok' },
    {
      label: 'ours ÷ cockatiel ConsecutiveBreaker, resolved',
      a: 'ours-ok',
      b: 'ckt-consecutive-ok',
    },
    { label: 'ours ÷ opossum (default timeout), resolved', a: 'ours-ok', b: 'opossum-ok' },
    { label: 'ours ÷ opossum `timeout: false`, resolved', a: 'ours-ok', b: 'opossum-nt-ok' },
    { label: 'ours ÷ bare call, resolved', a: 'ours-ok', b: 'bare-ok' },
    {
      label: 'ours composed policy ÷ cockatiel `wrap(retry, breaker, timeout)` (faster setting)',
      a: 'ours-policy',
      b: ['ckt-policy', 'ckt-policy-default'],
    },
    { label: 'ours composed policy ÷ bare call', a: 'ours-policy', b: 'bare-ok' },
    {
      label: 'worst case: ours ÷ fastest anchor, rejected promise',
      a: 'ours-fail',
      b: ANCHOR_IDS.map((id) => `${id}-fail`),
    },
    { label: 'worst case: ours ÷ bare call, rejected promise', a: 'ours-fail', b: 'bare-fail' },
    {
      label: 'worst case: ours ÷ fastest anchor, open circuit',
      a: 'ours-open',
      b: ANCHOR_IDS.map((id) => `${id}-open`),
    },
    {
      label: `worst case: ours ÷ fastest anchor, ${MANY.toLocaleString('en')} breakers`,
      a: 'ours-many',
      b: ANCHOR_IDS.map((id) => `${id}-many`),
    },
    {
      label: `ours, ${MANY.toLocaleString('en')} breakers ÷ one breaker`,
      a: 'ours-many',
      b: 'ours-ok',
    },
  ],
};
