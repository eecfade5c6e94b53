import type { ComponentChildren } from 'preact';
import { BreakersPanel, LocksPanel, ServicesPanel, TransactionsPanel } from './cluster-panels';
import { DependencyGraph } from './dependency-graph';
import { clock, short } from './format';
import { LiveEvents } from './live-events';
import { PluginsTable } from './plugins-table';
import { QueuesPanel } from './queues-panel';
import { useOverview } from './use-overview';

/** The whole page: a header, the host's blocks on the left, the live events on the right. */
export function App() {
  const { data, error, updatedAt, refresh } = useOverview(2000);
  const failed = data?.plugins.filter((plugin) => plugin.state === 'failed').length ?? 0;
  return (
    <div class="page">
      <header>
        <h1>Plugboard</h1>
        {data !== undefined && (
          <dl class="facts">
            <dt>node</dt>
            <dd title={data.nodeId}>{short(data.nodeId, 12)}</dd>
            <dt>backend</dt>
            <dd>{data.backend ?? '–'}</dd>
            <dt>status</dt>
            <dd>
              <span class={`badge status-${data.status}`}>{data.status}</span>
            </dd>
            <dt>nodes</dt>
            <dd>{data.nodes.length}</dd>
            <dt>plugins</dt>
            <dd>
              {data.plugins.length}
              {failed > 0 && <span class="alert"> ({failed} failed)</span>}
            </dd>
          </dl>
        )}
        <span class="updated">
          {error !== undefined ? (
            <span class="alert" role="alert">
              {error}
            </span>
          ) : updatedAt !== undefined ? (
            `updated ${clock(updatedAt)}`
          ) : (
            'loading…'
          )}
        </span>
      </header>
      <main>
        <div class="column">
          <Panel title="Dependency graph">
            {data && <DependencyGraph plugins={data.plugins} />}
          </Panel>
          <Panel title="Plugins">{data && <PluginsTable plugins={data.plugins} />}</Panel>
          <Panel title="Queues">
            {data && <QueuesPanel queues={data.queues} onChange={refresh} />}
          </Panel>
          <Panel title="Services">{data && <ServicesPanel services={data.services} />}</Panel>
          <div class="row">
            <Panel title="Circuit breakers">
              {data && <BreakersPanel breakers={data.breakers} />}
            </Panel>
            <Panel title="Locks">{data && <LocksPanel locks={data.locks} />}</Panel>
            <Panel title="Transactions">
              {data && <TransactionsPanel transactions={data.transactions} />}
            </Panel>
          </div>
        </div>
        <aside class="column">
          <Panel title="Live events" grow>
            <LiveEvents />
          </Panel>
        </aside>
      </main>
    </div>
  );
}

function Panel({
  title,
  grow = false,
  children,
}: {
  title: string;
  grow?: boolean;
  children: ComponentChildren;
}) {
  return (
    <section class={`panel ${grow ? 'grow' : ''}`} aria-label={title}>
      <h2>{title}</h2>
      {children ?? <p class="empty">loading…</p>}
    </section>
  );
}
