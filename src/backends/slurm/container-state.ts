/**
 * A job's container state, from what Slurm says of the job and what the job wrote in its directory. Pure: the
 * combinations (a fast job already gone from squeue, a job cancelled before it ran, a node that died with
 * the job) are unit-tested without a cluster.
 */
import type { ContainerState } from '../types.ts';
import type { JobRecord } from './job-dir.ts';
import { containerStatusOf, endCauseOf, pendingDescription, phaseOf, type JobPhase, type SlurmEnd } from './job-states.ts';
import type { SlurmJob } from './squeue.ts';

export interface JobView {
  state: ContainerState;
  phase: JobPhase;
  /** Where the job runs or ran. */
  node: string | null;
  /** While pending: Slurm's reason, e.g. `PENDING (Resources)`, and what it means. */
  pending: { text: string; hint: string } | null;
  /** Slurm's own cause of the end when it says more than the exit code (TIMEOUT, NODE_FAIL…). */
  slurmEnd: SlurmEnd | null;
}

/**
 * @param job what squeue says, or null when Slurm no longer knows the job
 * @param record what the job wrote on the shared file system
 * @param killRequested XCS asked for the kill (a cancelled job then ended as SIGKILL, exit 137)
 */
export function viewOf(jobId: string, job: SlurmJob | null, record: JobRecord, killRequested: boolean): JobView {
  const phase: JobPhase = job === null ? 'ended' : phaseOf(job.state);
  const base: ContainerState = {
    backendId: jobId,
    status: containerStatusOf(phase),
    exitCode: null,
    oomKilled: false,
    startedAt: record.exit?.startedAt ?? record.started ?? job?.startTime ?? null,
    finishedAt: null,
  };
  const node = job?.node ?? null;
  if (phase !== 'ended') {
    return { state: base, phase, node, pending: phase === 'pending' ? pendingDescription(job?.reason ?? 'None') : null, slurmEnd: null };
  }
  const slurmEnd = job === null ? null : endCauseOf(job.state);
  const state: ContainerState = { ...base, status: 'exited', finishedAt: record.exit?.finishedAt ?? job?.endTime ?? null };
  if (record.exit !== null) {
    state.exitCode = record.exit.code;
    state.oomKilled = record.exit.oomKilled || slurmEnd?.code === 'oom';
    if (record.exit.startedAt === null) state.error = 'The container engine could not start the container (see the stderr log)';
  } else if (slurmEnd?.code === 'oom') {
    state.exitCode = 137;
    state.oomKilled = true;
  } else if (killRequested || record.error === 'killed-before-start') {
    // Killed before the container ran (cancelled while pending), or before it could record its end.
    state.exitCode = 137;
  } else if (record.error !== null) {
    const [what, detail] = record.error.split(/ (.*)/s);
    state.exitCode = what === 'runner-failed' && /^\d+$/.test(detail ?? '') ? Number(detail) : null;
    state.error = what === 'mount-missing'
      ? `The mount source ${detail ?? ''} does not exist on node ${node ?? '?'}`
      : what === 'runner-failed' ? 'The container engine on the node could not run the container (see the stderr log)'
        : `The job could not start the container (${record.error})`;
  } else {
    state.error = slurmEnd?.message
      ?? (job === null ? 'Slurm no longer knows the job and it recorded no end' : `The job ended (${job.state}) without recording how its container ended`);
  }
  // A time limit, a node failure or a preemption says more than "exit 137".
  if (slurmEnd !== null && slurmEnd.code !== 'oom' && slurmEnd.code !== 'cancelled' && state.error === undefined) state.error = slurmEnd.message;
  return { state, phase, node, pending: null, slurmEnd };
}
