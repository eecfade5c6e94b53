// audit-plugin: subscribes to `**` (every event, any depth) and keeps a count per event name and
// publishing plugin, and to `plugin.error`, the event the host publishes when a handler,
// background task or activation fails. RPC `audit.report()` returns what it saw.
//
// A `**` subscriber also takes part in every plugin chain (`pluginChain.execute` runs all local
// subscribers of the event), so the handler calls `next()`: harmless in a plain publish, and
// it keeps a chain going. Priority -100 puts it after the other steps.

export default {
  /** @param {import('plugboard').PluginContext} context */
  activate(context) {
    /** @type {Record<string, number>} */
    const byEvent = {};
    /** @type {Record<string, number>} */
    const bySource = {};
    /** @type {Array<{ pluginId: string, event: string, error: string, code?: string }>} */
    const errors = [];
    let total = 0;

    context.eventBus.subscribe(
      '**',
      (_data, next, meta) => {
        total++;
        byEvent[meta.event] = (byEvent[meta.event] ?? 0) + 1;
        bySource[meta.source] = (bySource[meta.source] ?? 0) + 1;
        return next();
      },
      { priority: -100 },
    );

    context.eventBus.subscribe('plugin.error', (error) => {
      errors.push({
        pluginId: error.pluginId,
        event: error.event,
        error: error.error,
        code: error.code,
      });
      context.logger.info(
        { failed: error.pluginId, event: error.event, code: error.code },
        `plugin.error: ${error.error}`,
      );
      console.log(
        `  [audit]      plugin.error from ${error.pluginId} on ${error.event}: ${error.error}`,
      );
    });

    context.rpcServer.register('audit', {
      report: () => ({
        total,
        byEvent: { ...byEvent },
        bySource: { ...bySource },
        errors: [...errors],
      }),
    });
  },
};
