/**
 * What happens once a run is terminal: its callback token stops working, and (with auto-cleanup) its
 * container and build directory are removed. Safe to repeat; reconciliation repeats it after a crash.
 */
import { rm } from 'node:fs/promises';
import { describe } from './failures.ts';
import { buildDir as runBuildDir, type EngineResources } from './resources.ts';
import type { RunRecord } from './run-store.ts';
import { isTerminal } from './state-machine.ts';

export async function cleanupRun(res: EngineResources, run: RunRecord): Promise<void> {
  if (!isTerminal(run.status) || run.cleanedUp) return;
  try {
    if (run.tokenAlias) await res.credentials.invalidate(run.tokenAlias);
    if (res.config.autoCleanup) {
      if (run.containerId) await res.backend.remove(run.containerId);
      else {
        // Created by an attempt that died before recording the id.
        const found = await res.backend.findByName(run.containerName);
        if (found) await res.backend.remove(found.backendId);
      }
      // Writable mounts are build directories by construction (archive files are copied into them).
      for (const m of run.spec.mounts.filter((x) => x.writable)) await rm(m['xnat-host-path'], { recursive: true, force: true });
      if (run.buildDir) await rm(run.buildDir, { recursive: true, force: true });
      await rm(runBuildDir(res, run.id), { recursive: true, force: true });
    }
    res.store.markCleanedUp(run.id);
  } catch (e) {
    // Left for the next reconciliation.
    res.log.warn(`run ${run.id}: cleanup failed: ${describe(e)}`);
  }
}
