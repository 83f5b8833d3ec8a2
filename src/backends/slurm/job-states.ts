/**
 * Slurm's job states and reasons in XCS's terms: which phase a job is in (held = created, pending or running =
 * running, ended), why it waits (shown to people while a run is pending), and why Slurm ended it when that says
 * more than the container's exit code (a time limit, a node failure, a preemption).
 */
import type { ContainerStatus } from '../types.ts';

/** created: not submitted yet (XCS submits on start); pending: submitted, waiting for a node. */
export type JobPhase = 'created' | 'pending' | 'running' | 'ended';

const RUNNING = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING']);
const ENDED = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE',
  'REVOKED', 'SPECIAL_EXIT',
]);
export function phaseOf(state: string): JobPhase {
  // squeue may add a `+` (e.g. `CANCELLED+`) or a `by <uid>` suffix.
  const s = state.replace(/[+ ].*$/, '');
  if (ENDED.has(s)) return 'ended';
  if (RUNNING.has(s)) return 'running';
  // Pending for any reason (held by an administrator too): submitted, not yet placed.
  if (s === 'PENDING' || s.startsWith('REQUEUE')) return 'pending';
  // Unknown future states: treat as still going, so nothing is finalized early.
  return 'running';
}

/** The container status the backend contract knows: a submitted job waiting for a node counts as started. */
export function containerStatusOf(phase: JobPhase): ContainerStatus {
  return phase === 'created' ? 'created' : phase === 'ended' ? 'exited' : 'running';
}

/** Why a job waits, in Slurm's words with a sentence for people (`PENDING (Resources)`). */
export function pendingDescription(reason: string): { text: string; hint: string } {
  const text = `PENDING (${reason})`;
  const hints: Record<string, string> = {
    Resources: 'No node has the CPUs, memory or GPUs the run asks for free right now; it starts when a job ends',
    Priority: 'Jobs with a higher priority are ahead of this one in the queue',
    Dependency: 'The job waits for another job',
    ReqNodeNotAvail: 'The nodes the run may use are down, drained or reserved',
    PartitionDown: 'The partition is down; an administrator must bring it up',
    PartitionInactive: 'The partition is inactive; an administrator must activate it',
    PartitionNodeLimit: 'The run asks for more nodes than the partition allows',
    PartitionTimeLimit: 'max-runtime is longer than the partition allows: lower it or choose another partition',
    InvalidAccount: 'The Slurm account in the server settings is not valid for this user',
    InvalidQOS: 'The Slurm QoS in the server settings is not valid for this user or account',
    QOSMaxJobsPerUserLimit: 'The QoS allows no more running jobs for this user now',
    AssocGrpCpuLimit: 'The account has used its share of CPUs; the run starts when its other jobs end',
    AssocGrpMemLimit: 'The account has used its share of memory; the run starts when its other jobs end',
    BeginTime: 'The job may not start before its begin time',
    JobHeldUser: 'The job is held: `scontrol release` it',
    JobHeldAdmin: 'An administrator holds the job',
  };
  return { text, hint: hints[reason] ?? 'See `scontrol show job` for the reason Slurm gives' };
}

export type SlurmEndCode = 'timeout' | 'oom' | 'node-fail' | 'preempted' | 'boot-fail' | 'deadline' | 'cancelled';

export interface SlurmEnd {
  code: SlurmEndCode;
  message: string;
  hint: string;
}

/** What a terminal state says beyond the exit code, or null (COMPLETED, FAILED: the exit code tells it). */
export function endCauseOf(state: string): SlurmEnd | null {
  switch (state.replace(/[+ ].*$/, '')) {
    case 'TIMEOUT':
      return { code: 'timeout', message: 'Slurm stopped the job at its time limit (TIMEOUT)',
        hint: 'Raise max-runtime in the command (it is the job\'s --time), or find why the tool takes so long' };
    case 'OUT_OF_MEMORY':
      return { code: 'oom', message: 'Slurm stopped the job: it used more memory than it asked for (OUT_OF_MEMORY)',
        hint: 'Raise the command\'s limit-memory (the job\'s --mem), or give the tool less data at once' };
    case 'NODE_FAIL':
      return { code: 'node-fail', message: 'The node running the job failed (NODE_FAIL)',
        hint: 'Not the tool\'s fault: launch the run again; tell the cluster\'s administrators if it repeats' };
    case 'PREEMPTED':
      return { code: 'preempted', message: 'Slurm preempted the job for a job of higher priority (PREEMPTED)',
        hint: 'Launch the run again, or use a partition or QoS that is not preemptible' };
    case 'BOOT_FAIL':
      return { code: 'boot-fail', message: 'The node could not be booted for the job (BOOT_FAIL)',
        hint: 'Not the tool\'s fault: launch the run again; tell the cluster\'s administrators if it repeats' };
    case 'DEADLINE':
      return { code: 'deadline', message: 'The job missed its deadline (DEADLINE)', hint: 'Launch the run again' };
    case 'CANCELLED':
      return { code: 'cancelled', message: 'The job was cancelled (scancel) before it ran to its end',
        hint: 'Someone cancelled it outside XCS, or XCS killed it on request' };
    default:
      return null;
  }
}
