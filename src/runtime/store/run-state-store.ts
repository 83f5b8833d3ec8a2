/**
 * Run state behind an interface, so that a network database (PostgreSQL) can hold it later. Every method that a
 * network database would answer asynchronously returns a promise; each state change is one atomic operation of the
 * implementation (a transaction that reads the status, checks the state machine, writes status + history item and,
 * when asked, the follow-up job), so no caller ever splits it across awaits. `SqliteRunStateStore` is the first
 * implementation, over `RunStore` and `JobQueue` (one synchronous SQLite transaction inside each call).
 *
 * Callers so far: http (container records, history, finalization) and the in-process launcher read and change runs
 * through it. The engine's own workers still use the synchronous `RunStore`/`JobQueue` directly (see
 * ARCHITECTURE.md, "Run state").
 */
import type { JobQueue, Job, QueueName } from './queue.ts';
import { runNotFound, type HistoryItem, type NewRun, type RunFilter, type RunRecord, type RunStore, type TransitionOptions } from './run-store.ts';
import { failureRule, type FailureCode, type RunStatus } from './state-machine.ts';

export interface RunStateStore {
  /* Records. */
  get(id: number): Promise<RunRecord | undefined>;
  /** 404 (`run.not-found`) when there is no such run. */
  require(id: number): Promise<RunRecord>;
  /** By run id, container id (full or a prefix of at least 12 characters) or container name; 404 when none. */
  find(key: string): Promise<RunRecord>;
  list(filter?: RunFilter): Promise<RunRecord[]>;
  /** Runs recorded after run `id` (greater ids, oldest first), at most `limit`. */
  listAfter(id: number, limit: number): Promise<RunRecord[]>;
  history(runId: number): Promise<HistoryItem[]>;
  hasHistoryStatus(runId: number, status: string): Promise<boolean>;
  /** Every applied transition, after it committed (listeners must not throw). Returns the unsubscribe function. */
  onTransition(listener: (run: RunRecord, item: HistoryItem) => void): () => void;

  /* State changes, each atomic. */
  create(input: NewRun): Promise<RunRecord>;
  /** Moves the run to `to` if the state machine allows it; whether it did (a refused transition changes nothing). */
  transition(runId: number, to: RunStatus, opts: TransitionOptions): Promise<boolean>;
  /** Ends the run with a failure code: its final status and hint from the failure table, unless `hint` overrides it. */
  fail(runId: number, code: FailureCode, message: string, hint?: string): Promise<boolean>;
  /** Sends a `Failed (Upload)` run back to finalization; whether it did. */
  reopenForFinalization(runId: number, user: string): Promise<boolean>;

  /* Jobs with leases (one job per run and queue). */
  enqueue(queue: QueueName, runId: number, runAt?: number): Promise<void>;
  claim(queue: QueueName, owner: string, leaseMs: number): Promise<Job | undefined>;
  heartbeat(jobId: number, owner: string, leaseMs: number): Promise<boolean>;
  complete(jobId: number, owner: string): Promise<boolean>;
  failJob(jobId: number, owner: string, error: string, retryInMs: number | null): Promise<void>;
  /** Returns the jobs whose lease ran out to their queue; how many. */
  reapExpired(): Promise<number>;
}

export class SqliteRunStateStore implements RunStateStore {
  readonly #runs: RunStore;
  readonly #jobs: JobQueue;

  constructor(runs: RunStore, jobs: JobQueue) {
    this.#runs = runs;
    this.#jobs = jobs;
  }

  async get(id: number): Promise<RunRecord | undefined> { return this.#runs.get(id); }
  async require(id: number): Promise<RunRecord> { return this.#runs.require(id); }

  async find(key: string): Promise<RunRecord> {
    const run = this.#runs.find(key);
    if (!run) throw runNotFound(key);
    return run;
  }

  async list(filter?: RunFilter): Promise<RunRecord[]> { return this.#runs.list(filter); }
  async listAfter(id: number, limit: number): Promise<RunRecord[]> { return this.#runs.listAfter(id, limit); }
  async history(runId: number): Promise<HistoryItem[]> { return this.#runs.history(runId); }
  async hasHistoryStatus(runId: number, status: string): Promise<boolean> { return this.#runs.hasHistoryStatus(runId, status); }
  onTransition(listener: (run: RunRecord, item: HistoryItem) => void): () => void { return this.#runs.onTransition(listener); }

  async create(input: NewRun): Promise<RunRecord> { return this.#runs.create(input); }
  async transition(runId: number, to: RunStatus, opts: TransitionOptions): Promise<boolean> { return this.#runs.transition(runId, to, opts); }

  async fail(runId: number, code: FailureCode, message: string, hint?: string): Promise<boolean> {
    const rule = failureRule(code);
    return this.#runs.transition(runId, rule.status, { source: 'system', message, failure: { code, hint: hint ?? rule.hint } });
  }

  async reopenForFinalization(runId: number, user: string): Promise<boolean> { return this.#runs.reopenForFinalization(runId, user); }

  async enqueue(queue: QueueName, runId: number, runAt?: number): Promise<void> { this.#jobs.enqueue(queue, runId, runAt); }
  async claim(queue: QueueName, owner: string, leaseMs: number): Promise<Job | undefined> { return this.#jobs.claim(queue, owner, leaseMs); }
  async heartbeat(jobId: number, owner: string, leaseMs: number): Promise<boolean> { return this.#jobs.heartbeat(jobId, owner, leaseMs); }
  async complete(jobId: number, owner: string): Promise<boolean> { return this.#jobs.complete(jobId, owner); }

  async failJob(jobId: number, owner: string, error: string, retryInMs: number | null): Promise<void> {
    this.#jobs.fail(jobId, owner, error, retryInMs);
  }

  async reapExpired(): Promise<number> { return this.#jobs.reapExpired(); }
}
