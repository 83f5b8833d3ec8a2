/**
 * A run's stdout and stderr in tabs. While the run is active the open tab follows the log live
 * (`GET /xapi/containers/{id}/logs/{file}?follow=true`, read from the fetch body as it arrives); once the run
 * ended, or the stream closes, it shows the saved log (redacted by the server). The pane keeps to the bottom
 * while the reader is there and leaves them alone when they scroll up.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { enc, isAbort, messageOf, request } from '../api/client.ts';
import { ErrorBox } from '../components/States.tsx';

const FILES = ['stdout', 'stderr'] as const;
type LogFile = (typeof FILES)[number];
/** More than this stays in the downloadable zip only, so a chatty tool cannot freeze the page. */
const MAX_CHARS = 2_000_000;

function capped(text: string): string {
  return text.length > MAX_CHARS ? `… (earlier output cut; download the logs for all of it)\n${text.slice(-MAX_CHARS)}` : text;
}

/**
 * `status` re-reads the log when the run's status changes: a short run may go from queued to complete between
 * two polls of the page, so `live` alone would never change and the log read before the run started would stay.
 */
function useLog(runId: number, file: LogFile, live: boolean, status: string): { text: string; error: unknown; following: boolean } {
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>();
  const [following, setFollowing] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    const base = `/xapi/containers/${runId}/logs/${enc(file)}`;
    const whole = async (): Promise<void> => {
      const res = await request('GET', base, { signal: abort.signal, headers: { Accept: 'text/plain' } });
      const t = await res.text();
      if (!abort.signal.aborted) setText(capped(t));
    };
    const follow = async (): Promise<void> => {
      const res = await request('GET', `${base}?follow=true`, { signal: abort.signal, headers: { Accept: 'text/plain' } });
      if (!res.body) return whole();
      setFollowing(true);
      setText('');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || abort.signal.aborted) break;
        setText((t) => capped(t + value));
      }
      setFollowing(false);
      // The live stream ends with the container; the saved log is the complete, final one.
      if (!abort.signal.aborted) await whole();
    };
    setError(undefined);
    (live ? follow() : whole()).catch((e: unknown) => {
      if (!isAbort(e) && !abort.signal.aborted) {
        setError(e);
        setFollowing(false);
      }
    });
    return () => abort.abort();
    // Following is restarted only when `live` changes; a status change of a run not followed re-reads the log.
  }, [runId, file, live, live ? '' : status]);

  return { text, error, following };
}

/** `live`: the run is active and has a container whose output can be followed. */
export function LogViewer({ runId, live, status }: { runId: number; live: boolean; status: string }) {
  const [file, setFile] = useState<LogFile>('stdout');
  const { text, error, following } = useLog(runId, file, live, status);
  const pane = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  const id = useId();

  useEffect(() => {
    const el = pane.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  const keys = (e: KeyboardEvent<HTMLButtonElement>): void => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const next = FILES[(FILES.indexOf(file) + (e.key === 'ArrowRight' ? 1 : FILES.length - 1)) % FILES.length];
    setFile(next);
    document.getElementById(`${id}-tab-${next}`)?.focus();
  };

  return (
    <div className="logs">
      <div role="tablist" aria-label="Log" className="tabs">
        {FILES.map((f) => (
          <button key={f} type="button" role="tab" id={`${id}-tab-${f}`} aria-selected={file === f} aria-controls={`${id}-panel`}
            tabIndex={file === f ? 0 : -1} onClick={() => setFile(f)} onKeyDown={keys}>
            {f}
          </button>
        ))}
        {following ? <span className="live" role="status">● following live</span> : null}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${file}`}>
        {error ? (
          <ErrorBox title={`Cannot show ${file}`} message={messageOf(error)} />
        ) : (
          <pre ref={pane} className="log-text" tabIndex={0} aria-label={`${file} of run ${runId}`} data-log={file}
            onScroll={(e) => {
              const el = e.currentTarget;
              atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}>
            {text || (following ? 'Waiting for output…' : `(${file} is empty)`)}
          </pre>
        )}
      </div>
    </div>
  );
}
