import type { PluginRow } from './api';

/**
 * Plugins with version, level, state (and why one failed), what they depend on and how many
 * capabilities they declare (the list in a tooltip).
 */
export function PluginsTable({ plugins }: { plugins: PluginRow[] }) {
  if (plugins.length === 0) return <p class="empty">No plugins.</p>;
  return (
    <table data-testid="plugins">
      <thead>
        <tr>
          <th>Plugin</th>
          <th>Version</th>
          <th>Level</th>
          <th>State</th>
          <th>Depends on</th>
          <th class="num">Permissions</th>
        </tr>
      </thead>
      <tbody>
        {plugins.map((plugin) => (
          <tr key={plugin.name} data-plugin={plugin.name}>
            <td class="name">{plugin.name}</td>
            <td>{plugin.version}</td>
            <td>{plugin.level ?? '–'}</td>
            <td>
              <span class={`badge state-${plugin.state}`}>{plugin.state}</span>
              {plugin.reason !== undefined && <div class="reason">{plugin.reason}</div>}
            </td>
            <td class="muted">
              {Object.entries(plugin.dependencies)
                .map(([name, range]) => `${name} ${range}`)
                .join(', ') || '–'}
            </td>
            <td class="num muted" title={plugin.permissions?.join('\n') ?? 'no list declared'}>
              {plugin.permissions === null ? 'none' : plugin.permissions.length}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
