/**
 * Kill on request. A run without a container yet ends `Killed` at once; a live container gets SIGKILL and
 * the run ends `Killed` through the normal exit → finalization path (logs are saved, outputs are not).
 */
import { XcsError } from '../../core/errors.ts';
import type { EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';
import { fail } from '../store/failures.ts';
import { isTerminal } from '../store/state-machine.ts';

export async function killRun(res: EngineResources, runId: number, user: string): Promise<RunRecord> {
  const run = res.store.require(runId);
  if (isTerminal(run.status)) {
    throw new XcsError('run.already-finished', `Run ${runId} already ended (${run.status}); there is nothing to kill`,
      { path: String(runId) });
  }
  if (run.status === 'Waiting' || run.status === 'Finalizing') {
    throw new XcsError('run.finalizing', `Run ${runId} has already exited and is being finalized; it cannot be killed`,
      { path: String(runId), hint: 'Wait for it to end; its outputs are being stored.' });
  }
  res.store.requestKill(runId);
  res.store.note(runId, 'kill', { source: 'user', entityId: user, message: 'Kill requested' });
  if (run.status === 'Queued' || run.status === 'Staging' || !run.containerId) {
    // The staging job checks for this before creating or starting anything.
    fail(res, runId, 'killed', 'Killed before it started', { source: 'user', entityId: user });
  } else {
    await res.backend.kill(run.containerId);
  }
  return res.store.require(runId);
}
