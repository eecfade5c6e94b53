import type { RuntimeInspection } from '../../context/inspection.js';
import type { Host } from '../../host/types.js';
import type { Overview } from '../api-types.js';

export type { Overview };

/**
 * The overview of `host` (plugins from the host; the rest from the runtime's cores when it runs:
 * nodes and services cluster-wide, queues from the shared store, breakers, locks and transactions
 * of this node).
 */
export async function buildOverview(
  host: Host,
  inspection: RuntimeInspection | undefined,
): Promise<Overview> {
  const health = host.health();
  const plugins = host.plugins.map((info) => {
    const plugin = health.plugins[info.name];
    return {
      name: info.name,
      version: info.version,
      state: plugin?.state ?? info.state,
      ...(plugin?.reason === undefined ? {} : { reason: plugin.reason }),
      level: plugin?.level ?? null,
      dependencies: { ...info.dependencies },
      permissions: info.permissions === undefined ? null : [...info.permissions],
    };
  });
  const overview: Overview = {
    nodeId: health.nodeId,
    backend: health.backend ?? null,
    status: health.status,
    nodes: [{ nodeId: health.nodeId, self: true }],
    plugins,
    services: [],
    queues: [],
    breakers: [],
    locks: [],
    transactions: { active: 0, recent: [] },
  };
  if (inspection === undefined) return overview;
  const nodeId = inspection.nodeId;
  const [nodes, queues] = await Promise.all([inspection.liveNodes(), inspection.workQueues.list()]);
  overview.nodes = [...new Set([nodeId, ...nodes])]
    .sort()
    .map((id) => ({ nodeId: id, self: id === nodeId }));
  overview.queues = queues.map((q) => ({ ...q }));
  overview.services = inspection.services().map((status) => ({
    name: status.service,
    instances: status.instances.map((i) => ({
      id: i.registrationId,
      nodeId: i.nodeId,
      pluginId: i.pluginId,
      methods: [...i.methods],
    })),
  }));
  overview.breakers = inspection.breakers().map((b) => ({
    name: b.name,
    state: b.state,
    nodeId,
    failures: b.failuresTotal,
    successes: b.successesTotal,
  }));
  overview.locks = inspection.locks().map((lock) => ({
    resource: lock.resource,
    nodeId,
    pluginId: lock.pluginId,
    expiresAt: lock.expiresAt,
  }));
  const tx = inspection.transactions();
  overview.transactions = {
    active: tx.active,
    recent: tx.recent.map((t) => ({
      ...t,
      ...(t.state === 'committed'
        ? { decision: 'commit' as const }
        : t.state === 'aborted'
          ? { decision: 'abort' as const }
          : {}),
    })),
  };
  return overview;
}
