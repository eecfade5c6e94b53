/**
 * The rigs of the two-phase-commit crash tests, one per backend, behind one interface so that
 * the same crash tests run on both:
 * - embedded: one process holds the coordinator and every participant (its memory backend), the
 *   coordinator log in `transactions.logFile` and the ledgers in files of a temp dir. Killing
 *   the coordinator kills the participants too; a restart opens the same files.
 * - Redis: a throwaway redis-server, one process per participant and one coordinator process;
 *   only the coordinator is killed (unless a test kills a participant), and a restarted one is a
 *   new node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { uniqueNamespace } from '../backends/redis/support.js';
import { checkHistory, mergeLines, type History, type Verdict } from './check.js';
import { readLedger, type LedgerPlace, type Phase } from './fixtures/ledger.js';
import type { GateRule, LogView, ReleaseAction, TxNodeConfig } from './fixtures/tx-node.js';
import { entered, SparePool, TxProcess, type TxEvent } from './tx-process.js';

export { figure } from '../backends/redis/support.js';

/** Short settings so that recovery happens within a second of a crash. */
export const TX_SETTINGS = { leaseMs: 600, recoveryInterval: 200, prepareTimeout: 10_000 };

export const RESOURCES = ['res-a', 'res-b', 'res-c'] as const;

export type BackendKind = 'embedded' | 'redis';

/** The processes of one crash scenario on one backend. */
export interface CrashRig {
  readonly kind: BackendKind;
  readonly resources: readonly string[];
  /** The live coordinator (on the embedded backend: the one process). */
  readonly coordinator: TxProcess;
  /** The process that holds `resource` now. */
  participant(resource: string): TxProcess;
  /** Forget the participants' past events (a test sharing the rig starts from here). */
  forget(): void;
  /** Resolves once the spare processes for restarts have loaded. */
  sparesWarm(): Promise<void>;
  /** The first event of any participant process that `match` accepts (bounded). */
  waitAny(match: (event: TxEvent) => boolean, what: string): Promise<TxEvent>;
  /** Hold phase entries matching the rules from now on (each process gets its resources' rules). */
  gate(rules: readonly GateRule[]): Promise<void>;
  /**
   * Stop holding phases, and let those held now go on with `action` (the participants that
   * outlived a killed coordinator; on the embedded backend they died with it).
   */
  releaseHeld(action: ReleaseAction): Promise<void>;
  /** kill -9 of the coordinator (embedded: the whole application), resolved once it is gone. */
  killCoordinator(): Promise<void>;
  /** Start a coordinator again (embedded: the application, on the same files). */
  restartCoordinator(): Promise<void>;
  /** kill -9 of one participant's process, and its restart (Redis only). */
  killParticipant(resource: string): Promise<void>;
  restartParticipant(resource: string, gate?: readonly GateRule[]): Promise<void>;
  /** Wait until the log says every one of `ids` finished (or never existed); bounded. */
  waitFinished(ids: readonly string[], ms?: number): Promise<void>;
  /** Everything the checker needs, read now (through the live coordinator). */
  history(): Promise<History>;
  close(): Promise<void>;
}

