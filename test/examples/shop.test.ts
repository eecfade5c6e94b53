/**
 * The bundled example application (examples/shop): its scenario runs by itself and does what
 * its narration says. Once in-process through the host API (with a probe plugin that watches and
 * queries), once through the CLI as the README's quick start runs it (`start --once`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createHost, definePlugin } from '../../src/index.js';
import { runNode } from '../helpers/run-node.js';
import { tempDir } from '../host/helpers.js';
import type { PluginContext, PluginErrorEvent } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOP = join(ROOT, 'examples/shop');
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href;
const SHOP_PLUGINS = [
  'audit-plugin',
  'auth-plugin',
  'email-plugin',
  'fulfilment-plugin',
  'newsletter-plugin',
  'orders-plugin',
  'payments-plugin',
  'stock-plugin',
  'storefront-plugin',
  'users-plugin',
];

interface Summary {
  user: string;
  orders: { id: string; status: string; code?: string }[];
  paid: number;
  declined: number;
  welcomeEmails: number;
  tipsEmails: number;
  eventsAudited: number;
  userChanges: number;
  auditBatches: number;
  pluginErrors: number;
  shipped: { orderId: string; carrier: string }[];
  deadLetters: number;
  auditLogOk: boolean;
  auditLogEntries: number;
  denials: number;
}

/** The shop's key "shop-data" (fulfilment-plugin seals packing slips with it). */
const SHOP_KEY = randomBytes(32).toString('base64');

/** The summary line, with the parts every building block adds. */
const SUMMARY =
  /summary: 2 orders \(1 paid, 1 declined\), 1 welcome email, 1 tips email, audit saw \d+ events \(logged in \d+ batch(es)?\), 1 change in the users feed and 0 plugin errors; 1 order shipped, 1 dead letter in newsletter\.deliver, audit log verified \(\d+ entries, 1 denial\)/;

