// email-plugin: sends a welcome email for each `user.created`. Two mailers subscribe with the
// same `group`, so each new user is handled by exactly one of them (across the whole cluster on
// Redis). The handler only accepts the work (the "202 Accepted" pattern); the sending runs in
// `context.background`, which the host tracks and waits for when it stops.

import { setTimeout as sleep } from 'node:timers/promises';

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [email]      ${line}`);
    const { from, mailers, sendDelayMs } =
      /** @type {{ from: string, mailers: string[], sendDelayMs: number }} */ (context.options);
    /** @type {Array<{ to: string, subject: string, mailer: string }>} */
    const outbox = [];

    for (const mailer of mailers) {
      context.eventBus.subscribe(
        'user.created',
        (user) => {
          say(
            `${mailer} accepted the welcome email for ${user.email} (202, sending in background)`,
          );
          context.background.run(`welcome-email:${user.id}`, async (signal) => {
            // Stands in for the SMTP round trip; `signal` aborts it if the plugin is stopped.
            await sleep(sendDelayMs, undefined, { signal });
            const mail = { to: user.email, subject: `Welcome, ${user.name}!`, mailer };
            outbox.push(mail);
            say(`${mailer} sent "${mail.subject}" from ${from} to ${mail.to}`);
            await context.eventBus.publish('email.sent', mail);
          });
        },
        { group: 'mailers' },
      );
    }

    context.rpcServer.register('email', { outbox: () => outbox.map((mail) => ({ ...mail })) });
  },
};
