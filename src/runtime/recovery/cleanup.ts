/**
 * What happens once a run is terminal: its callback token stops working, and (with auto-cleanup) its
 * containers (main, setups, wrapups) and build directories are removed. Safe to repeat; reconciliation repeats it after a crash.
 */
import { rm } from 'node:fs/promises';
import { removeAuxiliaries } from '../staging/auxiliary.ts';
import { describe } from '../store/failures.ts';
import { buildDir as runBuildDir, runSettingsOf, type EngineResources } from '../resources.ts';
import type { RunRecord } from '../store/run-store.ts';
import { archiveCopiesOf } from '../staging/staging.ts';
import { isTerminal } from '../store/state-machine.ts';
import { writableDirsOf } from '../store/run-dirs.ts';

export async function cleanupRun(res: EngineResources, run: RunRecord): Promise<void> {
  if (!isTerminal(run.status) || run.cleanedUp) return;
  try {
    if (run.tokenAlias) await res.credentials.invalidate(run.tokenAlias);
    // The run's own setting: changing it affects runs launched afterwards.
    if (runSettingsOf(res, run).autoCleanup) {
      if (run.containerId) await res.backend.remove(run.containerId);
      else {
        // Created by an attempt that died before recording the id.
        const found = await res.backend.findByName(run.containerName);
        if (found) await res.backend.remove(found.backendId);
      }
      await removeAuxiliaries(res, run);
      // Outputs that failed to upload are kept, so that finalizing again (`RunEngine.finalize`) can retry the
      // upload without running the tool again; reopening the run clears `cleaned_up`, and the clean-up after its
      // next end removes them.
      if (run.status === 'Failed (Upload)') {
        // Copies of archive inputs are not: finalizing reads only outputs.
        await rm(archiveCopiesOf(res, run), { recursive: true, force: true });
        res.store.markCleanedUp(run.id);
        return;
      }
      // Outputs may have been staged as hard links of their files: only removing them here (and redoing it after
      // a crash, `cleaned_up` being set last) keeps the archive's files from sharing an inode with anything writable.
      for (const dir of writableDirsOf(run)) await rm(dir, { recursive: true, force: true });
      await rm(runBuildDir(res, run.id), { recursive: true, force: true });
    }
    res.store.markCleanedUp(run.id);
  } catch (e) {
    // Left for the next reconciliation.
    res.log.warn(`run ${run.id}: cleanup failed: ${describe(e)}`);
  }
}

