import type { BackendOption } from '../backends/resolve.js';
import type { HostOptions } from '../host/types.js';
import type { CliConfig } from './config.js';

/** The backend `plugboard start` uses: Redis when one is configured, else memory. */
export function backendFromConfig(config: CliConfig): BackendOption {
  if (config.redis === undefined) return 'memory';
  return {
    redis: config.redis,
    ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
    ...(config.livenessTtl === undefined ? {} : { livenessTtl: config.livenessTtl }),
    ...(config.operationTimeout === undefined ? {} : { operationTimeout: config.operationTimeout }),
  };
}

/** The host options the configuration sets (node id, limits, start and stop bounds). */
export function hostOptionsFromConfig(
  config: CliConfig,
): Pick<HostOptions, 'nodeId' | 'limits' | 'startTimeout' | 'stopTimeout'> {
  const limits = {
    ...(config.rpcTimeout === undefined ? {} : { rpcTimeout: config.rpcTimeout }),
    ...(config.handlerTimeout === undefined ? {} : { handlerTimeout: config.handlerTimeout }),
  };
  return {
    ...(config.nodeId === undefined ? {} : { nodeId: config.nodeId }),
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
    ...(config.startTimeout === undefined ? {} : { startTimeout: config.startTimeout }),
    ...(config.stopTimeout === undefined ? {} : { stopTimeout: config.stopTimeout }),
  };
}
