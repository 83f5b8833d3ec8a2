/** Every command the user can see with its wrappers, each marked enabled or not for the site (`restrictToEnabledForSite`). */
import type { Command } from '../api/types.ts';
import { Empty } from '../components/States.tsx';

export function CommandList({ commands, siteEnabled }: { commands: Command[]; siteEnabled: ReadonlySet<number> }) {
  if (commands.length === 0) return <Empty>No commands yet. A container manager can register one below.</Empty>;
  return (
    <div className="table-wrap">
      <table className="commands">
        <thead>
          <tr><th scope="col">Command</th><th scope="col">Image</th><th scope="col">Wrappers</th></tr>
        </thead>
        <tbody>
          {commands.map((c) => (
            <tr key={c.id}>
              <td>
                <strong>{c.label || c.name}</strong> <span className="muted">{c.name}{c.version ? ` ${c.version}` : ''} · id {c.id}</span>
                {c.description ? <div className="help">{c.description}</div> : null}
              </td>
              <td><code>{c.image}</code></td>
              <td>
                <ul className="wrapper-list">
                  {c.xnat.map((w) => (
                    <li key={w.id}>
                      {w.label || w.name} <span className="muted">({w.contexts.join(', ') || 'site'})</span>{' '}
                      {siteEnabled.has(w.id) ? <span className="badge badge-ok">enabled</span> : <span className="badge badge-waiting">not enabled for the site</span>}
                    </li>
                  ))}
                  {c.xnat.length === 0 ? <li className="muted">no wrappers</li> : null}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
