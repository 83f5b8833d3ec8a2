/**
 * Loads something now and again every `intervalMs` while `active`, without overlapping requests; a failed
 * refresh keeps the last good data (and reports the error), so a list never blanks out under the reader.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from '../api/client.ts';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again at once (after a change the user made). */
  reload: () => void;
}

export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[], intervalMs: number, active = true): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    setData(undefined);
    setLoading(true);
    setError(undefined);
  }, deps); // the caller's deps decide when to start over

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const value = await loadRef.current(abort.signal);
        if (abort.signal.aborted) return;
        setData(value);
        setError(undefined);
      } catch (e) {
        if (isAbort(e) || abort.signal.aborted) return;
        setError(e);
      } finally {
        if (!abort.signal.aborted) setLoading(false);
      }
      if (active && !abort.signal.aborted) timer = setTimeout(() => void run(), intervalMs);
    };
    void run();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [...deps, active, intervalMs, tick]); // `load` is read through a ref: a new closure each render must not restart polling

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
