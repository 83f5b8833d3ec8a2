/**
 * Commands and wrappers in one grid: a row per wrapper, a column for the site and one per project, each cell a
 * checkbox that enables or disables the wrapper there (`PUT /xapi/wrappers/{id}/enabled|disabled`,
 * `PUT /xapi/projects/{p}/wrappers/{id}/enabled|disabled`). Site administrators see every column; project owners
 * see the projects' columns (the server tells which they may read) and the site column read-only. A refused
 * change is shown under the grid with the server's reason, and the cell keeps its old value.
 */
import { Fragment, useState } from 'react';
import { ApiError, enc, getJson, messageOf, request } from '../api/client.ts';
import type { Command, ProjectRow } from '../api/types.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { useLoad } from '../components/useLoad.ts';
import { InputConfig } from './InputConfig.tsx';

interface Cells {
  site: Map<number, boolean | null>;
  /** `${wrapperId}|${project}` → enabled, null when the caller may not read it. */
  project: Map<string, boolean | null>;
}

async function loadCells(commands: Command[], projects: string[], admin: boolean, signal: AbortSignal): Promise<Cells> {
  const cells: Cells = { site: new Map(), project: new Map() };
  const wrappers = commands.flatMap((c) => c.xnat);
  await Promise.all(wrappers.map(async (w) => {
    if (admin) {
      cells.site.set(w.id, (await getJson<boolean>(`/xapi/wrappers/${w.id}/enabled`, signal)).data);
      const on = new Set((await getJson<string[]>(`/xapi/wrappers/${w.id}/projects`, signal)).data);
      for (const p of projects) cells.project.set(`${w.id}|${p}`, on.has(p));
      return;
    }
    await Promise.all(projects.map(async (p) => {
      try {
        const { data } = await getJson<{ 'enabled-for-site': boolean; 'enabled-for-project': boolean }>(`/xapi/projects/${enc(p)}/wrappers/${w.id}/enabled`, signal);
        cells.site.set(w.id, data['enabled-for-site']);
        cells.project.set(`${w.id}|${p}`, data['enabled-for-project']);
      } catch {
        cells.project.set(`${w.id}|${p}`, null);
      }
    }));
  }));
  return cells;
}

export function EnablementGrid({ admin, reloadKey }: { admin: boolean; reloadKey: number }) {
  const base = useLoad(async (s) => {
    const [commands, projects] = await Promise.all([
      getJson<Command[]>('/xapi/commands', s).then((r) => r.data),
      getJson<{ ResultSet: { Result: ProjectRow[] } }>('/data/projects?format=json', s).then((r) => r.data.ResultSet.Result.map((p) => p.ID).sort()),
    ]);
    return { commands, projects, cells: await loadCells(commands, projects, admin, s) };
  }, [admin, reloadKey]);
  const [overrides, setOverrides] = useState<Map<string, boolean>>(new Map());
  const [refusal, setRefusal] = useState<{ where: string; error: ApiError | Error } | null>(null);
  const [configuring, setConfiguring] = useState<{ wrapperId: number; label: string; project: string } | null>(null);
  if (base.error) return <ErrorBox title="Could not load the commands" message={messageOf(base.error)} />;
  if (!base.data) return <Loading what="the commands" />;
  const { commands, projects, cells } = base.data;

  const toggle = async (key: string, url: string, on: boolean, where: string): Promise<void> => {
    setRefusal(null);
    try {
      await request('PUT', `${url}/${on ? 'enabled' : 'disabled'}`);
      setOverrides(new Map(overrides).set(key, on));
    } catch (e) {
      setRefusal({ where, error: e instanceof Error ? e : new Error(String(e)) });
    }
  };
  const value = (key: string, fallback: boolean | null | undefined): boolean | null => overrides.get(key) ?? fallback ?? null;

  return (
    <div>
      <div className="table-wrap">
        <table className="grid" data-testid="enablement-grid">
          <caption>Where each wrapper may run: the site switch, then each project's</caption>
          <thead>
            <tr>
              <th scope="col">Command / wrapper</th>
              <th scope="col">Site</th>
              {projects.map((p) => <th scope="col" key={p}>{p}</th>)}
            </tr>
          </thead>
          <tbody>
            {commands.map((c) => (
              <Fragment key={c.id}>
                <tr className="group-row"><th scope="rowgroup" colSpan={projects.length + 2}>{c.label || c.name} <span className="muted">{c.version ?? ''} · <code>{c.image}</code></span></th></tr>
                {c.xnat.map((w) => {
                  const wl = w.label || w.name;
                  const siteKey = `site|${w.id}`;
                  const site = value(siteKey, cells.site.get(w.id));
                  return (
                    <tr key={w.id} data-wrapper-id={w.id}>
                      <th scope="row">{wl} <span className="muted">({w.name})</span></th>
                      <td>
                        <input type="checkbox" aria-label={`Enable ${wl} for the site`} checked={site === true} disabled={!admin}
                          onChange={(e) => void toggle(siteKey, `/xapi/wrappers/${w.id}`, e.target.checked, `${wl} for the site`)} />
                      </td>
                      {projects.map((p) => {
                        const key = `${w.id}|${p}`;
                        const v = value(key, cells.project.get(key));
                        return (
                          <td key={p}>
                            {v === null ? <span className="muted" title="you may not see this project's settings">—</span> : (
                              <span className="cell">
                                <input type="checkbox" aria-label={`Enable ${wl} for ${p}`} checked={v}
                                  onChange={(e) => void toggle(key, `/xapi/projects/${enc(p)}/wrappers/${w.id}`, e.target.checked, `${wl} for ${p}`)} />
                                <button type="button" className="link small" aria-label={`Configure inputs of ${wl} for ${p}`}
                                  onClick={() => setConfiguring({ wrapperId: w.id, label: wl, project: p })}>inputs</button>
                              </span>
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  );
                })}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
      {refusal ? <ErrorBox title={`Refused: ${refusal.where}`} message={refusal.error.message} hint={refusal.error instanceof ApiError ? refusal.error.hint : undefined} /> : null}
      {configuring ? <InputConfig key={`${configuring.wrapperId}|${configuring.project}`} {...configuring} onClose={() => setConfiguring(null)} /> : null}
    </div>
  );
}
