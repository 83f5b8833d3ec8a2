/**
 * The finalization job: after the container exited, save its logs, decide how the run ended, run the
 * wrapup containers of a successful run (`auxiliary.ts`; their outputs replace the main container's), store the
 * outputs of a successful run through the output finalizer (idempotent per run and output), and record the
 * one terminal status. Re-running it after a crash finishes the work without duplicating anything.
 */
import { formatDuration } from '../../core/duration.ts';
import { markWrapupsNotRun, runAuxiliaries, wrapupOutputDirs } from '../staging/auxiliary.ts';
import { pausePoint } from '../settings/config.ts';
import { describe, fail, failureCodeOf } from '../store/failures.ts';
import { heldLease, isLeaseLost, type LeaseCheck } from '../store/job-lease.ts';
import { recordAuxLogPaths, saveLogs } from '../follow/logs.ts';
import { recordOutputs } from '../provenance/provenance.ts';
import { callbackFailureHint } from './callback-hint.ts';
import { runSettingsOf, type EngineResources } from '../resources.ts';
import { isTerminal, type FailureCode } from '../store/state-machine.ts';

/** Ends the run with `code`, recording the container's exit code with it. */
function endWith(res: EngineResources, runId: number, code: FailureCode, message: string, hint?: string): void {
  fail(res, runId, code, message, { exitCode: res.store.require(runId).exitCode, ...(hint === undefined ? {} : { hint }) });
}

/**
 * Whether a SIGKILL we did not ask for (exit 137) was the kernel's OOM killer, or a removal behind our back.
 * How long the engine's record takes to be final is the backend's business (`settleKill`); without it, one
 * inspection decides.
 */
async function killedForMemory(res: EngineResources, containerId: string, hasMemoryLimit: boolean): Promise<boolean | 'removed'> {
  const cause = res.backend.settleKill
    ? await res.backend.settleKill(containerId, { memoryLimited: hasMemoryLimit })
    : await res.backend.inspect(containerId).then((s) => (s.status === 'missing' ? 'removed' : s.oomKilled ? 'oom' : 'unknown'));
  if (cause === 'removed') return 'removed';
  // A backend that cannot detect OOM kills: a memory-limited container killed by nobody we know of most likely was one.
  return cause === 'oom' || (cause === 'unknown' && hasMemoryLimit && !res.backend.capabilities.oomDetection);
}

/** The run's container is gone from the engine although XCS did not remove it (someone ran `docker rm`). */
async function removedBehindOurBack(res: EngineResources, runId: number): Promise<boolean> {
  const run = res.store.require(runId);
  if (!run.containerId || run.killRequested) return false;
  // A run finalized again after it ended (a failed upload) had its container removed by our own clean-up.
  if (res.store.history(runId).some((h) => isTerminal(h.status))) return false;
  return (await res.backend.inspect(run.containerId)).status === 'missing';
}

function endRemoved(res: EngineResources, runId: number): void {
  const run = res.store.require(runId);
  endWith(res, runId, 'container-removed',
    `Container ${run.containerName} was removed from the engine (docker rm?) before XCS saved its logs; the run cannot be finalized`);
}

