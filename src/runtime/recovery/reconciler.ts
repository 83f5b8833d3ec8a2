/**
 * Brings the records and the engine back into agreement, at start-up and periodically:
 * - a container of this installation with no run record (or whose run ended) is killed and removed;
 * - a run that should have a live container but whose container exited is handed to finalization;
 * - a run whose container vanished fails with `container-vanished`;
 * - terminal runs whose clean-up was interrupted are cleaned up.
 */
import { XCS_LABELS } from '../../backends/types.ts';
import { cleanupRun } from './cleanup.ts';
import { handleExit } from '../follow/exit-handler.ts';
import { recordPlacement } from '../follow/placement.ts';
import { describe } from '../store/failures.ts';
import type { EngineResources } from '../resources.ts';
import { fail } from '../store/failures.ts';
import { isTerminal } from '../store/state-machine.ts';

export interface ReconcileReport {
  removedUnknown: number;
  exited: number;
  vanished: number;
  cleaned: number;
}

export async function reconcile(res: EngineResources): Promise<ReconcileReport> {
  const report: ReconcileReport = { removedUnknown: 0, exited: 0, vanished: 0, cleaned: 0 };
  const containers = await res.backend.list({ labels: { [XCS_LABELS.instance]: res.config.instanceId } });
  for (const c of containers) {
    const runId = Number(c.labels[XCS_LABELS.runId]);
    const run = Number.isInteger(runId) ? res.store.get(runId) : undefined;
    if (!run) {
      try {
        await res.backend.remove(c.backendId);
        report.removedUnknown++;
        res.log.warn(`removed container ${c.name}: no run record of this XCS knows it`);
      } catch (e) {
        res.log.warn(`could not remove unknown container ${c.name}: ${describe(e)}`);
      }
    }
  }
  // Only runs with work left are read: the finished history may hold tens of thousands.
  const unsettled = res.store.listUnsettled();
  for (const run of unsettled.filter((r) => r.status === 'Created' || r.status === 'Running')) {
    if (!run.containerId) continue;
    const state = await res.backend.inspect(run.containerId);
    if (state.status === 'exited' || state.status === 'dead') {
      await recordPlacement(res, run.id, run.containerId);
      if (handleExit(res, run.id, state, 'system')) report.exited++;
    } else if (state.status === 'created' && run.status === 'Created') {
      // Still waiting for a node (a cluster backend): the reason may have changed.
      await recordPlacement(res, run.id, run.containerId);
    } else if (state.status === 'missing') {
      fail(res, run.id, 'container-vanished', `Container ${run.containerName} is gone from the engine`);
      report.vanished++;
    }
  }
  for (const id of unsettled.map((r) => r.id)) {
    // Re-read: the pass above may have ended some of them.
    const run = res.store.require(id);
    if (isTerminal(run.status) && !run.cleanedUp) {
      await cleanupRun(res, run);
      report.cleaned++;
    }
  }
  return report;
}
