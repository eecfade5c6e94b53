// auth-plugin: RPC `auth.issueToken(userId)` / `auth.verify(token)`, and the first step of the
// `request.received` chain, which turns the request's token into a userId (the guide's
// "plugin A" of the plugin chain section).

/** Thrown by `auth.verify` (and the chain step) for an unknown token; its `code` crosses RPC. */
class InvalidTokenError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'InvalidTokenError';
    this.code = 'SHOP_AUTH_INVALID_TOKEN';
  }
}

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    const say = (/** @type {string} */ line) => console.log(`  [auth]       ${line}`);
    const prefix = String(context.options.tokenPrefix ?? 'tok');
    /** @type {Map<string, string>} token → userId */
    const sessions = new Map();
    let issued = 0;

    /** @param {string} token */
    const verify = (token) => {
      const userId = sessions.get(token);
      if (userId === undefined)
        throw new InvalidTokenError(`Token "${token}" is unknown or expired; sign in again.`);
      return { userId };
    };

    context.rpcServer.register('auth', {
      /** @param {string} userId */
      issueToken(userId) {
        const token = `${prefix}-${++issued}-${userId}`;
        sessions.set(token, userId);
        return token;
      },
      verify,
    });

    // Chain step: runs first (priority 100), adds `userId`, hands over with `await next()`.
    context.eventBus.subscribe(
      'request.received',
      async (data, next) => {
        data.userId = verify(data.token).userId;
        say(`${data.method} ${data.url}: token ok → userId ${data.userId}`);
        await next();
      },
      { priority: 100 },
    );
  },
};
