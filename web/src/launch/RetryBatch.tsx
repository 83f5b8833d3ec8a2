/**
 * "Retry the failed runs of this batch": after a bulk launch, the batch's runs are checked (`GET /xapi/containers/{id}`)
 * and those that failed are relaunched together (`POST /xapi/containers/relaunch` with their ids). Runs still going
 * are left alone and counted; the server refuses what the user may not relaunch, per run, with its reason.
 */
import { useState } from 'react';
import { ApiError, getJson, messageOf, sendJson } from '../api/client.ts';
import type { Container } from '../api/types.ts';
import { ErrorBox } from '../components/States.tsx';
import { isTerminal, toneOf } from '../components/status.ts';
import { Link } from '../router.tsx';

interface BulkRelaunch {
  successes: Array<{ id: number; 'relaunch-of': number }>;
  failures: Array<{ 'relaunch-of': number | string; message: string }>;
}

export function RetryBatch({ runIds }: { runIds: number[] }) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; links: number[] } | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const retry = async (): Promise<void> => {
    setBusy(true);
    setNote(null);
    setError(null);
    try {
      const runs = await Promise.all(runIds.map(async (id) => (await getJson<Container>(`/xapi/containers/${id}`)).data));
      const failed = runs.filter((r) => toneOf(r.status) === 'bad').map((r) => r.id);
      const going = runs.filter((r) => !isTerminal(r.status)).length;
      if (failed.length === 0) {
        setNote({ text: `No run of this batch failed${going ? ` (${going} still running)` : ''}.`, links: [] });
        return;
      }
      const report = await sendJson<BulkRelaunch>('POST', '/xapi/containers/relaunch', { json: { ids: failed } });
      const refused = report.failures.map((f) => `#${f['relaunch-of']}: ${f.message}`).join('; ');
      setNote({ text: `Retried ${report.successes.length} of ${failed.length} failed run${failed.length === 1 ? '' : 's'}${going ? `; ${going} still running` : ''}${refused ? `. Refused: ${refused}` : ''}.`,
        links: report.successes.map((s) => s.id) });
    } catch (e) {
      setError(e instanceof Error ? e : new Error(messageOf(e)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="retry-batch">
      <button type="button" onClick={() => void retry()} disabled={busy || runIds.length === 0}>Retry the failed runs of this batch</button>
      {note ? <p className="notice" role="status">{note.text} {note.links.map((id) => <Link key={id} to={`/runs/${id}`}>run #{id} </Link>)}</p> : null}
      {error ? <ErrorBox title="Refused" message={error.message} hint={error instanceof ApiError ? error.hint : undefined} /> : null}
    </div>
  );
}
