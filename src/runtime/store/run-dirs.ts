/** Where a run wrote on disk: a fact of its record, needed by clean-up and by removing a run's record. */
import type { RunRecord } from './run-store.ts';

/**
 * The directories a run wrote into outside its own run directory: writable mounts are build directories by
 * construction (archive files are copied into them), and so are the setups' and wrapups' outputs.
 */
export function writableDirsOf(run: RunRecord): string[] {
  const aux = [...run.spec['setup-commands'], ...run.spec['wrapup-commands']].flatMap((c) => c.mounts);
  const dirs = [...run.spec.mounts, ...aux].filter((m) => m.writable).map((m) => m['xnat-host-path']);
  return run.buildDir ? [...dirs, run.buildDir] : dirs;
}
