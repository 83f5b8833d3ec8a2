/**
 * One wrapper on several sessions: a dry run first (`…/root/{root}/bulklaunch?dryRun=true`) that says which
 * targets would launch and why the others would not, then the launch itself, with each target's run linked.
 * Inputs keep their defaults (each target's derived values are worked out by the server per target).
 */
import { useState } from 'react';
import { enc, messageOf, sendJson } from '../api/client.ts';
import type { BulkLaunchReport, LaunchReport, WrapperSummary } from '../api/types.ts';
import { ErrorBox } from '../components/States.tsx';
import { Link } from '../router.tsx';
import { RetryBatch } from './RetryBatch.tsx';

interface Props {
  project: string;
  wrapper: WrapperSummary;
  targets: Array<{ uri: string; label: string }>;
}

export function BulkLaunch({ project, wrapper, targets }: Props) {
  const [report, setReport] = useState<BulkLaunchReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const root = wrapper['root-element-name'];
  const labelOf = new Map(targets.map((t) => [t.uri, t.label]));

  const run = async (dryRun: boolean): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const path = `/xapi/projects/${enc(project)}/wrappers/${wrapper['wrapper-id']}/root/${enc(root)}/bulklaunch${dryRun ? '?dryRun=true' : ''}`;
      setReport(await sendJson<BulkLaunchReport>('POST', path, { json: { [root]: JSON.stringify(targets.map((t) => t.uri)) } }));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  const target = (r: LaunchReport): string => {
    const uri = r.params[root] ?? '';
    return labelOf.get(uri) ?? uri;
  };
  const dry = report?.['dry-run'] === true;

  return (
    <section className="panel bulk" aria-labelledby="bulk-title">
      <h3 id="bulk-title">Bulk launch of {wrapper['wrapper-label'] || wrapper['wrapper-name']} on {targets.length} sessions</h3>
      <p className="muted">Check first: a dry run resolves every session without launching anything.</p>
      <div className="actions">
        <button type="button" onClick={() => void run(true)} disabled={busy}>Dry run</button>
        <button type="button" className="primary" onClick={() => void run(false)} disabled={busy || !dry || report.successes.length === 0}>
          Launch {dry ? report.successes.length : ''} run{dry && report.successes.length === 1 ? '' : 's'}
        </button>
      </div>
      {error ? <ErrorBox title="Bulk launch refused" message={error} /> : null}
      {report ? (
        <div className="bulk-report" aria-live="polite" data-dry-run={dry}>
          <h4>{dry ? 'Dry run' : 'Launched'}: {report.successes.length} {dry ? 'would launch' : 'launched'}, {report.failures.length} {dry ? 'would not' : 'failed'}</h4>
          <ul>
            {report.successes.map((r, i) => (
              <li key={`ok-${i}`} className="ok">
                <span className="badge badge-ok">{dry ? 'would launch' : 'launched'}</span> {target(r)}
                {r.id !== null ? <> — <Link to={`/runs/${r.id}`}>run #{r.id}</Link></> : null}
              </li>
            ))}
            {report.failures.map((r, i) => (
              <li key={`no-${i}`} className="bad">
                <span className="badge badge-bad">{dry ? 'would not launch' : 'failed'}</span> {target(r)} — {r.message}
                {r.hint ? <span className="hint"> {r.hint}</span> : null}
              </li>
            ))}
          </ul>
          {!dry ? <RetryBatch runIds={report.successes.map((r) => r.id).filter((id): id is number => id !== null)} /> : null}
        </div>
      ) : null}
    </section>
  );
}