/** Poll the log through `node` until every transaction finished or has no record. */
async function pollFinished(node: TxProcess, ids: readonly string[], ms: number): Promise<void> {
  const giveUp = Date.now() + ms;
  let open: string[] = [...ids];
  while (open.length > 0) {
    const views = await node.inspect(open);
    open = open.filter((id) => views[id] !== null && views[id]?.finished !== true);
    if (open.length === 0) return;
    if (Date.now() > giveUp) {
      const sample = open.slice(0, 3).map((id) => `${id}: ${JSON.stringify(views[id])}`);
      throw new Error(
        `${open.length} transaction(s) not finished after ${ms} ms: ${sample.join('; ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

abstract class BaseRig {
  protected readonly incarnations: TxProcess[] = [];
  /** Warm processes for restarts (see SparePool). */
  protected pool: SparePool;

  constructor(spares: number) {
    this.pool = new SparePool(spares);
  }
  protected abstract readonly ledger: LedgerPlace;
  readonly resources: readonly string[] = RESOURCES;
  protected abstract current(): TxProcess;

  get coordinator(): TxProcess {
    return this.current();
  }

  abstract participant(resource: string): TxProcess;

  sparesWarm(): Promise<void> {
    return this.pool.warm();
  }

  forget(): void {
    for (const node of new Set(this.resources.map((r) => this.participant(r)))) node.forget();
  }

  waitAny(match: (event: TxEvent) => boolean, what: string): Promise<TxEvent> {
    const nodes = new Set(this.resources.map((resource) => this.participant(resource)));
    return Promise.any([...nodes].map((node) => node.waitFor(match, what)));
  }

  waitFinished(ids: readonly string[], ms = 20_000): Promise<void> {
    return pollFinished(this.current(), ids, ms);
  }

  protected abstract readLedgers(): Promise<Map<string, Awaited<ReturnType<typeof readLedger>>>>;

  async history(): Promise<History> {
    const caller = mergeLines(this.incarnations.map((p) => p.lines));
    const log: Record<string, LogView | null> = await this.current().inspect(caller.begun);
    return { caller, ledgers: await this.readLedgers(), log };
  }
}

class EmbeddedRig extends BaseRig implements CrashRig {
  readonly kind = 'embedded';
  private app!: TxProcess;
  protected readonly ledger: LedgerPlace;
  private readonly dir = mkdtempSync(join(tmpdir(), 'plugboard-txcrash-'));
  private restarts = 0;

  constructor(
    private readonly initialGate: readonly GateRule[],
    spares: number,
  ) {
    super(spares);
    this.ledger = { dir: this.dir };
  }

  private config(gate: readonly GateRule[]): TxNodeConfig {
    return {
      nodeId: 'app',
      backend: { logFile: join(this.dir, 'transactions.log') },
      resources: this.resources,
      ledger: this.ledger,
      transactions: TX_SETTINGS,
      gate,
    };
  }

  async start(): Promise<this> {
    this.app = await TxProcess.start(this.config(this.initialGate), this.pool);
    this.incarnations.push(this.app);
    return this;
  }

  protected current(): TxProcess {
    return this.app;
  }

  participant(): TxProcess {
    return this.app;
  }

  async gate(rules: readonly GateRule[]): Promise<void> {
    await this.app.run({ cmd: 'gate', rules });
  }

  async releaseHeld(action: ReleaseAction): Promise<void> {
    if (!this.app.alive) return;
    await this.gate([]);
    await this.app.releaseAll(action);
  }

  killCoordinator(): Promise<void> {
    return this.app.kill();
  }

  async restartCoordinator(): Promise<void> {
    this.restarts++;
    this.app = await TxProcess.start(this.config([]), this.pool);
    this.incarnations.push(this.app);
  }

  killParticipant(): Promise<void> {
    return Promise.reject(new Error('embedded: the participants live in the coordinator process'));
  }

  restartParticipant(): Promise<void> {
    return this.killParticipant();
  }

  protected async readLedgers() {
    const ledgers = new Map<string, Awaited<ReturnType<typeof readLedger>>>();
    for (const resource of this.resources)
      ledgers.set(resource, await readLedger(this.ledger, resource));
    return ledgers;
  }

  async close(): Promise<void> {
    await Promise.all([this.app?.stop(), this.pool.close()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class RedisRig extends BaseRig implements CrashRig {
  readonly kind = 'redis';
  private server!: RedisServer;
  private raw!: Redis;
  private readonly namespace = uniqueNamespace('txcrash');
  protected ledger!: LedgerPlace;
  private coord!: TxProcess;
  private readonly holders = new Map<string, TxProcess>();
  private readonly participantsEver: TxProcess[] = [];
  private coordinators = 0;
  private participantStarts = 0;

  constructor(
    private readonly initialGate: readonly GateRule[],
    spares: number,
  ) {
    super(spares);
  }

  private config(
    nodeId: string,
    resources: readonly string[],
    gate: readonly GateRule[],
  ): TxNodeConfig {
    return {
      nodeId,
      backend: { redis: this.server.url, namespace: this.namespace },
      resources,
      ledger: this.ledger,
      transactions: TX_SETTINGS,
      gate: gate.filter((rule) => rule.resource === undefined || resources.includes(rule.resource)),
    };
  }

  async start(): Promise<this> {
    this.server = await startRedisServer();
    this.raw = new Redis(this.server.url);
    this.ledger = { redis: this.server.url, prefix: this.namespace };
    await Promise.all(
      this.resources.map((resource) => this.restartParticipant(resource, this.initialGate)),
    );
    await this.restartCoordinator();
    return this;
  }

  protected current(): TxProcess {
    return this.coord;
  }

  participant(resource: string): TxProcess {
    const holder = this.holders.get(resource);
    if (holder === undefined) throw new Error(`no process holds ${resource}`);
    return holder;
  }

  async gate(rules: readonly GateRule[]): Promise<void> {
    await Promise.all(
      this.resources.map((resource) =>
        this.participant(resource).run({
          cmd: 'gate',
          rules: rules.filter((rule) => rule.resource === undefined || rule.resource === resource),
        }),
      ),
    );
  }

  async releaseHeld(action: ReleaseAction): Promise<void> {
    const live = [...this.holders.values()].filter((node) => node.alive);
    await Promise.all(live.map((node) => node.run({ cmd: 'gate', rules: [] })));
    await Promise.all(live.map((node) => node.releaseAll(action)));
  }

  killCoordinator(): Promise<void> {
    return this.coord.kill();
  }

  async restartCoordinator(): Promise<void> {
    this.coord = await TxProcess.start(
      this.config(`coordinator-${++this.coordinators}`, [], []),
      this.pool,
    );
    this.incarnations.push(this.coord);
  }

  killParticipant(resource: string): Promise<void> {
    return this.participant(resource).kill();
  }

  async restartParticipant(resource: string, gate: readonly GateRule[] = []): Promise<void> {
    const node = await TxProcess.start(
      this.config(`${resource}-${++this.participantStarts}`, [resource], gate),
      this.pool,
    );
    this.holders.set(resource, node);
    this.participantsEver.push(node);
  }

  protected async readLedgers() {
    const ledgers = new Map<string, Awaited<ReturnType<typeof readLedger>>>();
    for (const resource of this.resources)
      ledgers.set(resource, await readLedger(this.ledger, resource, this.raw));
    return ledgers;
  }

  async close(): Promise<void> {
    await Promise.all([
      ...[this.coord, ...this.holders.values()].map((node) => node?.stop()),
      this.pool.close(),
    ]);
    this.raw?.disconnect();
    await this.server?.stop();
  }
}

/** Start the rig of `kind` (gate rules in force in its participants from the start). */
export function startRig(
  kind: BackendKind,
  gate: readonly GateRule[] = [],
  spares = 1,
): Promise<CrashRig> {
  return kind === 'embedded'
    ? new EmbeddedRig(gate, spares).start()
    : new RedisRig(gate, spares).start();
}

/** Wait until `resource` enters `phase` (held or not), through the process holding it. */
export function waitEntered(
  rig: CrashRig,
  resource: string,
  phase: Phase,
  tx?: string,
): Promise<TxEvent> {
  return rig.participant(resource).waitFor(entered(resource, phase, tx), `${resource} ${phase}`);
}

/** Check the history; a readable failure message lists the first violations. */
export async function verdictOf(rig: CrashRig): Promise<Verdict> {
  return checkHistory(await rig.history());
}

/** A small seeded PRNG (mulberry32): the same seed picks the same crash points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of the randomized tests: `PB_TX_CRASH_SEED` replays a run, else a fresh one. */
export function crashSeed(): number {
  const fixed = process.env['PB_TX_CRASH_SEED'];
  if (fixed !== undefined && fixed !== '') return Number(fixed);
  return Math.floor(Math.random() * 2 ** 31);
}
