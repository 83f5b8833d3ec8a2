/**
 * Automation: event subscriptions (`GET /xapi/events/subscriptions`, the ones the caller may see) and
 * orchestrations (`GET /xapi/orchestration`, container managers), each with the last run of its wrapper — the
 * newest run that wrapper made that the caller may see (`GET /xapi/containers?wrapper-id=&pageSize=1`).
 */
import { getJson, messageOf } from '../api/client.ts';
import type { Command, Container } from '../api/types.ts';
import { Empty, ErrorBox, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { useLoad } from '../components/useLoad.ts';
import { Link } from '../router.tsx';

interface Subscription {
  id: number;
  name: string;
  active: boolean;
  valid: boolean;
  'valid-message': string;
  'action-key': string;
  'event-filter': { 'event-type': string; 'project-ids': string[]; status: string; 'payload-filter': string };
  'subscription-owner': string;
}

interface Orchestration {
  id: number;
  name: string;
  wrapperIds: number[];
  enabled: boolean;
  haltOnCommandFailure: boolean;
}

const wrapperOfKey = (key: string): number | null => {
  const m = /:(\d+)$/.exec(key);
  return m ? Number(m[1]) : null;
};

function LastRun({ wrapperId }: { wrapperId: number | null }) {
  const last = useLoad(wrapperId === null ? null : (s) => getJson<Container[]>(`/xapi/containers?wrapper-id=${wrapperId}&pageSize=1`, s).then((r) => r.data[0] ?? null), [wrapperId]);
  if (wrapperId === null) return <span className="muted">—</span>;
  if (last.error) return <span className="muted">not visible to you</span>;
  if (last.data === undefined) return <span className="muted">…</span>;
  if (last.data === null) return <span className="muted">no run yet</span>;
  return <><Link to={`/runs/${last.data.id}`}>#{last.data.id}</Link> <StatusBadge status={last.data.status} /></>;
}

export function AutomationPanel({ admin }: { admin: boolean }) {
  const data = useLoad(async (s) => {
    const [subs, orchs, commands] = await Promise.all([
      getJson<Subscription[]>('/xapi/events/subscriptions', s).then((r) => r.data),
      admin ? getJson<Orchestration[]>('/xapi/orchestration', s).then((r) => r.data) : Promise.resolve(null),
      getJson<Command[]>('/xapi/commands', s).then((r) => r.data),
    ]);
    const names = new Map(commands.flatMap((c) => c.xnat.map((w) => [w.id, w.label || w.name] as const)));
    return { subs, orchs, names };
  }, [admin]);
  if (data.error) return <ErrorBox title="Could not load the automation" message={messageOf(data.error)} />;
  if (!data.data) return <Loading what="the automation" />;
  const { subs, orchs, names } = data.data;
  return (
    <div>
      <h3>Event subscriptions</h3>
      {subs.length === 0 ? <Empty>No subscriptions you can see. Create them with POST /xapi/events/subscription.</Empty> : (
        <table>
          <thead><tr><th scope="col">Name</th><th scope="col">When</th><th scope="col">Runs</th><th scope="col">State</th><th scope="col">Last run</th></tr></thead>
          <tbody>
            {subs.map((s) => {
              const w = wrapperOfKey(s['action-key']);
              const f = s['event-filter'];
              return (
                <tr key={s.id}>
                  <td>{s.name} <span className="muted">by {s['subscription-owner']}</span></td>
                  <td>{f['event-type'].split('.').pop()} {f.status.toLowerCase()} in {f['project-ids'].length ? f['project-ids'].join(', ') : 'any project'}
                    {f['payload-filter'] ? <div className="help"><code>{f['payload-filter']}</code></div> : null}</td>
                  <td>{w !== null ? names.get(w) ?? `wrapper ${w}` : s['action-key']}</td>
                  <td>{s.active ? 'active' : 'paused'}{s.valid ? '' : <span className="field-error"> — {s['valid-message']}</span>}</td>
                  <td><LastRun wrapperId={w} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h3>Orchestrations</h3>
      {orchs === null ? <p className="muted">Orchestrations are managed by container managers.</p> : orchs.length === 0 ? <Empty>No orchestrations.</Empty> : (
        <table>
          <thead><tr><th scope="col">Name</th><th scope="col">Steps</th><th scope="col">State</th><th scope="col">Last run of the first step</th></tr></thead>
          <tbody>
            {orchs.map((o) => (
              <tr key={o.id}>
                <td>{o.name}</td>
                <td>{o.wrapperIds.map((w) => names.get(w) ?? `wrapper ${w}`).join(' → ')}{o.haltOnCommandFailure ? <div className="help">stops at the first failure</div> : null}</td>
                <td>{o.enabled ? 'enabled' : 'disabled'}</td>
                <td><LastRun wrapperId={o.wrapperIds[0] ?? null} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
