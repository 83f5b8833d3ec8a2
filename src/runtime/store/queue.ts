/**
 * A durable job queue in the run database with leases. A worker claims a job, which leases it for a while; it
 * renews the lease with heartbeats while it works and completes the job at the end. If its replica dies, the lease
 * expires (or is returned at once when the replica is known dead, `replicas.ts`) and the job runs again on any
 * replica: delivery is at-least-once, and each step of a job is idempotent, so the effect is exactly once.
 * Every lease-changing statement is one UPDATE whose WHERE re-checks the state it changes, so two replicas (two
 * processes on SQLite, two sessions on PostgreSQL) can never both win one job.
 *
 * There is at most one job per (queue, run): enqueueing an existing job is a no-op, except that a finished
 * job is made waiting again (a forced re-finalization).
 */
import type { RunDatabase } from './db.ts';

export type QueueName = 'stage' | 'finalize' | 'retry';
export type JobState = 'waiting' | 'active' | 'done' | 'dead';

export interface Job {
  id: number;
  queue: QueueName;
  runId: number;
  state: JobState;
  attempts: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastError: string | null;
}

interface JobRow {
  id: number; queue: QueueName; run_id: number; state: JobState; attempts: number; lease_owner: string | null;
  lease_expires_at: number | null; last_error: string | null;
}

export class JobQueue {
  private readonly db: RunDatabase;
  private readonly now: () => number;
  private readonly wakers = new Set<(queue: QueueName) => void>();

  constructor(db: RunDatabase, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  /** Called after a job becomes claimable, so workers need not poll. */
  onEnqueue(waker: (queue: QueueName) => void): () => void {
    this.wakers.add(waker);
    return () => this.wakers.delete(waker);
  }

  enqueue(queue: QueueName, runId: number, runAt: number = this.now()): void {
    const t = this.now();
    this.db.prepare(`INSERT INTO jobs (queue, run_id, state, run_at, created_at, updated_at)
        VALUES (?, ?, 'waiting', ?, ?, ?)
        ON CONFLICT(queue, run_id) DO UPDATE SET state = 'waiting', run_at = excluded.run_at, lease_owner = NULL,
          lease_expires_at = NULL, updated_at = excluded.updated_at WHERE jobs.state IN ('done', 'dead')`)
      .defer(queue, runId, runAt, t, t);
    // Wake workers after the surrounding transaction (if any) has committed.
    queueMicrotask(() => { for (const w of this.wakers) w(queue); });
  }

  /** Leases the oldest waiting job of `queue` to `owner`, or returns undefined. */
  claim(queue: QueueName, owner: string, leaseMs: number): Job | undefined {
    const t = this.now();
    const row = this.db.prepare(`UPDATE jobs SET state = 'active', lease_owner = ?, lease_expires_at = ?,
        attempts = attempts + 1, updated_at = ?
        WHERE id = (SELECT id FROM jobs WHERE queue = ? AND state = 'waiting' AND run_at <= ? ORDER BY run_at, id LIMIT 1)
          AND state = 'waiting'
        RETURNING *`).get(owner, t + leaseMs, t, queue, t) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Leases the waiting job of this run, if any (resuming a run that already holds a slot). */
  claimRun(queue: QueueName, runId: number, owner: string, leaseMs: number): Job | undefined {
    const t = this.now();
    const row = this.db.prepare(`UPDATE jobs SET state = 'active', lease_owner = ?, lease_expires_at = ?,
        attempts = attempts + 1, updated_at = ? WHERE queue = ? AND run_id = ? AND state = 'waiting' RETURNING *`)
      .get(owner, t + leaseMs, t, queue, runId) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Extends the lease; false when the job is no longer ours (it was reaped and claimed again). */
  heartbeat(jobId: number, owner: string, leaseMs: number): boolean {
    const t = this.now();
    const info = this.db.prepare(`UPDATE jobs SET lease_expires_at = ?, updated_at = ?
        WHERE id = ? AND state = 'active' AND lease_owner = ?`).run(t + leaseMs, t, jobId, owner);
    return info.changes === 1;
  }

  complete(jobId: number, owner: string): boolean {
    const info = this.db.prepare(`UPDATE jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL,
        updated_at = ? WHERE id = ? AND state = 'active' AND lease_owner = ?`).run(this.now(), jobId, owner);
    return info.changes === 1;
  }

  /** Gives the job back: retried after `retryInMs`, or `dead` (never retried) when null. */
  fail(jobId: number, owner: string, error: string, retryInMs: number | null): void {
    const t = this.now();
    this.db.prepare(`UPDATE jobs SET state = ?, run_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL,
        updated_at = ? WHERE id = ? AND lease_owner = ?`)
      .run(retryInMs === null ? 'dead' : 'waiting', t + (retryInMs ?? 0), error, t, jobId, owner);
    if (retryInMs !== null) setTimeout(() => this.wakeAll(), retryInMs).unref();
  }

  /** Returns expired leases to `waiting`; returns how many. */
  reapExpired(): number {
    const t = this.now();
    const info = this.db.prepare(`UPDATE jobs SET state = 'waiting', lease_owner = NULL, lease_expires_at = NULL,
        updated_at = ? WHERE state = 'active' AND lease_expires_at < ?`).run(t, t);
    if (info.changes > 0) queueMicrotask(() => this.wakeAll());
    return info.changes;
  }

  /** Returns every active lease of `owner` (a replica found dead) to `waiting`; returns how many. */
  releaseLeasesOf(owner: string): number {
    const info = this.db.prepare(`UPDATE jobs SET state = 'waiting', lease_owner = NULL, lease_expires_at = NULL,
        updated_at = ? WHERE state = 'active' AND lease_owner = ?`).run(this.now(), owner);
    if (info.changes > 0) queueMicrotask(() => this.wakeAll());
    return info.changes;
  }

  /**
   * Returns the active leases whose owner is no known replica (a process from before replicas were recorded, or
   * one already forgotten as dead); a live replica registers before it claims anything. Returns how many.
   */
  releaseOrphaned(): number {
    const info = this.db.prepare(`UPDATE jobs SET state = 'waiting', lease_owner = NULL, lease_expires_at = NULL,
        updated_at = ? WHERE state = 'active' AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT id FROM replicas))`)
      .run(this.now());
    if (info.changes > 0) queueMicrotask(() => this.wakeAll());
    return info.changes;
  }

  /** Drops the run's pending jobs (the run ended). An active job is left to its worker, which will see the end. */
  cancelRun(runId: number): void {
    this.db.prepare(`UPDATE jobs SET state = 'done', updated_at = ? WHERE run_id = ? AND state = 'waiting'`)
      .defer(this.now(), runId);
  }

  private wakeAll(): void {
    for (const w of this.wakers) { w('stage'); w('finalize'); w('retry'); }
  }

  /** When the earliest waiting job of `queue` becomes claimable (jobs with a not-before time), or null. */
  nextRunAt(queue: QueueName): number | null {
    const row = this.db.prepare(`SELECT min(run_at) AS t FROM jobs WHERE queue = ? AND state = 'waiting'`).get(queue) as { t: number | null };
    return row.t;
  }

  get(queue: QueueName, runId: number): Job | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE queue = ? AND run_id = ?').get(queue, runId) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  count(queue: QueueName, state: JobState): number {
    return (this.db.prepare('SELECT count(*) AS n FROM jobs WHERE queue = ? AND state = ?').get(queue, state) as { n: number }).n;
  }
}

function toJob(r: JobRow): Job {
  return {
    id: r.id, queue: r.queue, runId: r.run_id, state: r.state, attempts: r.attempts, leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at, lastError: r.last_error,
  };
}
