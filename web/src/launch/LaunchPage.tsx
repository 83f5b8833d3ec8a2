/**
 * Launch: pick a project, then sessions. One session → the wrappers that can run there (and why the others
 * cannot), then the chosen wrapper's form. Several sessions → a bulk launch of one wrapper, checked by a dry
 * run first. The project and the chosen sessions live in the URL, so the page survives a reload. On a big project
 * the list is the server's: the first 200 sessions by label, narrowed by a filter (`label=*text*`), with the
 * chosen ones always listed (`ID=a,b`), so 10,000 sessions never become 10,000 checkboxes.
 */
import { useEffect, useState } from 'react';
import { useDebouncedValue } from '../components/useDebouncedValue.ts';
import { enc, getJson, messageOf, query } from '../api/client.ts';
import { loadProjects } from '../api/lookups.ts';
import type { Availability, ExperimentRow, ProjectRow, ResultSet, WrapperSummary } from '../api/types.ts';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { setQuery, useLocation } from '../router.tsx';
import { BulkLaunch } from './BulkLaunch.tsx';
import { LaunchForm } from './LaunchForm.tsx';
import { WrapperChooser } from './WrapperChooser.tsx';

/** The archive URI the container service takes for a session (`/data/experiments/E` is its REST address). */
const uriOf = (e: ExperimentRow): string => `/archive/experiments/${e.ID}`;
/** Sessions listed at once; a filter narrows the rest. */
const SHOWN = 200;

function useLoad<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: readonly unknown[]): { data?: T; error?: unknown } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  useEffect(() => {
    setState({});
    if (!load) return;
    const abort = new AbortController();
    load(abort.signal).then((data) => setState({ data }), (error: unknown) => { if (!abort.signal.aborted) setState({ error }); });
    return () => abort.abort();
  }, deps); // `load` closes over exactly these
  return state;
}

