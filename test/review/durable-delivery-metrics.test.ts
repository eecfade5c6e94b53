// Events delivered to durable subscriptions are deliveries too: they count in
// `plugboard_events_delivered_total` and their handlers are timed, as plain subscriptions' are.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Host, PluginContext } from '../../src/index.js';
import { waitFor } from '../backends/redis/support.js';
import { startHost } from '../observability/support.js';

void describe('metrics of durable deliveries', () => {
  let host: Host;
  let a: PluginContext;
  let b: PluginContext;
  before(async () => {
    const started = await startHost(['durable-a', 'durable-b']);
    host = started.host;
    a = started.ctx['durable-a']!;
    b = started.ctx['durable-b']!;
  });
  after(() => host.stop());

  void it('counts a durable delivery and times its handler', async () => {
    let handled = 0;
    const sub = b.eventBus.subscribe(
      'invoice.paid',
      () => {
        handled++;
      },
      { group: 'billing', durable: true },
    );
    await sub.ready;
    await a.eventBus.publish('invoice.paid', { id: 1 });
    await waitFor(async () => handled === 1, 5000, 'the durable delivery');
    const { events } = await host.metrics();
    assert.equal(events['invoice.paid']?.published, 1);
    assert.equal(events['invoice.paid']?.delivered, 1);
    assert.equal(events['invoice.paid']?.handlerLatency.count, 1);
    sub.unsubscribe();
  });
});
