/**
 * A claimed job's lease as its handler sees it. The dispatcher renews it with heartbeats; a renewal that fails
 * means the job was taken back (this replica stalled past the lease, or was taken for dead) and another replica
 * may be doing it now. A handler calls `hold()` right before each step that must not be done twice at once
 * (creating or starting a container, uploading outputs, the terminal status): it renews the lease on the spot
 * and throws `job.lease-lost` when the job is no longer ours, so the step is left to the new holder.
 */
import { XcsError, isXcsError } from '../../core/errors.ts';
import type { Job } from './queue.ts';
import type { EngineResources } from '../resources.ts';

export class JobLease {
  private readonly res: EngineResources;
  private readonly job: Job;
  private lostAt: number | null = null;

  constructor(res: EngineResources, job: Job) {
    this.res = res;
    this.job = job;
  }

  get lost(): boolean {
    return this.lostAt !== null;
  }

  /** Extends the lease; false (for good) once it is lost. */
  renew(): boolean {
    if (this.lostAt !== null) return false;
    if (this.res.queue.heartbeat(this.job.id, this.res.owner, this.res.config.leaseMs)) return true;
    this.lostAt = Date.now();
    this.res.log.warn(`run ${this.job.runId}: lost the lease of its ${this.job.queue} job (another replica took it)`);
    return false;
  }

  /** Throws `job.lease-lost` unless the job is still this replica's (renewed now). */
  hold(step: string): void {
    if (this.renew()) return;
    throw new XcsError('job.lease-lost', `the ${this.job.queue} job of run ${this.job.runId} was taken over by another replica before ${step}`,
      { path: String(this.job.runId), hint: 'nothing to do: the replica holding the job now finishes it' });
  }
}

/** What a job's handler needs of its lease. */
export type LeaseCheck = Pick<JobLease, 'hold'>;

/** A lease that is never lost: for calling a job's handler outside the queue (tests, tools). */
export function heldLease(): LeaseCheck {
  return { hold: () => undefined };
}

export function isLeaseLost(e: unknown): boolean {
  return isXcsError(e) && e.code === 'job.lease-lost';
}
