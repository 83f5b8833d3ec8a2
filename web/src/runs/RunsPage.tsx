/**
 * The home page: every run the user may see, newest first (`GET /xapi/containers`, paged, total in
 * `X-Total-Count`), filtered by project, status and command, refreshed every few seconds in place — the filters
 * live in the URL and the rows are updated, not replaced, so neither the filters nor the scroll position move.
 * A failed run shows its last message and the server's hint right in its row.
 */
import { useEffect, useRef, useState } from 'react';
import { getJson, messageOf, query } from '../api/client.ts';
import { loadCommands, loadProjects, wrapperNames } from '../api/lookups.ts';
import type { Command, Container, ProjectRow } from '../api/types.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { STATUS_FILTERS, toneOf } from '../components/status.ts';
import { usePolling } from '../components/usePolling.ts';
import { useDebounced, useStatusStream } from '../components/useStatusStream.ts';
import { Link, setQuery, useLocation } from '../router.tsx';

const PAGE_SIZE = 25;
const REFRESH_MS = 3000;
/** With the live stream open, a slow poll only catches what the stream cannot say (new runs' other fields). */
const LIVE_REFRESH_MS = 30_000;

interface Page {
  runs: Container[];
  total: number;
}

/** What went wrong with a failed run, in one line: its last history message, and the hint. */
export function failureOf(run: Container): { message: string; hint?: string } | null {
  if (toneOf(run.status) !== 'bad' && toneOf(run.status) !== 'killed') return null;
  const last = [...run.history].reverse().find((h) => h.message && h.status === run.status) ?? [...run.history].reverse().find((h) => h.message);
  return { message: last?.message ?? run.status, hint: run['failure-hint'] ?? undefined };
}

export function RunsPage() {
  const { query: q } = useLocation();
  const project = q.get('project') ?? '';
  const status = q.get('status') ?? '';
  const command = q.get('command') ?? '';
  const page = Math.max(1, Number(q.get('page') ?? '1') || 1);
  const [auto, setAuto] = useState(true);
  const [projects, setProjects] = useState<ProjectRow[]>([]);
  const [commands, setCommands] = useState<Command[]>();

  useEffect(() => {
    const abort = new AbortController();
    loadProjects(abort.signal).then(setProjects, () => undefined);
    loadCommands(abort.signal).then(setCommands, () => undefined);
    return () => abort.abort();
  }, []);

  const statusQuery = STATUS_FILTERS.find((f) => f.key === status)?.query ?? {};
  // Status events reload the page (once per burst); while the stream is down the page polls as before.
  const reloadRef = useRef<() => void>(() => undefined);
  const reloadSoon = useDebounced(() => reloadRef.current(), 150);
  const { live } = useStatusStream(() => reloadSoon(), auto);
  const runs = usePolling<Page>(async (signal) => {
    const path = `/xapi/containers${query({ project, 'command-id': command, page, pageSize: PAGE_SIZE, ...statusQuery })}`;
    const { data, headers } = await getJson<Container[]>(path, signal);
    return { runs: data, total: Number(headers.get('X-Total-Count') ?? data.length) };
  }, [project, status, command, page], live ? LIVE_REFRESH_MS : REFRESH_MS, auto);
  reloadRef.current = runs.reload;

  const names = wrapperNames(commands);
  const filters = { project, status, command };
  const change = (patch: Partial<typeof filters>): void => setQuery('/', { ...filters, ...patch });
  const pages = runs.data ? Math.max(1, Math.ceil(runs.data.total / PAGE_SIZE)) : 1;

  return (
    <section aria-labelledby="runs-title">
      <div className="page-head">
        <h1 id="runs-title">Runs</h1>
        <Link className="button primary" to="/launch">Launch…</Link>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter runs">
        <label>
          Project
          <select value={project} onChange={(e) => change({ project: e.target.value })}>
            <option value="">All projects</option>
            {projects.map((p) => <option key={p.ID} value={p.ID}>{p.ID}</option>)}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => change({ status: e.target.value })}>
            {STATUS_FILTERS.map((f) => <option key={f.key} value={f.key}>{f.label}</option>)}
          </select>
        </label>
        <label>
          Command
          <select value={command} onChange={(e) => change({ command: e.target.value })}>
            <option value="">All commands</option>
            {(commands ?? []).map((c) => <option key={c.id} value={String(c.id)}>{c.label || c.name}{c.version ? ` ${c.version}` : ''}</option>)}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} />
          {auto && live ? 'Live updates' : `Refresh every ${REFRESH_MS / 1000} s`}
        </label>
      </form>

      {runs.error ? <ErrorBox title="Could not load the runs" message={messageOf(runs.error)} /> : null}
      {runs.loading && !runs.data ? <Loading what="runs" /> : null}
      {runs.data && runs.data.runs.length === 0 ? (
        <Empty>{project || status || command ? 'No run matches these filters.' : <>No runs yet. <Link to="/launch">Launch one</Link>.</>}</Empty>
      ) : null}
      {runs.data && runs.data.runs.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="runs">
              <caption className="sr-only">Runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Command</th>
                  <th scope="col">Project</th>
                  <th scope="col">User</th>
                  <th scope="col">Last change</th>
                </tr>
              </thead>
              <tbody>
                {runs.data.runs.map((run) => {
                  const n = run['wrapper-id'] !== null ? names.get(run['wrapper-id']) : undefined;
                  const failure = failureOf(run);
                  return (
                    <tr key={run.id} data-run-id={run.id} className={failure ? 'has-failure' : undefined}>
                      <td><Link to={`/runs/${run.id}`} aria-label={`Run ${run.id}`}>#{run.id}</Link></td>
                      <td><StatusBadge status={run.status} /></td>
                      <td>
                        {n ? <><span>{n.wrapper}</span> <span className="muted">({n.command})</span></> : <span className="muted">{run['docker-image']}</span>}
                        {failure ? (
                          <div className="row-failure">
                            <span>{failure.message}</span>
                            {failure.hint ? <span className="hint"> {failure.hint}</span> : null}
                          </div>
                        ) : null}
                      </td>
                      <td data-label="Project">{run.project ?? '—'}</td>
                      <td data-label="User">{run['user-id'] ?? '—'}</td>
                      <td data-label="Last change"><LocalTime value={run['status-time']} /></td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={page <= 1} onClick={() => setQuery('/', { ...filters, page: String(page - 1) })}>Newer</button>
            <span aria-live="polite">
              Page {page} of {pages} · {runs.data.total} run{runs.data.total === 1 ? '' : 's'}
            </span>
            <button type="button" disabled={page >= pages} onClick={() => setQuery('/', { ...filters, page: String(page + 1) })}>Older</button>
          </nav>
        </>
      ) : null}
    </section>
  );
}