export function LaunchPage() {
  const { query: q } = useLocation();
  const project = q.get('project') ?? '';
  const selected = (q.get('sessions') ?? '').split(',').filter(Boolean);
  const [wrapper, setWrapper] = useState<WrapperSummary | null>(null);

  const projects = useLoad<ProjectRow[]>((s) => loadProjects(s), []);
  const [filter, setFilter] = useState('');
  const applied = useDebouncedValue(filter.trim(), 250);
  const listing = useLoad<{ rows: ExperimentRow[]; total: number }>(project ? async (s) => {
    const q = query({ format: 'json', xsiType: 'xnat:imageSessionData', sortBy: 'label', limit: SHOWN, label: applied ? `*${applied}*` : undefined });
    const { data } = await getJson<ResultSet<ExperimentRow>>(`/data/projects/${enc(project)}/experiments${q}`, s);
    return { rows: data.ResultSet.Result, total: Number(data.ResultSet.totalRecords ?? data.ResultSet.Result.length) };
  } : null, [project, applied]);
  const chosen = useLoad<ExperimentRow[]>(project && selected.length > 0 ? async (s) => {
    const q = query({ format: 'json', ID: selected.join(',') });
    return (await getJson<ResultSet<ExperimentRow>>(`/data/projects/${enc(project)}/experiments${q}`, s)).data.ResultSet.Result;
  } : null, [project, selected.join(',')]);
  const shownIds = new Set((listing.data?.rows ?? []).map((e) => e.ID));
  // The chosen sessions stay listed (first) even when the filter hides them.
  const sessions = { error: listing.error, data: listing.data ? [...(chosen.data ?? []).filter((e) => !shownIds.has(e.ID)), ...listing.data.rows] : undefined };
  const first = chosen.data?.find((e) => e.ID === selected[0]);
  const availability = useLoad<Availability>(first ? async (s) => (await getJson<Availability>(`/xapi/availability${query({ object: uriOf(first) })}`, s)).data : null,
    [first?.ID]);

  useEffect(() => setWrapper(null), [project, selected.join(',')]);

  const choose = (next: string[]): void => setQuery('/launch', { project, sessions: next.join(',') });
  const chosenRows = (chosen.data ?? []).filter((e) => selected.includes(e.ID));

  return (
    <section aria-labelledby="launch-title">
      <h1 id="launch-title">Launch</h1>
      <div className="launch-layout">
        <div className="launch-pick">
          <label className="block">
            Project
            {projects.error ? <ErrorBox message={messageOf(projects.error)} /> : null}
            <select value={project} onChange={(e) => setQuery('/launch', { project: e.target.value })}>
              <option value="">Choose a project…</option>
              {(projects.data ?? []).map((p) => <option key={p.ID} value={p.ID}>{p.ID}{p.name && p.name !== p.ID ? ` — ${p.name}` : ''}</option>)}
            </select>
          </label>
          {projects.data && projects.data.length === 0 ? <Empty>You cannot read any project yet.</Empty> : null}
          {project ? (
            <fieldset className="panel sessions">
              <legend>Sessions of {project}</legend>
              {sessions.error ? <ErrorBox message={messageOf(sessions.error)} /> : null}
              {!sessions.data && !sessions.error ? <Loading what="sessions" /> : null}
              <label className="inline-field">Find
                <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="label contains…" />
              </label>
              {sessions.data && sessions.data.length === 0 ? <Empty>{applied ? 'No session matches.' : 'This project has no sessions.'}</Empty> : null}
              {listing.data && listing.data.total > listing.data.rows.length ? (
                <p className="help" role="status">Showing {listing.data.rows.length} of {listing.data.total}; type to narrow the list.</p>
              ) : null}
              {sessions.data && sessions.data.length > 0 ? (
                <>
                  <p className="help">Choose one session to see what can run there, or several for a bulk launch.</p>
                  {sessions.data.map((e) => (
                    <label key={e.ID} className="choice" data-session={e.label}>
                      <input type="checkbox" checked={selected.includes(e.ID)}
                        onChange={(ev) => choose(ev.target.checked ? [...selected, e.ID] : selected.filter((x) => x !== e.ID))} />
                      <span><strong>{e.label}</strong> <span className="muted">{e.subject_label ? `${e.subject_label} · ` : ''}{e.xsiType} · {e.ID}</span></span>
                    </label>
                  ))}
                  {selected.length > 0 ? <button type="button" className="link" onClick={() => choose([])}>Clear the selection</button> : null}
                </>
              ) : null}
            </fieldset>
          ) : null}
        </div>

        <div className="launch-main">
          {!project ? <Empty>Choose a project to start.</Empty> : null}
          {project && selected.length === 0 ? <Empty>Choose a session.</Empty> : null}
          {availability.error ? <ErrorBox title="Cannot check what runs here" message={messageOf(availability.error)} /> : null}
          {first && !availability.data && !availability.error ? <Loading what="the wrappers" /> : null}
          {availability.data ? (
            <>
              {selected.length > 1 ? <p className="notice">Bulk launch: wrappers are listed for {first?.label}; the dry run checks every session.</p> : null}
              <WrapperChooser availability={availability.data} chosen={wrapper?.['wrapper-id'] ?? null} onChoose={setWrapper} />
            </>
          ) : null}
          {wrapper && first && selected.length === 1 ? (
            <LaunchForm project={project} wrapperId={wrapper['wrapper-id']} commandId={wrapper['command-id']} root={wrapper['root-element-name']} objectUri={uriOf(first)} />
          ) : null}
          {wrapper && selected.length > 1 ? (
            <BulkLaunch key={`${wrapper['wrapper-id']}-${selected.join(',')}`} project={project} wrapper={wrapper}
              targets={chosenRows.map((e) => ({ uri: uriOf(e), label: e.label }))} />
          ) : null}
        </div>
      </div>
    </section>
  );
}
