/**
 * Users and project roles: the site's users (`GET /xapi/users`, site administrators) and each project's members
 * (`GET /data/projects/{p}/users`), with the role changed through XNAT's group routes
 * (`PUT /data/projects/{p}/users/{Owners|Members|Collaborators}/{login}`, owners and administrators).
 */
import { useState } from 'react';
import { ApiError, enc, getJson, messageOf, request } from '../api/client.ts';
import type { ProjectRow } from '../api/types.ts';
import { ErrorBox, Loading } from '../components/States.tsx';
import { useLoad } from '../components/useLoad.ts';

const GROUPS: Record<string, string> = { owner: 'Owners', member: 'Members', collaborator: 'Collaborators' };

interface MemberRow { login: string; firstname: string; lastname: string; GROUP_ID: string }

function ProjectMembers({ project }: { project: string }) {
  const [tick, setTick] = useState(0);
  const members = useLoad((s) => getJson<{ ResultSet: { Result: MemberRow[] } }>(`/data/projects/${enc(project)}/users?format=json`, s)
    .then((r) => r.data.ResultSet.Result), [project, tick]);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const change = async (login: string, role: string): Promise<void> => {
    setError(null);
    try {
      await request('PUT', `/data/projects/${enc(project)}/users/${GROUPS[role]}/${enc(login)}`);
      setTick((t) => t + 1);
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  if (members.error) return <ErrorBox message={messageOf(members.error)} />;
  if (!members.data) return <Loading what="members" />;
  return (
    <div className="panel" data-project-members={project}>
      <h4>{project}</h4>
      <ul className="members">
        {members.data.map((m) => {
          const role = m.GROUP_ID.slice(project.length + 1);
          return (
            <li key={m.login}>
              <label>{m.login} <span className="muted">{[m.firstname, m.lastname].filter(Boolean).join(' ')}</span>{' '}
                <select aria-label={`Role of ${m.login} in ${project}`} value={role} onChange={(e) => void change(m.login, e.target.value)}>
                  {Object.keys(GROUPS).map((g) => <option key={g} value={g}>{g}</option>)}
                </select>
              </label>
            </li>
          );
        })}
      </ul>
      {error ? <ErrorBox title="Refused" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
    </div>
  );
}

export function UsersPanel({ admin }: { admin: boolean }) {
  const data = useLoad(async (s) => ({
    users: admin ? (await getJson<string[]>('/xapi/users', s)).data : null,
    projects: (await getJson<{ ResultSet: { Result: ProjectRow[] } }>('/data/projects?format=json', s)).data.ResultSet.Result.map((p) => p.ID).sort(),
  }), [admin]);
  if (data.error) return <ErrorBox title="Could not load the users" message={messageOf(data.error)} />;
  if (!data.data) return <Loading what="the users" />;
  return (
    <div>
      {data.data.users ? <p><strong>{data.data.users.length} users:</strong> {data.data.users.join(', ')}</p> : null}
      <div className="grid-2">{data.data.projects.map((p) => <ProjectMembers key={p} project={p} />)}</div>
    </div>
  );
}
