import type { HostHealth, LifecycleEvent } from '../host/types.js';

/** Turns host lifecycle events into short lines a person can follow. */
export class Narrator {
  constructor(private readonly write: (line: string) => void) {}

  /** One line per plugin lifecycle event (nothing for `activating`). */
  event(event: LifecycleEvent): void {
    switch (event.type) {
      case 'activating':
        return;
      case 'activated':
        this.write(`  ✓ ${event.plugin}@${event.version} activated in ${ms(event.durationMs)}`);
        return;
      case 'failed':
        // The message names the plugin already ("Plugin "x" failed to activate: ...").
        this.write(
          `  ✗ ${event.error.message} (after ${ms(event.durationMs)}) [${event.error.code}]`,
        );
        return;
      case 'skipped':
        this.write(`  - ${event.plugin} not started: ${event.reason}`);
        return;
      case 'stopped': {
        const problems = [
          ...(event.error === undefined ? [] : [`${event.error.message} [${event.error.code}]`]),
          ...(event.unfinished.length === 0
            ? []
            : [`still running: ${event.unfinished.join(', ')}`]),
        ];
        this.write(
          `  ■ ${event.plugin} stopped in ${ms(event.durationMs)}${problems.length === 0 ? '' : ` (${problems.join('; ')})`}`,
        );
        return;
      }
    }
  }

  /** The summary after `start()`. */
  started(health: HostHealth): void {
    const plugins = Object.values(health.plugins);
    const active = plugins.filter((p) => p.state === 'active').length;
    const failed = plugins.filter((p) => p.state === 'failed').length;
    const skipped = plugins.filter((p) => p.state === 'skipped').length;
    const problems = [
      failed > 0 ? `${failed} failed` : '',
      skipped > 0 ? `${skipped} not started` : '',
    ].filter(Boolean);
    this.write(
      `plugboard: ${active}/${plugins.length} plugins active${problems.length > 0 ? ` (${problems.join(', ')})` : ''} ` +
        `in ${ms(health.startMs ?? 0)} on node ${health.nodeId}, backend ${health.backend ?? 'none'}`,
    );
  }
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}
