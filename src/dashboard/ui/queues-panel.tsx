import { useEffect, useState } from 'preact/hooks';
import {
  deadLetters,
  removeDeadLetter,
  replayDeadLetter,
  type DeadLetter,
  type QueueRow,
} from './api';
import { clock, preview, short } from './format';

/**
 * Queues with their depth, and under each queue that has dead letters, the letters themselves
 * with Replay (back to the queue's consumers) and Remove buttons.
 */
export function QueuesPanel({ queues, onChange }: { queues: QueueRow[]; onChange: () => void }) {
  if (queues.length === 0) return <p class="empty">No queues.</p>;
  return (
    <div>
      <table data-testid="queues">
        <thead>
          <tr>
            <th>Queue</th>
            <th class="num">Waiting</th>
            <th class="num">Delayed</th>
            <th class="num">In flight</th>
            <th class="num">Dead</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.name} data-queue={queue.name}>
              <td class="name">{queue.name}</td>
              <td class="num">{queue.waiting}</td>
              <td class="num">{queue.delayed}</td>
              <td class="num">{queue.inFlight}</td>
              <td class={`num ${queue.dead > 0 ? 'alert' : ''}`}>{queue.dead}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {queues
        .filter((queue) => queue.dead > 0)
        .map((queue) => (
          <DeadLetters key={queue.name} queue={queue.name} count={queue.dead} onChange={onChange} />
        ))}
    </div>
  );
}

/** The dead letters of one queue, fetched again whenever the queue's count changes. */
function DeadLetters({
  queue,
  count,
  onChange,
}: {
  queue: string;
  count: number;
  onChange: () => void;
}) {
  const [letters, setLetters] = useState<DeadLetter[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<string>();
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    deadLetters(queue, 20).then(
      (list) => {
        if (!live) return;
        setLetters(list);
        setError(undefined);
      },
      (failure: unknown) => live && setError(String(failure)),
    );
    return () => {
      live = false;
    };
  }, [queue, count, version]);

  const act = async (id: string, action: 'replay' | 'remove') => {
    setBusy(id);
    try {
      if (action === 'replay') await replayDeadLetter(queue, id);
      else await removeDeadLetter(queue, id);
      setLetters((list) => list.filter((letter) => letter.id !== id));
      setError(undefined);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(undefined);
      setVersion((v) => v + 1);
      onChange();
    }
  };

  return (
    <section class="dead-letters" data-dead-queue={queue}>
      <h3>
        Dead letters of <code>{queue}</code> <span class="muted">({count})</span>
      </h3>
      {error !== undefined && <p class="warning">{error}</p>}
      <ul>
        {letters.map((letter) => (
          <li key={letter.id} data-dead-letter={letter.id}>
            <div class="letter-head">
              <code title={letter.id}>{short(letter.id, 16)}</code>
              <span class="muted">
                attempt {letter.attempt} · {clock(letter.failedAt)}
              </span>
              <span class="actions">
                <button
                  type="button"
                  disabled={busy === letter.id}
                  onClick={() => void act(letter.id, 'replay')}
                >
                  Replay
                </button>
                <button
                  type="button"
                  class="secondary"
                  disabled={busy === letter.id}
                  onClick={() => void act(letter.id, 'remove')}
                >
                  Remove
                </button>
              </span>
            </div>
            <div class="reason">{letter.reason}</div>
            <code class="data">{preview(letter.data)}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}
