// users-plugin: customer accounts. Depends on auth-plugin (it asks auth for a session token when
// an account is created), announces every new account as `user.created`, and records each
// change to an account in the `users` change feed (`context.dataSync`), which the audit plugin watches.

class UserNotFoundError extends Error {
  /** @param {string} id */
  constructor(id) {
    super(`No user "${id}"; create it with users.create({ name, email }) first.`);
    this.name = 'UserNotFoundError';
    this.code = 'SHOP_USER_NOT_FOUND';
  }
}

class InvalidUserError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'InvalidUserError';
    this.code = 'SHOP_USER_INVALID';
  }
}

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [users]      ${line}`);
    /** @type {Map<string, { id: string, name: string, email: string }>} */
    const users = new Map();

    context.rpcServer.register('users', {
      /** @param {{ name: string, email: string }} input */
      async create(input) {
        if (typeof input?.name !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(input?.email ?? '')) {
          throw new InvalidUserError(
            'users.create needs { name, email } with a valid email address.',
          );
        }
        const user = { id: `u-${users.size + 1}`, name: input.name, email: input.email };
        users.set(user.id, user);
        const token = await context.rpcClient.call('auth', 'issueToken', [user.id]);
        say(`created ${user.id} ${user.name} <${user.email}>`);
        // Plain publish: every subscriber gets it (the email plugin shares it within its group).
        // In one process subscribers get the object itself, so hand out copies, not our record.
        await context.eventBus.publish('user.created', { ...user });
        // The change feed keeps the change (numbered, in order) for watchers that come later.
        await context.dataSync.publish('users', { type: 'create', id: user.id, data: { ...user } });
        return { user: { ...user }, token };
      },
      /** @param {string} id */
      get(id) {
        const user = users.get(id);
        if (user === undefined) throw new UserNotFoundError(id);
        return { ...user };
      },
      count: () => users.size,
    });
  },
};
