/**
 * The dashboard in a real browser: headless Chromium (the Debian package `chromium`, driven by
 * playwright-core) against the example shop running in-process with two more plugins: a receipt
 * printer that is out of paper (every paid order's receipt goes to the `receipts` queue and is
 * dead-lettered until the printer is fixed) and a label printer that fails to start. The page is
 * built from the source first (into a scratch folder), then loaded with a token. It checks the
 * plugins (the failed one with its reason) and the dependency graph, that live events stream in
 * and the pattern filters them, that a dead letter is replayed (the printer gets it) and another
 * removed from the page, and that the stream reconnects after a server restart. It saves a
 * screenshot: `.tmp/dashboard.png`, or docs/images/dashboard.png (the README's) with
 * UPDATE_SCREENSHOT=1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { createHost, definePlugin, startDashboard } from '../../src/index.js';
import type { Dashboard, Host, PluginContext } from '../../src/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-test-token';
const WAIT = 10_000;

/** Poll `check` every 25 ms until it holds; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const giveUp = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > giveUp) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

void describe('dashboard in a browser (examples/shop)', { skip: !existsSync(CHROMIUM) }, () => {
  let ui: string;
  let host: Host;
  let printer!: PluginContext;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  let outOfPaper = true;
  const printed: string[] = [];
  let completed!: () => void;
  const scenario = new Promise<void>((resolve) => (completed = resolve));
  const log = console.log;

  const receiptsPlugin = definePlugin({
    name: 'receipts-plugin',
    version: '1.0.0',
    dependencies: { 'orders-plugin': '^1.0.0' },
    activate(context) {
      printer = context;
      context.eventBus.once('shop.scenario.completed', () => completed());
      context.eventBus.subscribe('order.paid', async (order) => {
        await context.messageQueue.send('receipts', { orderId: (order as { id: string }).id });
      });
      context.messageQueue.receive('receipts', async (message) => {
        if (outOfPaper) throw new Error('printer out of paper');
        const { orderId } = message.data as { orderId: string };
        printed.push(orderId);
        await context.eventBus.publish('receipt.printed', { orderId });
      });
    },
  });

  // A plugin that cannot start: the page shows it failed, with the reason.
  const labelPrinter = definePlugin({
    name: 'label-printer',
    version: '1.0.0',
    dependencies: { 'receipts-plugin': '^1.0.0' },
    activate() {
      throw new Error('no label printer attached');
    },
  });

  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(`http://127.0.0.1:${dashboard.port}${path}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200, path);
    return res.json();
  };
  const deadIds = async (): Promise<string[]> =>
    ((await api('/api/queues/receipts/dead')) as Array<{ id: string; data: { orderId: string } }>)
      .map((letter) => letter.data.orderId)
      .sort();

  before(async () => {
    ui = await mkdtemp(join(tmpdir(), 'pb-dash-browser-'));
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-dashboard.mjs'), ui]);
    console.log = () => undefined; // the shop narrates on stdout
    host = await createHost({
      pluginDirectory: join(ROOT, 'examples/shop/plugins'),
      plugins: [receiptsPlugin, labelPrinter],
      logger: pino({ level: 'silent' }),
      // Not the default ./.plugboard/transactions.log: an `npm start` running in the checkout holds it.
      transactions: { logFile: false },
    });
    const started = await host.start();
    assert.deepEqual(started.failed, ['label-printer']);
    await Promise.race([
      scenario,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no scenario')), WAIT)),
    ]);
    // The shop's paid order o-1 printed no receipt: dead-lettered.
    await until(
      async () => (await printer.messageQueue.stats('receipts')).dead === 1,
      WAIT,
      'the first dead letter',
    );
    dashboard = await startDashboard(host, { port: 0, uiDirectory: ui, token: TOKEN });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(WAIT);
    await page.goto(dashboard.url);
  });

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await host?.stop();
    console.log = log;
    await rm(ui, { recursive: true, force: true });
  });

  void it('shows every plugin active and draws the dependency graph', async () => {
    const plugins = host.plugins;
    const rows = page.locator('[data-testid=plugins] tbody tr');
    await rows.nth(plugins.length - 1).waitFor();
    assert.equal(await rows.count(), plugins.length);
    for (const plugin of plugins) {
      const row = page.locator(`[data-testid=plugins] tr[data-plugin="${plugin.name}"]`);
      const state = plugin.name === 'label-printer' ? 'failed' : 'active';
      assert.equal(await row.locator('.badge').textContent(), state, plugin.name);
    }
    assert.match(
      (await page.locator('tr[data-plugin="label-printer"] .reason').textContent()) ?? '',
      /no label printer attached/,
    );

    const graph = page.locator('svg[data-testid=dependency-graph]');
    assert.equal(await graph.locator('g[data-plugin]').count(), plugins.length);
    const edges = await graph
      .locator('path[data-edge]')
      .evaluateAll((paths) => paths.map((path) => path.getAttribute('data-edge')));
    const expected = plugins.flatMap((plugin) =>
      Object.keys(plugin.dependencies).map((dependency) => `${plugin.name}->${dependency}`),
    );
    assert.deepEqual(edges.sort(), expected.sort());
    // Layered by activation level: a plugin sits right of everything it depends on.
    const x = async (name: string) =>
      (await graph.locator(`g[data-plugin="${name}"]`).boundingBox())!.x;
    assert.ok((await x('users-plugin')) > (await x('auth-plugin')));
    assert.ok((await x('orders-plugin')) > (await x('users-plugin')));
    assert.ok((await x('receipts-plugin')) > (await x('orders-plugin')));
    assert.ok((await x('label-printer')) > (await x('receipts-plugin')));
    assert.equal(
      await graph.locator('g.state-failed').getAttribute('data-plugin'),
      'label-printer',
    );
  });

  void it('streams live events as they happen', async () => {
    await page.locator('[data-status=live]').waitFor();
    await printer.rpcClient.call('orders', 'place', [
      { userId: 'u-1', items: ['desk lamp'], amount: 30, currency: 'EUR' },
    ]);
    const paid = page.locator('[data-testid=live-events] li[data-event="order.paid"]');
    await paid.waitFor();
    assert.match((await paid.textContent()) ?? '', /orders-plugin/);
    // Its receipt is dead-lettered too, and the page lists both letters.
    await page.locator('[data-dead-queue=receipts] li[data-dead-letter]').nth(1).waitFor();
    assert.deepEqual(await deadIds(), ['o-1', 'o-3']);

    const screenshot =
      process.env['UPDATE_SCREENSHOT'] === '1'
        ? join(ROOT, 'docs/images/dashboard.png')
        : join(ROOT, '.tmp/dashboard.png');
    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = await readFile(screenshot);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), 1280, 'the screenshot is 1280 px wide');
  });

  void it('filters the stream by pattern, replays one dead letter and removes another', async () => {
    await page.locator('input[name=pattern]').fill('receipt.*');
    await page.locator('form.filter button[type=submit]').click();
    await page.locator('[data-status=live]', { hasText: 'receipt.*' }).waitFor();
    await page.locator('[data-testid=live-events] li[data-event]').first().waitFor({
      state: 'detached',
    });

    outOfPaper = false;
    const letter = (orderId: string) =>
      page.locator('[data-dead-queue=receipts] li[data-dead-letter]', { hasText: orderId });
    await letter('o-1').getByRole('button', { name: 'Replay' }).click();
    await until(() => printed.includes('o-1'), WAIT, 'the replayed receipt printed');
    await page.locator('[data-testid=live-events] li[data-event="receipt.printed"]').waitFor();
    await printer.eventBus.publish('order.noise', { ignored: true });
    await printer.eventBus.publish('receipt.test', { last: true });
    await page.locator('[data-testid=live-events] li[data-event="receipt.test"]').waitFor();
    const names = await page
      .locator('[data-testid=live-events] li[data-event]')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-event')));
    assert.deepEqual(names, ['receipt.test', 'receipt.printed']);
    assert.deepEqual(await deadIds(), ['o-3']);
    await letter('o-1').waitFor({ state: 'detached' });

    await letter('o-3').getByRole('button', { name: 'Remove' }).click();
    await until(async () => (await deadIds()).length === 0, WAIT, 'the removal');
    await page.locator('[data-dead-queue=receipts]').waitFor({ state: 'detached' });
    assert.deepEqual(printed, ['o-1'], 'a removed dead letter is not delivered');
  });

  void it('refuses the API without the token the page carries', async () => {
    const res = await fetch(`http://127.0.0.1:${dashboard.port}/api/overview`);
    assert.equal(res.status, 401);
    assert.equal(await page.locator('[role=alert]').count(), 0, 'the page shows no API error');
    assert.match((await page.locator('header').textContent()) ?? '', /1 failed/);
  });

  void it('reconnects the live stream when the server comes back', async () => {
    const port = dashboard.port;
    await dashboard.close();
    await page.locator('[data-status=retrying]').waitFor();
    dashboard = await startDashboard(host, { port, uiDirectory: ui, token: TOKEN });
    await page.locator('[data-status=live]').waitFor();
    await printer.eventBus.publish('receipt.after-restart', {});
    await page.locator('li[data-event="receipt.after-restart"]').waitFor();
    // The overview's polling recovers too.
    await page.locator('[role=alert]').waitFor({ state: 'detached' });
  });
});
