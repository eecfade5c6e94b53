import { useEffect, useRef, useState } from 'preact/hooks';
import { eventsUrl, type LiveEvent } from './api';
import { clock, preview, short } from './format';

const KEEP = 200;
const MAX_RETRY_MS = 10_000;

type Status =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'retrying'; inMs: number }
  | { kind: 'refused'; message: string };

/**
 * The live stream of events (server-sent events from `api/events`), newest first, filtered by an
 * event pattern (`order.*`, `**`). A lost stream is reopened with a growing delay; a pattern the
 * server refuses is shown, not retried.
 */
export function LiveEvents() {
  const [pattern, setPattern] = useState('**');
  const [draft, setDraft] = useState('**');
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [status, setStatus] = useState<Status>({ kind: 'connecting' });
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    let source: EventSource | undefined;
    let timer: number | undefined;
    let delay = 500;
    let closed = false;

    const open = () => {
      setStatus({ kind: 'connecting' });
      source = new EventSource(eventsUrl(pattern));
      source.onopen = () => {
        delay = 500;
        setStatus({ kind: 'live' });
      };
      source.addEventListener('event', (message: MessageEvent<string>) => {
        if (pausedRef.current) return;
        const event = JSON.parse(message.data) as LiveEvent;
        setEvents((list) => [event, ...list].slice(0, KEEP));
      });
      source.onerror = () => {
        source?.close();
        if (!closed) void diagnose();
      };
    };

    // EventSource hides the HTTP status: ask once, so a refused pattern or token is said plainly.
    const diagnose = async () => {
      const controller = new AbortController();
      let refused: string | undefined;
      try {
        const res = await fetch(eventsUrl(pattern), { signal: controller.signal });
        if (res.status >= 400 && res.status < 500) {
          const body = (await res.json().catch(() => ({}))) as { error?: string };
          refused = body.error ?? `HTTP ${res.status}`;
        }
      } catch {
        // Unreachable server: retry below.
      } finally {
        controller.abort();
      }
      if (closed) return;
      if (refused !== undefined) {
        setStatus({ kind: 'refused', message: refused });
        return;
      }
      setStatus({ kind: 'retrying', inMs: delay });
      timer = window.setTimeout(open, delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    };

    open();
    return () => {
      closed = true;
      window.clearTimeout(timer);
      source?.close();
    };
  }, [pattern]);

  return (
    <div class="live-events" data-testid="live-events">
      <form
        class="filter"
        onSubmit={(event) => {
          event.preventDefault();
          const next = draft.trim() || '**';
          setEvents([]);
          setPattern(next);
        }}
      >
        <input
          name="pattern"
          aria-label="Event pattern"
          value={draft}
          placeholder="order.* or **"
          onInput={(event) => setDraft(event.currentTarget.value)}
        />
        <button type="submit">Filter</button>
        <button type="button" class="secondary" onClick={() => setPaused((p) => !p)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" class="secondary" onClick={() => setEvents([])}>
          Clear
        </button>
      </form>
      <p class={`stream-status ${status.kind}`} data-status={status.kind}>
        {describe(status, pattern)}
      </p>
      {events.length === 0 ? (
        <p class="empty">Waiting for events matching {pattern}…</p>
      ) : (
        <ol class="events">
          {events.map((event, index) => (
            <li
              key={`${event.time}-${event.traceId}-${events.length - index}`}
              data-event={event.name}
            >
              <div class="event-head">
                <time>{clock(event.time)}</time>
                <strong>{event.name}</strong>
                <span class="source">{event.source}</span>
                <span class="trace" title={`trace ${event.traceId} on node ${event.nodeId}`}>
                  trace {short(event.traceId, 6)}
                </span>
              </div>
              <code class="data" title={preview(event.data, 2000)}>
                {preview(event.data)}
                {event.truncated === true && ' (truncated)'}
              </code>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function describe(status: Status, pattern: string): string {
  switch (status.kind) {
    case 'connecting':
      return `Connecting to ${pattern}…`;
    case 'live':
      return `Live: ${pattern}`;
    case 'retrying':
      return `Disconnected; retrying in ${(status.inMs / 1000).toFixed(1)} s`;
    case 'refused':
      return `Refused: ${status.message}`;
  }
}
