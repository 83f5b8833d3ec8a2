/** Loads once per change of `deps` (null `load` = nothing to load), aborting the previous load; `reload` loads again. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from '../api/client.ts';

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  reload: () => void;
}

export function useLoad<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const active = load !== null;
  useEffect(() => {
    const fn = loadRef.current;
    if (!fn) {
      setState({});
      return undefined;
    }
    const abort = new AbortController();
    fn(abort.signal).then((data) => { if (!abort.signal.aborted) setState({ data }); },
      (error: unknown) => { if (!abort.signal.aborted && !isAbort(error)) setState({ error }); });
    return () => abort.abort();
  }, [...deps, active, tick]); // `load` is read through a ref: the caller's deps say when it changes
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
