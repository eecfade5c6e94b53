import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { overview as fetchOverview, type Overview } from './api';

export interface OverviewState {
  data: Overview | undefined;
  error: string | undefined;
  /** When the last answer arrived. */
  updatedAt: number | undefined;
  /** Fetch now (after an action), instead of at the next tick. */
  refresh: () => void;
}

/**
 * `GET /api/overview` every `intervalMs` (the next request starts once the last one settled, so
 * a slow server never piles requests up). The last good answer stays shown when one fails.
 */
export function useOverview(intervalMs = 2000): OverviewState {
  const [data, setData] = useState<Overview>();
  const [error, setError] = useState<string>();
  const [updatedAt, setUpdatedAt] = useState<number>();
  const timer = useRef<number | undefined>(undefined);
  const live = useRef(true);

  const load = useCallback(async () => {
    window.clearTimeout(timer.current);
    try {
      const next = await fetchOverview();
      if (!live.current) return;
      setData(next);
      setError(undefined);
      setUpdatedAt(Date.now());
    } catch (failure) {
      if (!live.current) return;
      setError(failure instanceof Error ? failure.message : String(failure));
    }
    if (live.current) timer.current = window.setTimeout(() => void load(), intervalMs);
  }, [intervalMs]);

  useEffect(() => {
    live.current = true;
    void load();
    return () => {
      live.current = false;
      window.clearTimeout(timer.current);
    };
  }, [load]);

  return { data, error, updatedAt, refresh: () => void load() };
}
