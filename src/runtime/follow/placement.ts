/**
 * Where a cluster backend placed a run, and why it waits (a swarm task no node can take): read from the backend
 * after the start and on each of the run's events, kept on the run (`placement`), and every new reason for waiting
 * noted in its history as `Pending`, in words. A single-engine backend has nothing to say: nothing is recorded.
 */
import { describe } from '../store/failures.ts';
import type { EngineResources } from '../resources.ts';

/** Reads and records the placement of `runId`'s container; returns whether it waits to be placed. Never throws. */
export async function recordPlacement(res: EngineResources, runId: number, backendId: string): Promise<boolean> {
  const placementOf = res.backend.placementOf?.bind(res.backend);
  if (placementOf === undefined) return false;
  try {
    const report = await placementOf(backendId);
    const before = res.store.get(runId)?.placement ?? null;
    res.store.setPlacement(runId, { ...report, backend: res.backend.kind });
    if (report.pendingReason !== null && report.pendingReason !== before?.pendingReason) {
      res.store.note(runId, 'Pending', { source: 'system', entityId: backendId, message: `Not running yet: ${report.pendingReason}` });
    }
    return report.pendingReason !== null && report.state !== 'running';
  } catch (e) {
    res.log.warn(`run ${runId}: placement not read: ${describe(e)}`);
    return false;
  }
}
