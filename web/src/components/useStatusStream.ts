/**
 * Follows the server's live status stream (`GET /xapi/containers/events`, Server-Sent Events) with the browser's
 * EventSource, which sends the session cookie and reconnects on its own with Last-Event-ID. `onStatus` is called
 * for each status change; `live` says whether the stream is open, so a page can fall back to polling while not.
 */
import { useEffect, useRef, useState } from 'react';

export interface StatusChange {
  id: number;
  status: string;
  time: string;
  'exit-code': string | null;
  message: string | null;
  hint: string | null;
}

export function useStatusStream(onStatus: (change: StatusChange) => void, active = true): { live: boolean } {
  const [live, setLive] = useState(false);
  const handler = useRef(onStatus);
  handler.current = onStatus;

  useEffect(() => {
    if (!active || typeof EventSource === 'undefined') return undefined;
    const es = new EventSource('/xapi/containers/events');
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false);
    es.addEventListener('status', (e) => {
      try {
        handler.current(JSON.parse((e as MessageEvent<string>).data) as StatusChange);
      } catch { /* a malformed event is skipped; the fallback poll still corrects the page */ }
    });
    return () => {
      es.close();
      setLive(false);
    };
  }, [active]);

  return { live };
}

/** Calls `fn` once after calls stop for `ms` (a burst of status events reloads a page once). */
export function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useRef(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  }).current;
}
