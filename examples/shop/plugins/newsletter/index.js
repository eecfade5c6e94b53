// newsletter-plugin: keeps a running shop busy, so there is always something to watch.
//
// - Every `viewEveryMs` a visitor views a catalog item: a `catalog.viewed` event.
// - Newsletters go through the queue `newsletter.deliver` with retries (`sendWithRetry`). The
//   address `nobody@bounce.invalid` never accepts mail: its delivery fails, is retried once, and
//   ends as a dead letter. One goes out at start and one every
//   `bounceEveryMs`, so a dead letter is there to inspect and replay (`plugboard queues dead`,
//   the dashboard, or `context.messageQueue.retryDeadLetter`): a replay fails the same way.

const QUEUE = 'newsletter.deliver';
const RETRY = { maxRetries: 1, delay: 20, backoff: 'fixed', jitter: false };

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [newsletter] ${line}`);
    const { viewEveryMs, bounceEveryMs, subscribers, catalog } =
      /** @type {{ viewEveryMs: number, bounceEveryMs: number, subscribers: string[], catalog: string[] }} */ (
        context.options
      );
    let views = 0;
    let delivered = 0;
    let issue = 0;

    context.messageQueue.receive(QUEUE, async (message) => {
      const { to, issue } = /** @type {{ to: string, issue: number }} */ (message.data);
      if (to.endsWith('.invalid')) {
        const final = message.attempt > RETRY.maxRetries;
        if (final) say(`issue #${issue} to ${to}: no such mailbox, twice; a dead letter now`);
        // MessageStatus.FAILED: the handler's own verdict (retried, then dead-lettered), not a
        // crash to report as plugin.error.
        return 'failed';
      }
      delivered++;
      await context.eventBus.publish('newsletter.delivered', { to, issue });
    });

    /** Send issue n to every subscriber (the undeliverable one included). */
    const sendIssue = async () => {
      issue++;
      for (const to of subscribers)
        await context.messageQueue.sendWithRetry(QUEUE, { to, issue }, RETRY);
    };

    context.background.run('first-issue', sendIssue);
    context.timers.setInterval(sendIssue, bounceEveryMs);
    context.timers.setInterval(async () => {
      views++;
      const sku = catalog[views % catalog.length];
      await context.eventBus.publish('catalog.viewed', { sku, visitor: `v-${views}` });
    }, viewEveryMs);

    context.rpcServer.register('newsletter', {
      async stats() {
        const queue = await context.messageQueue.stats(QUEUE);
        return { issues: issue, views, delivered, dead: queue.dead };
      },
    });
  },
};
