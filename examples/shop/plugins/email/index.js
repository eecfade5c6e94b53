// email-plugin: welcome emails through a work queue, and a delayed follow-up.
//
// `user.created` is answered at once (the "202 Accepted" pattern): the handler only puts the
// work on the `email.welcome` queue and schedules a tips email for later with `sendDelayed`.
// Two mailers receive from the queue as competing consumers, so each message is sent by exactly
// one of them (across every process on Redis). The send's `id` makes it idempotent: the same
// user never gets two welcome emails, even if `user.created` is delivered twice. A failed send
// would be retried by the queue, and a message nobody manages to send ends in the dead letters.

import { setTimeout as sleep } from 'node:timers/promises';

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [email]      ${line}`);
    const { from, mailers, sendDelayMs, tipsDelayMs } =
      /** @type {{ from: string, mailers: string[], sendDelayMs: number, tipsDelayMs: number }} */ (
        context.options
      );
    /** @type {Array<{ kind: string, to: string, subject: string, mailer: string }>} */
    const outbox = [];

    context.eventBus.subscribe(
      'user.created',
      async (user) => {
        const mail = { to: user.email, name: user.name };
        const id = await context.messageQueue.send('email.welcome', mail, {
          id: `welcome:${user.id}`,
        });
        await context.messageQueue.sendDelayed('email.tips', mail, tipsDelayMs);
        say(`queued the welcome email for ${user.email} as ${id} (202), tips in ${tipsDelayMs} ms`);
      },
      // One enqueue per user across the cluster (the idempotent send would also catch a repeat).
      { group: 'email' },
    );

    /**
     * A receiver that "sends" one kind of email; `message.signal` aborts it if the plugin stops.
     * @param {string} mailer
     * @param {string} kind
     * @param {(name: string) => string} subject
     */
    const sender =
      (mailer, kind, subject) =>
      async (
        /** @type {import('plugboard').QueueMessage<{ to: string, name: string }>} */ message,
      ) => {
        await sleep(sendDelayMs, undefined, { signal: message.signal });
        const mail = { kind, to: message.data.to, subject: subject(message.data.name), mailer };
        outbox.push(mail);
        say(`${mailer} sent "${mail.subject}" from ${from} to ${mail.to}`);
        await context.eventBus.publish('email.sent', mail);
        // Returning nothing acknowledges, like returning MessageStatus.SUCCESS.
      };

    for (const mailer of mailers) {
      context.messageQueue.receive(
        'email.welcome',
        sender(mailer, 'welcome', (name) => `Welcome, ${name}!`),
      );
    }
    context.messageQueue.receive(
      'email.tips',
      sender(mailers[0] ?? 'mailer', 'tips', (name) => `${name}, three tips for your first week`),
    );

    context.rpcServer.register('email', { outbox: () => outbox.map((mail) => ({ ...mail })) });
  },
};
