// audit-plugin: subscribes to `**` (every event, any depth) and keeps a count per event name and
// publishing plugin, and to `plugin.error`, the event the host publishes when a handler,
// background task or activation fails. RPC `audit.report()` returns what it saw.
//
// Every event also goes into an audit log through a batch processor (written 20 at a time, or
// 50 ms after the first waiting entry), and a repeating message (`messageQueue.repeat`, every
// `digestEveryMs`) prints a digest: on a cluster, each due time fires once, whichever processes
// run this plugin.
//
// It also watches the `users` change feed (`context.dataSync`) under the durable name `audit`:
// every change to an account, in order, once; a restarted audit resumes where it left off.
//
// A `**` subscriber also takes part in every plugin chain (`pluginChain.execute` runs all local
// subscribers of the event), so the handler calls `next()`: harmless in a plain publish, and
// it keeps a chain going. Priority -100 puts it after the other steps.

export default {
  /** @param {import('plugboard').PluginContext} context */
  async activate(context) {
    /** @type {Record<string, number>} */
    const byEvent = {};
    /** @type {Record<string, number>} */
    const bySource = {};
    /** @type {Array<{ pluginId: string, event: string, error: string, code?: string }>} */
    const errors = [];
    let total = 0;
    /** @type {Array<{ event: string, source: string }>} */
    const auditLog = [];
    let batchesWritten = 0;
    const { digestEveryMs } = /** @type {{ digestEveryMs: number }} */ (context.options);

    const log = context.batchProcessor.create('audit-log', { batchSize: 20, batchTimeout: 50 });
    log.on('batch', (entries) => {
      // Stands in for one bulk insert into an audit table.
      auditLog.push(...entries);
      batchesWritten++;
    });

    context.eventBus.subscribe(
      '**',
      async (_data, next, meta) => {
        total++;
        byEvent[meta.event] = (byEvent[meta.event] ?? 0) + 1;
        bySource[meta.source] = (bySource[meta.source] ?? 0) + 1;
        // Resolves once the entry is accepted (it waits only if 1,000 entries are pending).
        await log.add({ event: meta.event, source: meta.source });
        return next();
      },
      { priority: -100 },
    );

    /** @type {Array<{ type: string, id: string, seq: number }>} */
    const userChanges = [];
    context.dataSync.watch(
      'users',
      (change) => {
        userChanges.push({ type: change.type, id: String(change.id), seq: change.seq });
        console.log(`  [audit]      users feed #${change.seq}: ${change.type} ${change.id}`);
      },
      { name: 'audit', from: 'start' },
    );

    context.messageQueue.receive('audit.digest', () => {
      console.log(
        `  [audit]      digest: ${total} events seen, ${auditLog.length} logged in ${batchesWritten} batch${batchesWritten === 1 ? '' : 'es'}`,
      );
    });
    await context.messageQueue.repeat(
      'audit.digest',
      {},
      { every: digestEveryMs },
      { name: 'audit-digest' },
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
      // The host's audit log (lifecycle, permission denials), checked end to end.
      report: async () => ({
        auditLog: {
          ...(await context.auditLogger.verify()),
          denials: (await context.auditLogger.query({ action: 'permission.denied' })).map(
            (entry) => ({ actor: entry.actor, target: entry.target }),
          ),
        },
        total,
        userChanges: userChanges.map((change) => ({ ...change })),
        byEvent: { ...byEvent },
        bySource: { ...bySource },
        errors: [...errors],
        logged: auditLog.length,
        batches: batchesWritten,
      }),
    });
  },
};
