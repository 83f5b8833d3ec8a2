/**
 * What can be done to a run, as the API allows it: kill while it is active; relaunch once it ended (launcher,
 * project owner, container manager — `POST /xapi/containers/{id}/relaunch`, opening the new run); finalize
 * again after a failed upload (container managers — `POST /xapi/containers/{id}/finalize`); and, for a failed
 * run, retry every failed run of the same wrapper in its project that was not retried yet (its batch: `POST
 * /xapi/containers/relaunch` with a filter). The server decides; its refusal is shown with its hint.
 */
import { useState } from 'react';
import { ApiError, messageOf, request, sendJson } from '../api/client.ts';
import type { Container } from '../api/types.ts';
import { ErrorBox } from '../components/States.tsx';
import { isTerminal, toneOf } from '../components/status.ts';
import { Link, navigate } from '../router.tsx';

interface BulkRelaunch {
  successes: Array<{ id: number; 'relaunch-of': number }>;
  failures: Array<{ 'relaunch-of': number | string; message: string }>;
}

export function RunActions({ run, onChanged }: { run: Container; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ kind: 'error' | 'info'; text: string; hint?: string; links?: number[] } | null>(null);
  const act = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setOutcome(null);
    try {
      await fn();
    } catch (e) {
      setOutcome({ kind: 'error', text: messageOf(e), hint: e instanceof ApiError ? e.hint : undefined });
    } finally {
      setBusy(false);
    }
  };
  const ended = isTerminal(run.status);
  const failed = toneOf(run.status) === 'bad';
  const kill = () => act(async () => {
    await request('POST', `/xapi/containers/${run.id}/kill`);
    setOutcome({ kind: 'info', text: 'Kill requested; the run ends as Killed.' });
    onChanged();
  });
  const relaunch = () => act(async () => {
    const next = await sendJson<{ id: number }>('POST', `/xapi/containers/${run.id}/relaunch`);
    navigate(`/runs/${next.id}`);
  });
  const finalize = () => act(async () => {
    await request('POST', `/xapi/containers/${run.id}/finalize`);
    setOutcome({ kind: 'info', text: 'Finalizing again: the outputs are uploaded once more.' });
    onChanged();
  });
  const retryBatch = () => act(async () => {
    const report = await sendJson<BulkRelaunch>('POST', '/xapi/containers/relaunch',
      { json: { project: run.project, status: 'Failed', 'wrapper-id': run['wrapper-id'] } });
    setOutcome({ kind: report.failures.length ? 'error' : 'info',
      text: `Retried ${report.successes.length} failed run${report.successes.length === 1 ? '' : 's'}${report.failures.length ? `; ${report.failures.length} refused: ${report.failures.map((f) => `#${f['relaunch-of']} ${f.message}`).join('; ')}` : ''}.`,
      links: report.successes.map((s) => s.id) });
  });
  return (
    <div className="run-actions">
      <div className="actions">
        {!ended ? <button type="button" className="danger" onClick={() => void kill()} disabled={busy}>Kill run</button> : null}
        {ended ? <button type="button" onClick={() => void relaunch()} disabled={busy}>Relaunch</button> : null}
        {run.status === 'Failed (Upload)' ? <button type="button" onClick={() => void finalize()} disabled={busy}>Finalize again</button> : null}
        {failed && run.project ? <button type="button" onClick={() => void retryBatch()} disabled={busy}>Retry failed runs of this wrapper</button> : null}
      </div>
      {outcome?.kind === 'error' ? <ErrorBox title="Refused" message={outcome.text} hint={outcome.hint} /> : null}
      {outcome?.kind === 'info' ? (
        <p className="notice" role="status">{outcome.text} {outcome.links?.map((id) => <Link key={id} to={`/runs/${id}`}>#{id} </Link>)}</p>
      ) : null}
    </div>
  );
}