/** Reject after `ms` so a broken scenario fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

void describe('examples/shop', () => {
  void it(
    'runs its scenario in-process: user, chain, one paid and one declined order, one email, clean audit',
    { timeout: 20_000 },
    async () => {
      const lines: string[] = [];
      const log = console.log;
      console.log = (...args: unknown[]) => void lines.push(args.map(String).join(' '));

      let probe!: PluginContext;
      const errors: PluginErrorEvent[] = [];
      const emailsSent: unknown[] = [];
      let completed!: (summary: Summary) => void;
      const scenario = new Promise<Summary>((resolve) => (completed = resolve));
      const probePlugin = definePlugin({
        name: 'shop-probe',
        version: '1.0.0',
        activate(context) {
          probe = context;
          context.eventBus.subscribe(
            'plugin.error',
            (error) => void errors.push(error as PluginErrorEvent),
          );
          context.eventBus.subscribe('email.sent', (mail) => void emailsSent.push(mail));
          context.eventBus.once('shop.scenario.completed', (summary) =>
            completed(summary as Summary),
          );
        },
      });

      const host = await createHost({
        pluginDirectory: join(SHOP, 'plugins'),
        plugins: [probePlugin],
        logger: pino({ level: 'silent' }),
        keys: { 'shop-data': SHOP_KEY },
        transactions: { logFile: false },
      });
      try {
        const result = await host.start();
        assert.deepEqual(result.failed, []);
        assert.deepEqual(result.skipped, []);
        const started = host.health();
        assert.equal(started.ok, true, JSON.stringify(started.plugins, null, 2));
        assert.deepEqual(
          Object.keys(started.plugins).sort(),
          [...SHOP_PLUGINS, 'shop-probe'].sort(),
        );
        // The driver depends on every other shop plugin, so it starts last.
        assert.equal(started.levels.at(-1)?.includes('storefront-plugin'), true);

        const summary = await within(scenario, 10_000, 'shop.scenario.completed');
        assert.equal(summary.user, 'u-1');
        assert.deepEqual(summary.orders, [
          { id: 'o-1', status: 'paid', code: undefined },
          { id: 'o-2', status: 'declined', code: 'SHOP_PAYMENT_DECLINED' },
        ]);
        assert.equal(summary.paid, 1);
        assert.equal(summary.declined, 1);
        assert.equal(summary.welcomeEmails, 1);
        assert.equal(summary.tipsEmails, 1);
        assert.ok(summary.auditBatches >= 1, 'the audit log was written in batches');
        assert.equal(summary.pluginErrors, 0);
        assert.equal(summary.userChanges, 1, 'the audit watched the users change feed');
        // The paid order was packed (two-phase commit) and shipped (saga); the courier's breaker
        // opened and the fallback carrier took it.
        assert.deepEqual(summary.shipped, [
          { orderId: 'o-1', carrier: 'postal service (courier unavailable)' },
        ]);
        assert.equal(summary.deadLetters, 1, 'the undeliverable newsletter is a dead letter');
        assert.equal(summary.auditLogOk, true);
        assert.equal(summary.denials, 1, "the storefront's denied cache read was audited");

        // The user exists; the welcome email went out once (two mailers compete for one queue),
        // then the delayed tips email.
        const rpc = probe.rpcClient;
        const ada = { id: 'u-1', name: 'Ada Lovelace', email: 'ada@example.com' };
        assert.deepEqual(await rpc.call('users', 'get', ['u-1']), ada);
        // Orders looked Ada up through the multi-level cache: the shared tier holds her now.
        assert.deepEqual(await probe.cache.get('user:u-1'), ada);

        const outbox = (await rpc.call('email', 'outbox')) as {
          kind: string;
          to: string;
          subject: string;
          mailer: string;
        }[];
        assert.deepEqual(
          outbox.map((mail) => [mail.kind, mail.to, mail.subject]),
          [
            ['welcome', 'ada@example.com', 'Welcome, Ada Lovelace!'],
            ['tips', 'ada@example.com', 'Ada Lovelace, three tips for your first week'],
          ],
        );

        // The orders as the orders plugin keeps them.
        const orders = (await rpc.call('orders', 'list')) as {
          id: string;
          status: string;
          code?: string;
          chargeId?: string;
        }[];
        assert.deepEqual(
          orders.map((o) => [o.id, o.status, o.code ?? o.chargeId]),
          [
            ['o-1', 'paid', 'ch-1'],
            ['o-2', 'declined', 'SHOP_PAYMENT_DECLINED'],
          ],
        );

        // The paid order took its item from the stock ledger under a lock; the stalled writer's
        // late write (an older fencing token) was refused and changed nothing.
        assert.equal(await rpc.call('stock', 'level', ['mechanical-keyboard']), 4);
        assert.equal(await rpc.call('stock', 'level', ['tea-set']), 3, 'the declined order');
        const lock = await probe.lock.acquire('stock:kimono');
        await rpc.call('stock', 'write', [
          { sku: 'kimono', level: 1, fencingToken: lock.fencingToken },
        ]);
        await lock.release();
        const next = await probe.lock.acquire('stock:kimono');
        assert.ok(next.fencingToken > lock.fencingToken);
        await rpc.call('stock', 'write', [
          { sku: 'kimono', level: 0, fencingToken: next.fencingToken },
        ]);
        await next.release();
        await assert.rejects(
          rpc.call('stock', 'write', [
            { sku: 'kimono', level: 7, fencingToken: lock.fencingToken },
          ]),
          { name: 'StaleLockTokenError', code: 'SHOP_STALE_LOCK_TOKEN' },
        );
        assert.equal(await rpc.call('stock', 'level', ['kimono']), 0);

        // Fulfilment: the slot was taken by a committed transaction, the slip is sealed with
        // the host's key and opens again, the breaker is open, tracking is checked.
        assert.equal(await rpc.call('fulfilment', 'freeSlots'), 9);
        const shipments = (await rpc.call('fulfilment', 'shipments')) as {
          orderId: string;
          label: string;
          slip: string;
          opened: unknown;
        }[];
        assert.equal(shipments.length, 1);
        assert.equal(shipments[0]?.label, 'LBL-o-1');
        assert.match(shipments[0].slip, /^pb1\./);
        assert.deepEqual(shipments[0]?.opened, {
          orderId: 'o-1',
          userId: 'u-1',
          items: ['mechanical keyboard'],
        });
        assert.equal(probe.circuitBreakerFactory.get('courier')?.state, 'open');
        assert.deepEqual(await rpc.call('fulfilment', 'track', ['o-1', 'u-1']), {
          granted: true,
          shipment: 'postal service (courier unavailable)',
        });
        assert.equal(
          ((await rpc.call('fulfilment', 'track', ['o-1', 'u-2'])) as { granted: boolean }).granted,
          false,
        );
        // The dead letter is there to replay; a replay fails the same way and comes back.
        const [letter] = await probe.messageQueue.deadLetters('newsletter.deliver');
        assert.deepEqual(letter?.data, { to: 'nobody@bounce.invalid', issue: 1 });
        // The running shop keeps a trickle of events going.
        const viewed = await probe.eventBus.waitFor('catalog.viewed', { timeout: 3000 });
        assert.match((viewed.data as { visitor: string }).visitor, /^v-\d+$/);

        // What the audit plugin saw (`**`, plugin.error), including the chain run.
        const audit = (await rpc.call('audit', 'report')) as {
          total: number;
          byEvent: Record<string, number>;
          bySource: Record<string, number>;
          errors: unknown[];
          logged: number;
          batches: number;
          userChanges: unknown[];
          auditLog: { ok: boolean; denials: { actor: string; target: string }[] };
        };
        assert.equal(audit.auditLog.ok, true);
        assert.deepEqual(audit.auditLog.denials, [
          { actor: 'storefront-plugin', target: 'cache:read:user:u-1' },
        ]);
        assert.deepEqual(audit.errors, []);
        // The users change feed recorded Ada's creation, and the audit watched it, once.
        assert.deepEqual(audit.userChanges, [{ type: 'create', id: 'u-1', seq: 1 }]);
        // Every audited event reached the batched log, none dropped (the last batch may still wait).
        assert.ok(audit.logged <= audit.total && audit.batches >= 1);
        assert.equal(audit.byEvent['user.created'], 1);
        assert.equal(audit.byEvent['email.sent'], 2);
        assert.equal(audit.byEvent['request.received'], 1);
        assert.equal(audit.byEvent['order.created'], 2);
        assert.equal(audit.byEvent['order.paid'], 1);
        assert.equal(audit.byEvent['order.declined'], 1);
        assert.equal(audit.byEvent['payment.captured'], 1);
        assert.equal(audit.byEvent['payment.declined'], 1);
        assert.equal(audit.byEvent['shop.scenario.completed'], 1);
        assert.equal(audit.byEvent['order.shipped'], 1);
        assert.ok(
          (audit.byEvent['plugin.activated'] ?? 0) >= 6,
          'audit saw the plugins after it activate',
        );
        assert.equal(audit.bySource['users-plugin'], 1);

        // The typed error crosses orders → payments and reaches this caller with name and code.
        await assert.rejects(
          rpc.call('orders', 'place', [
            { userId: 'u-1', items: ['kimono'], amount: 99_000, currency: 'JPY' },
          ]),
          (error: Error & { code?: string }) => {
            assert.equal(error.name, 'PaymentDeclinedError');
            assert.equal(error.code, 'SHOP_PAYMENT_DECLINED');
            assert.match(error.message, /Yen Pay declined/);
            return true;
          },
        );
        // An unknown user is a typed error from users-plugin, passed through orders-plugin.
        await assert.rejects(
          rpc.call('orders', 'place', [{ userId: 'u-404', items: [], amount: 1, currency: 'EUR' }]),
          { name: 'UserNotFoundError', code: 'SHOP_USER_NOT_FOUND' },
        );
        // The chain refuses a request with a bad token, naming the plugin that threw.
        await assert.rejects(
          probe.pluginChain.execute('request.received', {
            method: 'GET',
            url: '/',
            token: 'forged',
          }),
          { code: 'SHOP_AUTH_INVALID_TOKEN', pluginId: 'auth-plugin' },
        );
        assert.deepEqual(errors, [], 'no plugin.error during the run');
      } finally {
        await host.stop();
        console.log = log;
      }

      // Still one welcome and one tips email once everything has finished (stop waits for the
      // messages in flight), and nothing failed while stopping either.
      assert.equal(emailsSent.length, 2);
      assert.deepEqual(errors, [], 'no plugin.error while stopping');

      // Every plugin stopped cleanly and let go of everything.
      const stopped = host.health();
      for (const plugin of Object.values(stopped.plugins)) {
        assert.equal(plugin.state, 'stopped', plugin.name);
        assert.equal(plugin.error, undefined, plugin.name);
        assert.deepEqual(plugin.unfinished, [], plugin.name);
        assert.deepEqual(
          plugin.holdings,
          {
            subscriptions: 0,
            registrations: 0,
            registryEntries: 0,
            timers: 0,
            background: 0,
            inFlight: 0,
            locks: 0,
            feedWatches: 0,
            cacheTiers: 0,
          },
          plugin.name,
        );
      }

      // The narration tells the same story, briefly.
      const story = lines.join('\n');
      // One member of the group took the event and queued the email once.
      assert.equal(
        lines.filter((line) => line.includes('queued the welcome email')).length,
        1,
        story,
      );
      assert.ok(
        lines.length >= 10 && lines.length <= 40,
        `narration has ${lines.length} lines:\n${story}`,
      );
      assert.match(story, /\[users\] +created u-1 Ada Lovelace <ada@example\.com>/);
      assert.match(story, /\[auth\] +POST \/api\/orders: token ok → userId u-1/);
      assert.match(
        story,
        /\[payments\] +€42\.50 → Stripe Payment \(discovered for EUR\): captured ch-1/,
      );
      assert.match(
        story,
        /\[storefront\] order refused with PaymentDeclinedError \[SHOP_PAYMENT_DECLINED\]/,
      );
      assert.match(
        story,
        /\[orders\] +o-1 for Ada Lovelace: paid \(ch-1\), stock left mechanical-keyboard 4/,
      );
      assert.match(
        story,
        /\[storefront\] a stalled writer's late stock write is refused: StaleLockTokenError \[SHOP_STALE_LOCK_TOKEN\]/,
      );
      assert.match(story, /\[email\] +mailer-\d sent "Welcome, Ada Lovelace!"/);
      assert.match(story, SUMMARY);
      assert.match(
        story,
        /\[fulfilment\] o-1 packed \(mechanical keyboard\): parcel slot reserved by two-phase commit/,
      );
      assert.match(story, /\[fulfilment\] breaker "courier": closed → open/);
      assert.match(
        story,
        /\[newsletter\] issue #1 to nobody@bounce\.invalid: no such mailbox, twice; a dead letter now/,
      );
      assert.match(story, /\[storefront\] may not read the user cache: PermissionDeniedError/);
    },
  );

  void it(
    'runs from the CLI as in the quick start (start --once) and exits 0',
    { timeout: 40_000 },
    async (t) => {
      // In a folder of its own: on the embedded backend the transaction log is
      // .plugboard/transactions.log under the working folder, and one log takes one host (a
      // shop started elsewhere from the repository at the same time would hold it).
      const { dir: cwd, cleanup } = await tempDir('plugboard-shop-');
      t.after(cleanup);
      const run = await runNode(
        ['--import', TSX, join(ROOT, 'src/cli/main.ts'), 'start', SHOP, '--once'],
        {
          cwd,
          env: { ...process.env, PLUGBOARD_LOG_LEVEL: 'warn', PLUGBOARD_KEY_SHOP_DATA: SHOP_KEY },
          killAfterMs: 30_000,
        },
      );
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, 0, output);
      assert.equal(run.stderr, '', 'no warnings or errors logged');
      assert.match(run.stdout, /10\/10 plugins active .* backend memory/);
      for (const name of SHOP_PLUGINS)
        assert.match(run.stdout, new RegExp(`✓ ${name}@\\d+\\.\\d+\\.\\d+ activated`));
      assert.match(
        run.stdout,
        /\[storefront\] order refused with PaymentDeclinedError \[SHOP_PAYMENT_DECLINED\]/,
      );
      assert.match(run.stdout, SUMMARY);
      assert.match(
        run.stdout,
        /o-1 shipped by postal service \(courier unavailable\), label LBL-o-1, slip sealed/,
      );
      // The scenario finished before the plugins it uses were stopped.
      const summaryAt = run.stdout.indexOf('summary:');
      for (const name of SHOP_PLUGINS) {
        const stoppedAt = run.stdout.indexOf(`■ ${name} stopped`);
        assert.ok(stoppedAt > summaryAt, `${name} stopped after the summary`);
        assert.doesNotMatch(
          run.stdout,
          new RegExp(`■ ${name} stopped in [^\\n]*\\(`),
          `${name} stopped cleanly`,
        );
      }
      assert.match(run.stdout, /plugboard: stopped in \d+ ms\./);
    },
  );
});
