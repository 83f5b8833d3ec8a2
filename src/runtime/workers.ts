/**
 * Dispatchers that take jobs from the durable queue under the concurrency limits: a staging job is claimed
 * only while fewer than `maxRunning` runs are staging, created or running; at most `maxFinalizing`
 * finalization jobs run at once. A claimed job's lease is renewed by a heartbeat until the job finishes.
 * Workers wake on enqueue and on every status change, so no polling delay sits between steps.
 */
import { describe } from './store/failures.ts';
import { isLeaseLost, JobLease } from './store/job-lease.ts';
import type { Job, QueueName } from './store/queue.ts';
import type { EngineResources } from './resources.ts';
import { ACTIVE_STATUSES } from './store/state-machine.ts';

/**
 * `attempt` counts claims of the job: 1 the first time, more after a crash or an expired lease. `lease` says
 * whether the job is still this replica's: a handler checks it before each step another replica could repeat.
 */
type Handler = (res: EngineResources, runId: number, attempt: number, lease: JobLease) => Promise<void>;

/** How many more jobs a dispatcher may start now, and the runs whose waiting job resumes whatever the limit. */
export interface Slots {
  free: number;
  resume: readonly number[];
}

export class Dispatcher {
  private readonly res: EngineResources;
  private readonly queue: QueueName;
  private readonly handler: Handler;
  private readonly slots: () => Slots;
  private readonly active = new Set<Promise<void>>();
  private stopped = false;
  private pumping = false;
  /** Wakes the dispatcher when the earliest job with a not-before time (a retry's backoff) becomes due. */
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;

  constructor(res: EngineResources, queue: QueueName, handler: Handler, slots: () => Slots) {
    this.res = res;
    this.queue = queue;
    this.handler = handler;
    this.slots = slots;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Claims and starts as many jobs as the limits allow. Synchronous between check and claim. It first asks when the
   * earliest waiting job is due: with none waiting (most wake-ups) that one read is all it costs.
   */
  pump(): void {
    if (this.stopped || this.pumping) return;
    this.pumping = true;
    try {
      let next = this.res.queue.nextRunAt(this.queue);
      if (next === null) return;
      const slots = this.slots();
      // Runs that already hold a slot (a restart found them staging or running) resume first, whatever the limit:
      // they are counted in it already.
      for (const runId of slots.resume) {
        const job = this.res.queue.claimRun(this.queue, runId, this.res.owner, this.res.config.leaseMs);
        if (job) this.launch(job);
      }
      let free = slots.free;
      while (!this.stopped && free > 0 && next !== null && next <= Date.now()) {
        const job = this.res.queue.claim(this.queue, this.res.owner, this.res.config.leaseMs);
        if (job) {
          // A staging job's run holds a slot from now on (the next pump's count sees it as Staging).
          if (this.queue === 'stage') {
            this.res.store.transition(job.runId, 'Staging', { source: 'system', message: 'Staging inputs and credentials' });
          }
          this.launch(job);
          free--;
        }
        next = this.res.queue.nextRunAt(this.queue);
        if (!job) break;
      }
      this.scheduleWake(next, free > 0);
    } finally {
      this.pumping = false;
    }
  }

  /** Pumps again when the earliest waiting job (`next`, null for none) becomes due. */
  private scheduleWake(next: number | null, hasCapacity: boolean): void {
    const now = Date.now();
    if (next === null || next >= this.wakeAt) return;
    // Due already (it became due after the last claim looked): pump again soon, unless it waits for a free slot,
    // which a status change will announce.
    if (next <= now && !hasCapacity) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    // setTimeout fires at once beyond 2^31-1 ms; a long wait is done in steps.
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wakeAt = Infinity;
      this.pump();
    }, Math.min(Math.max(1, next - now), 2 ** 31 - 1));
  }

  private launch(job: Job): void {
    const lease = new JobLease(this.res, job);
    const heartbeat = setInterval(() => {
      if (!lease.renew()) clearInterval(heartbeat);
    }, Math.max(50, Math.floor(this.res.config.leaseMs / 3)));
    heartbeat.unref();
    const p: Promise<void> = this.handler(this.res, job.runId, job.attempts, lease)
      .catch((e: unknown) => {
        // Another replica has the job now: it does the rest, this one only stops.
        if (isLeaseLost(e)) this.res.log.warn(`run ${job.runId}: ${this.queue} job stopped: ${describe(e)}`);
        else this.res.log.error(`run ${job.runId}: ${this.queue} job crashed: ${describe(e)}`);
      })
      .finally(() => {
        clearInterval(heartbeat);
        if (!this.stopped) this.res.queue.complete(job.id, this.res.owner);
        this.active.delete(p);
        queueMicrotask(() => this.pump());
      });
    this.active.add(p);
  }

  /** Stops claiming; waits for running jobs unless they pause forever (then leaves them to the lease). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const all = Promise.allSettled([...this.active]);
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}

/**
 * The staging slots: `maxRunning` less the runs staging, created or running, which are also the runs whose staging
 * job may wait to resume (its lease was given back after a crash). One read.
 */
export function stagingSlots(res: EngineResources): () => Slots {
  return () => {
    const active = res.store.runsInStatuses('stage', ACTIVE_STATUSES);
    return { free: res.config.maxRunning - active.length, resume: active.filter((r) => r.jobWaits).map((r) => r.id) };
  };
}
