import type { PluginScope, Releasable } from '../context/plugin-scope.js';
import { ValidationError } from '../errors/errors.js';
import { assertName } from '../util/names.js';
import { runAsPlugin } from '../util/plugin-attribution.js';
import { batchSettings } from './batch-options.js';
import { BatchProcessorImpl } from './batch-processor.js';
import type { BatchProcessors } from './types.js';

/**
 * `context.batchProcessor` of one plugin. Each processor is held in the plugin's scope: when the
 * plugin stops it is closed (flushed), and while it holds items it counts as background work, so
 * the host's stop waits for them within its bound and names the processor if they are not done.
 * A batch that fails for good is reported through `report` (as `plugin.error`).
 */
export function createBatchProcessors(
  scope: PluginScope,
  report: (name: string, error: unknown) => void,
): BatchProcessors {
  const open = new Set<string>();
  return {
    create<T>(name: string, options: Parameters<BatchProcessors['create']>[1]) {
      scope.assertOpen(`creating batch processor "${String(name)}"`);
      assertName(name, 'A batch processor name');
      if (open.has(name)) {
        throw new ValidationError(
          `Batch processor "${name}" exists already in plugin "${scope.pluginId}"; close it first or pick another name.`,
          { details: { name } },
        );
      }
      const settings = batchSettings(name, options);
      const held: Releasable = {
        kind: 'batchProcessor',
        // Not awaited: the scope waits for the processor's work with its own bound.
        release: () => void processor.close(),
      };
      const processor: BatchProcessorImpl<T> = new BatchProcessorImpl<T>(name, settings, {
        logger: scope.logger,
        invoke: (fn, ...args) => runAsPlugin(scope.tag, fn, ...args),
        report: (error) => report(name, error),
        track: () => scope.startBackground(`batch processor ${name}`),
        abandoned: () => scope.closed,
        onClosed: () => {
          open.delete(name);
          scope.drop(held);
        },
      });
      open.add(name);
      scope.hold(held);
      return processor;
    },
  };
}
