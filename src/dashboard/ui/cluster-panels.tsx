import type { BreakerRow, LockRow, Overview } from './api';
import { relative, short } from './format';

/** Services and their instances, grouped by node. */
export function ServicesPanel({ services }: { services: Overview['services'] }) {
  if (services.length === 0) return <p class="empty">No services registered.</p>;
  return (
    <table data-testid="services">
      <thead>
        <tr>
          <th>Service</th>
          <th>Instances</th>
        </tr>
      </thead>
      <tbody>
        {services.map((service) => (
          <tr key={service.name}>
            <td class="name">{service.name}</td>
            <td>
              {service.instances.map((instance) => (
                <div class="instance" key={instance.id}>
                  <span class="chip" title={instance.nodeId}>
                    node {short(instance.nodeId)}
                  </span>
                  {instance.pluginId !== undefined && (
                    <span class="muted"> {instance.pluginId}</span>
                  )}
                  {instance.methods !== undefined && instance.methods.length > 0 && (
                    <span class="methods"> · {instance.methods.join(', ')}</span>
                  )}
                </div>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Circuit breakers and their state. */
export function BreakersPanel({ breakers }: { breakers: BreakerRow[] }) {
  if (breakers.length === 0) return <p class="empty">No circuit breakers.</p>;
  return (
    <table data-testid="breakers">
      <thead>
        <tr>
          <th>Breaker</th>
          <th>State</th>
          <th class="num">Failures</th>
          <th class="num">Successes</th>
        </tr>
      </thead>
      <tbody>
        {breakers.map((breaker) => (
          <tr key={`${breaker.nodeId}/${breaker.name}`}>
            <td class="name" title={`node ${breaker.nodeId}`}>
              {breaker.name}
            </td>
            <td>
              <span class={`badge breaker-${breaker.state}`}>{breaker.state}</span>
            </td>
            <td class="num">{breaker.failures ?? '–'}</td>
            <td class="num">{breaker.successes ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Locks held right now. */
export function LocksPanel({ locks }: { locks: LockRow[] }) {
  if (locks.length === 0) return <p class="empty">No locks held.</p>;
  return (
    <table data-testid="locks">
      <thead>
        <tr>
          <th>Resource</th>
          <th>Holder</th>
          <th>Expires</th>
        </tr>
      </thead>
      <tbody>
        {locks.map((lock) => (
          <tr key={lock.resource}>
            <td class="name">{lock.resource}</td>
            <td class="muted">{lock.pluginId ?? (lock.nodeId ? short(lock.nodeId) : '–')}</td>
            <td>{lock.expiresAt === undefined ? '–' : relative(lock.expiresAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Transactions in progress and the last ones decided. */
export function TransactionsPanel({ transactions }: { transactions: Overview['transactions'] }) {
  return (
    <div data-testid="transactions">
      <p class="muted">{transactions.active} active</p>
      {transactions.recent.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Transaction</th>
              <th>State</th>
              <th class="num">Participants</th>
              <th>Started</th>
            </tr>
          </thead>
          <tbody>
            {transactions.recent.map((tx) => (
              <tr key={tx.id}>
                <td class="name" title={tx.id}>
                  {short(tx.id, 12)}
                </td>
                <td>
                  <span class={`badge tx-${tx.decision ?? tx.state}`}>
                    {tx.state}
                    {tx.decision !== undefined && tx.decision !== tx.state && ` (${tx.decision})`}
                  </span>
                </td>
                <td class="num">{tx.participants}</td>
                <td>{relative(tx.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
