/**
 * One run: status and what went wrong, its history, inputs (sensitive values arrive masked and stay so),
 * outputs with links to the archive objects they created, the command line, live logs, the logs zip and a kill
 * button. Readers of the project who did not launch the run get a scrubbed record from the server; the page
 * shows what there is and the server's refusal where they may not go (logs, kill).
 */
import { useRef, useState } from 'react';
import { ApiError, getJson, messageOf, request } from '../api/client.ts';
import { loadCommands, wrapperNames } from '../api/lookups.ts';
import type { Container, ContainerOutput } from '../api/types.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { ErrorBox, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { isTerminal } from '../components/status.ts';
import { usePolling } from '../components/usePolling.ts';
import { useDebounced, useStatusStream } from '../components/useStatusStream.ts';
import { Link } from '../router.tsx';
import { HistoryTimeline } from './HistoryTimeline.tsx';
import { LogViewer } from './LogViewer.tsx';
import { RunActions } from './RunActions.tsx';
import { failureOf } from './RunsPage.tsx';

const REFRESH_MS = 1500;
/** With the live stream open, a slow poll is only a safety net. */
const LIVE_REFRESH_MS = 30_000;

/** The console's data page of an archive object the run created (`/archive/experiments/E/resources/R` → `/data/experiments/E/resources/R`). */
function outputHref(o: ContainerOutput): string | null {
  if (!o.created || !o.created.startsWith('/archive/')) return null;
  return `/data${o.created.slice('/archive'.length)}`;
}

async function downloadZip(id: number): Promise<void> {
  const res = await request('GET', `/xapi/containers/${id}/logs`, { headers: { Accept: 'application/zip' } });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `run-${id}-logs.zip`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function RunDetailPage({ id }: { id: number }) {
  const [names, setNames] = useState<ReturnType<typeof wrapperNames>>(new Map());
  const [action, setAction] = useState<{ kind: 'error' | 'info'; text: string; hint?: string } | null>(null);
  const [done, setDone] = useState(false);
  // This run's status events reload it; while the stream is down the page polls as before.
  const reloadRef = useRef<() => void>(() => undefined);
  const reloadSoon = useDebounced(() => reloadRef.current(), 100);
  const { live } = useStatusStream((change) => { if (change.id === id) reloadSoon(); }, !done);
  const run = usePolling<Container>(async (signal) => {
    if (names.size === 0) loadCommands(signal).then((c) => setNames(wrapperNames(c)), () => undefined);
    const { data } = await getJson<Container>(`/xapi/containers/${id}`, signal);
    setDone(isTerminal(data.status));
    return data;
  }, [id], live ? LIVE_REFRESH_MS : REFRESH_MS, !done);
  reloadRef.current = run.reload;

  if (run.error && !run.data) {
    const notFound = run.error instanceof ApiError && run.error.status === 404;
    return (
      <section>
        <h1>Run #{id}</h1>
        <ErrorBox title={notFound ? 'No such run' : 'Could not load the run'} message={messageOf(run.error)} />
        <p><Link to="/">Back to the runs</Link></p>
      </section>
    );
  }
  if (!run.data) return <Loading what={`run #${id}`} />;
  const r = run.data;
  const active = !isTerminal(r.status);
  const n = r['wrapper-id'] !== null ? names.get(r['wrapper-id']) : undefined;
  const failure = failureOf(r);

  const zip = async (): Promise<void> => {
    setAction(null);
    try {
      await downloadZip(id);
    } catch (e) {
      setAction({ kind: 'error', text: messageOf(e), hint: e instanceof ApiError ? e.hint : undefined });
    }
  };

  return (
    <section aria-labelledby="run-title">
      <p className="crumbs"><Link to="/">Runs</Link> / #{id}</p>
      <div className="page-head">
        <h1 id="run-title">
          Run #{id} {n ? <span className="subtitle">{n.wrapper} <span className="muted">({n.command})</span></span> : null}
        </h1>
        <div className="actions">
          <button type="button" onClick={() => void zip()}>Download logs (zip)</button>
        </div>
      </div>
      <RunActions run={r} onChanged={() => { setDone(false); run.reload(); }} />
      {action ? (
        action.kind === 'error' ? <ErrorBox title="Refused" message={action.text} hint={action.hint} /> : <p className="notice" role="status">{action.text}</p>
      ) : null}

      <dl className="facts">
        <div><dt>Status</dt><dd data-testid="run-status"><StatusBadge status={r.status} /> {active ? <span className="muted">(updating)</span> : null}</dd></div>
        <div><dt>Since</dt><dd><LocalTime value={r['status-time']} /></dd></div>
        <div><dt>Project</dt><dd>{r.project ?? '—'}</dd></div>
        <div><dt>Launched by</dt><dd>{r['user-id'] ?? '—'}</dd></div>
        <div><dt>Image</dt><dd><code>{r['docker-image'] ?? '—'}</code></dd></div>
        {r['exit-code'] !== null && r['exit-code'] !== undefined ? <div><dt>Exit code</dt><dd>{r['exit-code']}</dd></div> : null}
      </dl>
      {failure ? <ErrorBox title={r.status} message={failure.message} hint={failure.hint} /> : null}

      <div className="grid-2">
        <section aria-labelledby="history-title" className="panel">
          <h2 id="history-title">History</h2>
          <HistoryTimeline history={r.history} />
        </section>
        <section aria-labelledby="inputs-title" className="panel">
          <h2 id="inputs-title">Inputs</h2>
          {r.inputs.length === 0 ? <p className="muted">No inputs are shown to you for this run.</p> : (
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Value</th></tr></thead>
                <tbody>
                  {r.inputs.map((i) => (
                    <tr key={i.id}>
                      <td>{i.name}</td>
                      <td className="muted">{i.type}</td>
                      <td>{i.sensitive ? <span className="masked" title="sensitive: never shown">{i.value ?? '*****'} <span className="sr-only">(sensitive, hidden)</span></span> : <code>{i.value ?? ''}</code>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>

      <section aria-labelledby="outputs-title" className="panel">
        <h2 id="outputs-title">Outputs</h2>
        {r.outputs.length === 0 ? <p className="muted">This run has no outputs to upload (or they are not shown to you).</p> : (
          <ul className="outputs">
            {r.outputs.map((o) => {
              const href = outputHref(o);
              return (
                <li key={o.id}>
                  <strong>{o.label ?? o.name}</strong> <span className="muted">{o.type}{o.required ? ', required' : ''}</span>{' '}
                  {href ? <Link to={href}>{o.created}</Link> : <span className="muted">{active ? 'not uploaded yet' : 'not created'}</span>}
                </li>
              );
            })}
          </ul>
        )}
      </section>

      {r['command-line'] ? (
        <section aria-labelledby="cmd-title" className="panel">
          <h2 id="cmd-title">Command line</h2>
          <pre className="command-line">{r['command-line']}</pre>
        </section>
      ) : null}

      <section aria-labelledby="logs-title" className="panel">
        <h2 id="logs-title">Logs</h2>
        <LogViewer runId={id} live={active && Boolean(r['container-id'])} status={r.status} />
      </section>
    </section>
  );
}