export async function runFinalizeJob(res: EngineResources, runId: number, _attempt = 1, lease: LeaseCheck = heldLease()): Promise<void> {
  let run = res.store.require(runId);
  if (isTerminal(run.status)) return;
  res.store.transition(runId, 'Finalizing', { source: 'system', message: 'Processing finished. Uploading files.' });
  try {
    // Not an upload error, not out of memory: say what happened.
    if (await removedBehindOurBack(res, runId)) {
      endRemoved(res, runId);
      return;
    }
    if (run.exitCode === '137' && !run.oomKilled && run.containerId && !run.killRequested && !run.timedOut) {
      const limit = run.spec['limit-memory'] ?? runSettingsOf(res, run).hardening.defaultLimitMemoryMiB;
      const cause = await killedForMemory(res, run.containerId, limit !== null && limit !== undefined);
      if (cause === 'removed') {
        endRemoved(res, runId);
        return;
      }
      if (cause) res.store.recordExit(runId, null, true);
    }
    await saveLogs(res, run);
    run = res.store.require(runId);
    if (run.killRequested) {
      markWrapupsNotRun(res, run, 'Failed (Parent)', 'Parent container failed (exit code=137)');
      endWith(res, runId, 'killed', 'Killed on request');
      return;
    }
    if (run.timedOut) {
      const limit = formatDuration(run.policy.maxRuntimeMs ?? 0);
      markWrapupsNotRun(res, run, 'Failed (Parent)', `Parent container timed out after ${limit}`);
      endWith(res, runId, 'timeout', `Stopped after running longer than max-runtime ${limit}`);
      return;
    }
    if (run.oomKilled) {
      markWrapupsNotRun(res, run, 'Failed (Parent)', `Parent container failed (exit code=${run.exitCode ?? ''})`);
      endWith(res, runId, 'oom', `The container used more memory than its limit${run.spec['limit-memory'] ? ` (${run.spec['limit-memory']} MiB)` : ''}`);
      return;
    }
    const lost = run.placement?.lostReason;
    if (lost) {
      // A cluster node went down under the run: not the tool's failure (a retry policy may run it elsewhere).
      markWrapupsNotRun(res, run, 'Failed (Parent)', lost);
      endWith(res, runId, 'node-lost', lost);
      return;
    }
    const exit = run.exitCode === null || run.exitCode === '' ? 0 : Number(run.exitCode);
    if (Number.isFinite(exit) && exit !== 0) {
      markWrapupsNotRun(res, run, 'Failed (Parent)', `Parent container failed (exit code=${run.exitCode ?? ''})`);
      endWith(res, runId, 'non-zero-exit', `Non-zero exit code ${run.exitCode} from the container`, await callbackFailureHint(res, run));
      return;
    }
    if (run.spec['wrapup-commands'].length > 0) {
      lease.hold('running the wrapup containers');
      // Finalization waits here (the run stays Finalizing) until every wrapup ended; none runs twice.
      const wrapups = await runAuxiliaries(res, runId, 'wrapup');
      recordAuxLogPaths(res, runId);
      if (!wrapups.ok) {
        endWith(res, runId, 'wrapup-failed', wrapups.message);
        return;
      }
    }
    // Uploads are idempotent per run and output (their commit key), but two replicas must not move the same
    // staged files at once: only the job's holder uploads.
    lease.hold('uploading the outputs');
    const outcome = await res.outputs.finalize(run, {
      wrapupOutputDirs: wrapupOutputDirs(run),
      // Hard links are safe only when the build directories are removed once the run ends (auto clean-up).
      staging: runSettingsOf(res, run).autoCleanup ? 'link' : 'copy',
    });
    res.store.setCreatedOutputs(runId, outcome.created);
    await recordOutputs(res, run, outcome.created, outcome.replaced);
    for (const note of outcome.notes ?? []) res.store.note(runId, 'Output note', { source: 'system', message: note });
    await pausePoint(res.config, 'finalizing');
    const required = outcome.failures.filter((f) => f.required);
    for (const f of outcome.failures.filter((x) => !x.required)) {
      res.store.note(runId, 'Output skipped', { source: 'system', message: `${f.output}: ${f.message}` });
    }
    if (required.length > 0) {
      endWith(res, runId, required[0].code,
        `Failed to upload required outputs.\n${required.map((f) => `${f.output}: ${f.message}`).join('\n')}`);
      return;
    }
    lease.hold('recording the end');
    res.store.transition(runId, 'Complete', { source: 'system', exitCode: run.exitCode ?? '0', message: 'Completed' });
  } catch (e) {
    // The job is another replica's now: it finalizes the run.
    if (isLeaseLost(e)) throw e;
    res.log.warn(`run ${runId}: finalization failed: ${describe(e)}`);
    // Removed while its logs were being read: that is the cause, not the upload.
    if (await removedBehindOurBack(res, runId).catch(() => false)) {
      endRemoved(res, runId);
      return;
    }
    endWith(res, runId, failureCodeOf(e, 'upload-failed'), describe(e));
  }
}
