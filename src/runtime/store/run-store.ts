/**
 * The one place where a run's state changes. Every change is a single SQLite transaction that reads the
 * current status, checks the state machine (a terminal status is never overwritten) and writes the new
 * status together with its history item — and, when asked, the queue job that follows from it.
 */
import { XcsError } from '../../core/errors.ts';
import type { RunDatabase } from './db.ts';
import { sqlFragments, sqlList, type SqlValue } from '../../core/database/sync-sql.ts';
import { canTransition, isTerminal, RUN_STATUSES, type FailureCode, type HistorySource, type RunStatus } from './state-machine.ts';
import type { RunSettings } from '../settings/site-settings.ts';
import { decideRetry, describeDelay, NO_POLICY, type RetryClass, type RunPolicy } from '../retry/retry-policy.ts';
import type { RunSpec } from './run-spec.ts';
import type { JobQueue, QueueName } from './queue.ts';
import type { PlacementReport } from '../../backends/types.ts';

export interface HistoryItem {
  id: number;
  runId: number;
  status: string;
  entityType: HistorySource;
  entityId: string | null;
  timeRecorded: number;
  externalTimestamp: string | null;
  message: string | null;
  exitCode: string | null;
}

export interface RunRecord {
  id: number;
  commandId: number;
  wrapperId: number;
  userId: string;
  project: string | null;
  status: string;
  statusTime: number;
  spec: RunSpec;
  containerId: string | null;
  containerName: string;
  exitCode: string | null;
  oomKilled: boolean;
  killRequested: boolean;
  failureCode: string | null;
  failureHint: string | null;
  tokenAlias: string | null;
  /** Values to redact from saved logs and API responses (token secret, sensitive inputs). */
  secrets: string[];
  logPaths: string[];
  /** Output name → URI of the archive object created for it. */
  createdOutputs: Record<string, string>;
  buildDir: string | null;
  cleanedUp: boolean;
  createdAt: number;
  /** The command's retry policy and time limit, compiled at launch. */
  policy: RunPolicy;
  /** 1 for a launch, 2, 3… for automatic retries. */
  attempt: number;
  /** The first attempt's id, on retries. */
  retryOf: number | null;
  /** The next attempt's id, once this one was retried. */
  retriedBy: number | null;
  /** The run this one relaunched (POST /xapi/containers/{id}/relaunch). */
  relaunchOf: number | null;
  /** Stopped by the watchdog for running longer than its max-runtime. */
  timedOut: boolean;
  /** The site settings it was launched with; null for runs recorded before runs kept them. */
  settings: RunSettings | null;
  /** Where a cluster backend placed it (and why it waits); null on a single engine. */
  placement: RunPlacement | null;
}

/** A cluster backend's placement of a run, as last seen, with the backend's kind. */
export interface RunPlacement extends PlacementReport {
  backend: string;
}

export interface RunRow {
  id: number; command_id: number; wrapper_id: number; user_id: string; project: string | null; status: string;
  status_time: number; spec: string; container_id: string | null; container_name: string; exit_code: string | null;
  oom_killed: number; kill_requested: number; failure_code: string | null; failure_hint: string | null;
  token_alias: string | null; secrets: string; log_paths: string; created_outputs: string; build_dir: string | null;
  cleaned_up: number; created_at: number; policy: string | null; attempt: number; retry_of: number | null;
  retried_by: number | null; relaunch_of: number | null; timed_out: number; settings: string | null;
  placement?: string | null;
}

export interface HistoryRow {
  id: number; run_id: number; status: string; entity_type: HistorySource; entity_id: string | null;
  time_recorded: number; external_timestamp: string | null; message: string | null; exit_code: string | null;
}

export interface TransitionOptions {
  source: HistorySource;
  /** Login of the user, or the backend id for engine events. */
  entityId?: string | null;
  message?: string | null;
  exitCode?: string | null;
  externalTimestamp?: string | null;
  /** Set with a terminal failure status: the cause code and its hint. */
  failure?: { code: FailureCode; hint: string };
  /** Enqueue this job in the same transaction when the transition applies. */
  enqueue?: QueueName;
}

export interface NewRun {
  spec: RunSpec;
  userId: string;
  project: string | null;
  /** Deterministic container name; `{id}` gets the run id substituted. */
  containerNamePattern: string;
  /** The directory holding the run's build directories (removed at clean-up). */
  buildDir?: string | null;
  policy?: RunPolicy;
  relaunchOf?: number | null;
  settings?: RunSettings | null;
}

/** The next attempt of a failed run, as the retry job prepared it. */
export interface NewAttempt {
  spec: RunSpec;
  buildDir: string | null;
  retryClass: RetryClass;
  /** Appended to the history item of the failed run (e.g. the raised memory limit). */
  detail?: string;
}

export type AuxKind = 'setup' | 'wrapup';

/**
 * A setup or wrapup container of a run (XNAT's child container records). `status` is `Created`, `Running`,
 * `Complete`, `Failed`, or — for wrapups that never ran — `Failed (Parent)` / `Failed (Setup)`.
 */
export interface AuxRecord {
  /** Database id: what XNAT's messages call the container's "db id". */
  id: number;
  runId: number;
  kind: AuxKind;
  /** Position in the resolved command's `setup-commands`/`wrapup-commands`. */
  index: number;
  name: string;
  containerId: string | null;
  status: string;
  exitCode: string | null;
  message: string | null;
  logPaths: string[];
}

interface AuxRow {
  id: number; run_id: number; kind: AuxKind; idx: number; name: string; container_id: string | null; status: string;
  exit_code: string | null; message: string | null; log_paths: string;
}

export interface RunFilter {
  project?: string;
  nonfinalized?: boolean;
  statuses?: readonly string[];
}

/** Raised when a run id does not exist. */
export function runNotFound(id: number | string): XcsError {
  return new XcsError('run.not-found', `No container (run) with id ${id}`, { path: String(id) });
}

export class RunStore {
  private readonly db: RunDatabase;
  private readonly queue: JobQueue;
  private readonly now: () => number;
  private readonly listeners = new Set<(run: RunRecord, item: HistoryItem) => void>();

  constructor(db: RunDatabase, queue: JobQueue, now: () => number = Date.now) {
    this.db = db;
    this.queue = queue;
    this.now = now;
  }

  /** Called after every committed status change (for live displays and waiting clients). */
  onTransition(listener: (run: RunRecord, item: HistoryItem) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records a launched run as `Queued` and enqueues its staging job, atomically. */
  create(input: NewRun): RunRecord {
    const t = this.now();
    const created = this.db.transaction(() => {
      const row = this.insertRun(input, 1, null, t);
      const message = input.relaunchOf ? `Queued for staging; relaunch of container ${input.relaunchOf}` : 'Queued for staging';
      const item = this.insertHistory(row.id, 'Queued', { source: 'user', entityId: input.userId, message }, t);
      this.insertStatusEvent(row.id, 'Queued', message, null, null, t);
      if (input.relaunchOf) {
        this.insertHistory(input.relaunchOf, 'Relaunched', { source: 'user', entityId: input.userId,
          message: `Relaunched as container ${row.id} by ${input.userId}` }, t);
      }
      this.queue.enqueue('stage', row.id);
      return { row, item };
    })();
    const run = toRecord(created.row);
    this.emit(run, created.item);
    return run;
  }

  /**
   * Records the next attempt of the failed run `failedId`, once: in one transaction the failed run is checked
   * to be terminal and not retried yet, the new run is inserted `Queued` with its staging job, and the failed
   * run's `retried_by` is set. A repeated call (the retry job run again after a crash) returns undefined.
   */
  createRetry(failedId: number, next: NewAttempt, containerNamePattern: string): RunRecord | undefined {
    const t = this.now();
    const created = this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(failedId) as RunRow | undefined;
      if (!row || row.retried_by !== null || !isTerminal(row.status)) return undefined;
      const failed = toRecord(row);
      const attempt = failed.attempt + 1;
      const of = failed.policy.retry?.maximumAttempts ?? attempt;
      const newRow = this.insertRun({ spec: next.spec, userId: failed.userId, project: failed.project, containerNamePattern,
        buildDir: next.buildDir, policy: failed.policy, settings: failed.settings }, attempt, failed.retryOf ?? failed.id, t);
      const runId = newRow.id;
      const failedRow = this.db.prepare('UPDATE runs SET retried_by = ? WHERE id = ? RETURNING *').get(runId, failedId) as RunRow;
      const detail = next.detail ? `, ${next.detail}` : '';
      const retrying = this.insertHistory(failedId, 'Retrying', { source: 'system',
        message: `Retrying as container ${runId} (attempt ${attempt} of ${of}) after ${next.retryClass}${detail}` }, t);
      const queued = `Queued for staging: attempt ${attempt} of ${of}, retrying container ${failedId} after ${next.retryClass}${detail}`;
      const item = this.insertHistory(runId, 'Queued', { source: 'system', message: queued }, t);
      this.insertStatusEvent(runId, 'Queued', queued, null, null, t);
      this.queue.enqueue('stage', runId);
      return { failedRow, retrying, row: newRow, item };
    })();
    if (created === undefined) return undefined;
    this.emit(toRecord(created.failedRow), created.retrying);
    const run = toRecord(created.row);
    this.emit(run, created.item);
    return run;
  }

  /** Inserts a `Queued` run; returns its row. */
  private insertRun(input: NewRun, attempt: number, retryOf: number | null, t: number): RunRow {
    const policy = input.policy ?? NO_POLICY;
    const stored = policy.retry === null && policy.maxRuntimeMs === null ? null : JSON.stringify(policy);
    const { id: runId } = this.db.prepare<SqlValue[], { id: number }>(`INSERT INTO runs (command_id, wrapper_id, user_id, project, status, status_time,
        spec, container_name, build_dir, created_at, policy, attempt, retry_of, relaunch_of, settings)
        VALUES (?, ?, ?, ?, 'Queued', ?, ?, '', ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
      .get(input.spec['command-id'], input.spec['wrapper-id'], input.userId, input.project, t, JSON.stringify(input.spec),
        input.buildDir ?? null, t, stored, attempt, retryOf, input.relaunchOf ?? null,
        input.settings ? JSON.stringify(input.settings) : null)!;
    return this.db.prepare('UPDATE runs SET container_name = ? WHERE id = ? RETURNING *')
      .get(input.containerNamePattern.replace('{id}', String(runId)), runId) as RunRow;
  }

  get(id: number): RunRecord | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  require(id: number): RunRecord {
    const run = this.get(id);
    if (!run) throw runNotFound(id);
    return run;
  }

  /** By run id, container id (full or a prefix of at least 12 characters) or container name. */
  find(key: string): RunRecord | undefined {
    if (/^\d+$/.test(key)) {
      const byId = this.get(Number(key));
      if (byId) return byId;
    }
    // A prefix of a container id: hex, any case (SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does).
    const prefix = key.length >= 12 ? `${key.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : null;
    const row = this.db.prepare(`SELECT * FROM runs WHERE container_id = ? OR container_name = ?
        OR container_id ${sqlFragments(this.db.dialect).like} ? ESCAPE '\\' ORDER BY id LIMIT 1`).get(key, key, prefix) as RunRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  list(filter: RunFilter = {}): RunRecord[] {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[];
    return rows.map(toRecord).filter((r) => {
      if (filter.project !== undefined && r.project !== filter.project) return false;
      if (filter.statuses && !filter.statuses.includes(r.status)) return false;
      if (filter.nonfinalized && (isTerminal(r.status) || r.status === 'Finalizing')) return false;
      return true;
    });
  }

  /**
   * Runs the reconciler still has work for: not terminal, or terminal but not cleaned up. A partial index
   * keeps this cheap however many finished runs the history holds.
   */
  listUnsettled(): RunRecord[] {
    const rows = this.db.prepare('SELECT * FROM runs WHERE cleaned_up = 0 ORDER BY id').all() as RunRow[];
    return rows.map(toRecord);
  }

  countInStatuses(statuses: readonly string[]): number {
    if (statuses.length === 0) return 0;
    const row = this.db.prepare(`SELECT count(*) AS n FROM runs WHERE status IN ${sqlList(statuses)}`)
      .get(...statuses) as { n: number };
    return row.n;
  }

  /**
   * The runs in one of `statuses` (how many hold a slot), each with whether its `queue` job waits: work a crashed
   * process left half done. One read driven by the status index, however many runs are queued.
   */
  runsInStatuses(queue: QueueName, statuses: readonly string[]): Array<{ id: number; jobWaits: boolean }> {
    if (statuses.length === 0) return [];
    const rows = this.db.prepare(`SELECT r.id, j.id AS job FROM runs r
        LEFT JOIN jobs j ON j.run_id = r.id AND j.queue = ? AND j.state = 'waiting'
        WHERE r.status IN ${sqlList(statuses)} ORDER BY r.id`)
      .all(queue, ...statuses) as Array<{ id: number; job: number | null }>;
    return rows.map((r) => ({ id: r.id, jobWaits: r.job !== null }));
  }

  /** Whether the run's history has an item with this status (e.g. `Retry scheduled`). */
  hasHistoryStatus(runId: number, status: string): boolean {
    return this.db.prepare('SELECT 1 FROM history WHERE run_id = ? AND status = ? LIMIT 1').get(runId, status) !== undefined;
  }

  /** Runs recorded after run `id` (greater ids, oldest first), at most `limit`. */
  listAfter(id: number, limit: number): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs WHERE id > ? ORDER BY id LIMIT ?').all(id, limit) as RunRow[]).map(toRecord);
  }

  history(runId: number): HistoryItem[] {
    const rows = this.db.prepare('SELECT * FROM history WHERE run_id = ? ORDER BY id').all(runId) as HistoryRow[];
    return rows.map(toHistory);
  }

  /**
   * Moves the run to `to` if the state machine allows it from its current status. Returns whether it did;
   * a refused transition changes nothing (not even history), so repeated or late events are harmless.
   */
  transition(runId: number, to: RunStatus, opts: TransitionOptions): boolean {
    const t = this.now();
    const applied = this.db.transaction(() => {
      const row = this.moveTo(runId, to, opts, t);
      if (!row) return undefined;
      let item = this.insertHistory(runId, to, opts, t);
      this.insertStatusEvent(runId, to, opts.message ?? null, row.exit_code, isTerminal(to) ? row.failure_hint : null, t);
      if (opts.enqueue) this.queue.enqueue(opts.enqueue, runId);
      if (isTerminal(to)) {
        // Nothing more will happen to this run: drop its pending jobs.
        this.queue.cancelRun(runId);
        if (to !== 'Complete') item = this.scheduleRetry(row, t) ?? item;
      }
      return { row, item };
    })();
    if (!applied) return false;
    this.emit(toRecord(applied.row), applied.item);
    return true;
  }

  /**
   * The status change of `transition` when the state machine allows it from the run's current status: one UPDATE
   * whose WHERE names the statuses `to` may follow, returning the changed row. When it changes nothing, the run is
   * missing (an error), in a status `to` may not follow (undefined), or in a status outside `RUN_STATUSES` that the
   * state machine lets go to `to` (changed then).
   */
  private moveTo(runId: number, to: RunStatus, opts: TransitionOptions, t: number): RunRow | undefined {
    const from = RUN_STATUSES.filter((s) => canTransition(s, to));
    const update = (only: readonly string[] | null) => this.db.prepare(`UPDATE runs SET status = ?, status_time = ?,
        failure_code = COALESCE(?, failure_code), failure_hint = COALESCE(?, failure_hint),
        exit_code = COALESCE(?, exit_code) WHERE id = ?${only ? ` AND status IN ${sqlList(only)}` : ''} RETURNING *`)
      .get(to, t, opts.failure?.code ?? null, opts.failure?.hint ?? null, opts.exitCode ?? null, runId, ...(only ?? [])) as RunRow | undefined;
    const row = update(from);
    if (row) return row;
    const current = this.db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
    if (!current) throw runNotFound(runId);
    return !from.includes(current.status as RunStatus) && canTransition(current.status, to) ? update(null) : undefined;
  }

  /**
   * Part of a run's terminal failure transaction: when its policy retries this failure, the retry job is queued
   * to run after the backoff delay (durably: a restart meanwhile keeps the delay); otherwise, for a run that has
   * a policy, why it is not retried is noted.
   */
  private scheduleRetry(row: RunRow, t: number): HistoryItem | undefined {
    const run = toRecord(row);
    const policy = run.policy.retry;
    if (policy === null) return undefined;
    const d = decideRetry(policy, run);
    if (d.retry) {
      this.queue.enqueue('retry', run.id, t + d.delayMs);
      return this.insertHistory(run.id, 'Retry scheduled', { source: 'system',
        message: `Attempt ${d.nextAttempt} of ${policy.maximumAttempts} in ${describeDelay(d.delayMs)} after ${d.retryClass}` }, t);
    }
    return this.insertHistory(run.id, 'Not retried', { source: 'system', message: d.reason }, t);
  }

  /**
   * The watchdog's mark on a run that outlived its max-runtime: set once, only while the run is `Running`, with
   * a history item. True when the run is (now or already) marked and still running, i.e. its container must go.
   */
  markTimedOut(runId: number, message: string): boolean {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT status, timed_out FROM runs WHERE id = ?').get(runId) as { status: string; timed_out: number } | undefined;
      if (!row || row.status !== 'Running') return false;
      if (row.timed_out === 0) {
        this.db.prepare('UPDATE runs SET timed_out = 1 WHERE id = ?').run(runId);
        this.insertHistory(runId, 'Timeout', { source: 'system', message }, this.now());
      }
      return true;
    })();
  }

  /** A history item that does not change the status (raw engine events, kill requests). */
  note(runId: number, status: string, opts: Omit<TransitionOptions, 'failure' | 'enqueue'>): void {
    this.insertHistory(runId, status, opts, this.now());
  }

  /** Where the backend placed the run (not a status change: no history item). */
  setPlacement(runId: number, placement: RunPlacement): void {
    this.db.prepare('UPDATE runs SET placement = ? WHERE id = ?').defer(JSON.stringify(placement), runId);
  }

  setContainer(runId: number, containerId: string): void {
    this.db.prepare('UPDATE runs SET container_id = ? WHERE id = ?').defer(containerId, runId);
  }

  /** Records the container's end; the first report wins (events and reconciliation may both report it). */
  recordExit(runId: number, exitCode: number | null, oomKilled: boolean): void {
    this.db.prepare(`UPDATE runs SET exit_code = COALESCE(exit_code, ?),
        oom_killed = ${sqlFragments(this.db.dialect).greatest('oom_killed', '?')} WHERE id = ?`).run(exitCode === null ? null : String(exitCode), oomKilled ? 1 : 0, runId);
  }

  requestKill(runId: number): void {
    this.db.prepare('UPDATE runs SET kill_requested = 1 WHERE id = ?').defer(runId);
  }

  setCredentials(runId: number, tokenAlias: string, secrets: string[]): void {
    this.db.prepare('UPDATE runs SET token_alias = ?, secrets = ? WHERE id = ?')
      .defer(tokenAlias, JSON.stringify(secrets), runId);
  }

  setBuildDir(runId: number, dir: string): void {
    this.db.prepare('UPDATE runs SET build_dir = ? WHERE id = ?').defer(dir, runId);
  }

  setLogPaths(runId: number, paths: string[]): void {
    this.db.prepare('UPDATE runs SET log_paths = ? WHERE id = ?').defer(JSON.stringify(paths), runId);
  }

  setCreatedOutputs(runId: number, created: Record<string, string>): void {
    this.db.prepare('UPDATE runs SET created_outputs = ? WHERE id = ?').defer(JSON.stringify(created), runId);
  }

  /**
   * The one way out of a terminal status: a run whose outputs failed to upload (`Failed (Upload)`) goes back to
   * `Waiting` with its finalization job queued again, so the upload is retried without running the tool again
   * (its outputs were kept by the clean-up for this). True when the run was reopened.
   */
  reopenForFinalization(runId: number, user: string): boolean {
    const reopened = this.db.transaction(() => {
      const current = this.db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
      if (!current) throw runNotFound(runId);
      if (current.status !== 'Failed (Upload)') return undefined;
      const t = this.now();
      const row = this.db.prepare(`UPDATE runs SET status = 'Waiting', status_time = ?, failure_code = NULL, failure_hint = NULL, cleaned_up = 0
          WHERE id = ? RETURNING *`).get(t, runId) as RunRow;
      const message = `Finalization requested again by ${user}`;
      const item = this.insertHistory(runId, 'Waiting', { source: 'user', entityId: user, message }, t);
      this.insertStatusEvent(runId, 'Waiting', message, null, null, t);
      this.queue.enqueue('finalize', runId);
      return { row, item };
    })();
    if (!reopened) return false;
    this.emit(toRecord(reopened.row), reopened.item);
    return true;
  }

  markCleanedUp(runId: number): void {
    this.db.prepare('UPDATE runs SET cleaned_up = 1 WHERE id = ?').defer(runId);
  }

  /** The run's setup or wrapup record at `index`, created (status `Created`) when there is none yet. */
  ensureAux(runId: number, kind: AuxKind, index: number, name: string): AuxRecord {
    this.db.prepare(`INSERT INTO aux_containers (run_id, kind, idx, name, status) VALUES (?, ?, ?, ?, 'Created')
        ON CONFLICT(run_id, kind, idx) DO NOTHING`).run(runId, kind, index, name);
    return this.aux(runId, kind, index) as AuxRecord;
  }

  aux(runId: number, kind: AuxKind, index: number): AuxRecord | undefined {
    const row = this.db.prepare('SELECT * FROM aux_containers WHERE run_id = ? AND kind = ? AND idx = ?')
      .get(runId, kind, index) as AuxRow | undefined;
    return row ? toAux(row) : undefined;
  }

  auxOf(runId: number, kind?: AuxKind): AuxRecord[] {
    const rows = (kind
      ? this.db.prepare('SELECT * FROM aux_containers WHERE run_id = ? AND kind = ? ORDER BY idx').all(runId, kind)
      : this.db.prepare('SELECT * FROM aux_containers WHERE run_id = ? ORDER BY kind DESC, idx').all(runId)) as AuxRow[];
    return rows.map(toAux);
  }

  /** Records the backend id of an auxiliary container and that it runs. */
  setAuxContainer(auxId: number, containerId: string): void {
    this.db.prepare(`UPDATE aux_containers SET container_id = ?, status = 'Running'
        WHERE id = ? AND exit_code IS NULL AND status IN ('Created', 'Running')`).run(containerId, auxId);
  }

  /**
   * Ends an auxiliary record; the first end wins (a record already ended is left as it is) so that a
   * re-run after a crash cannot rewrite what was decided.
   */
  endAux(auxId: number, status: string, exitCode: string | null, message: string | null, logPaths?: string[]): void {
    this.db.prepare(`UPDATE aux_containers SET status = ?, exit_code = ?, message = ?,
        log_paths = COALESCE(?, log_paths) WHERE id = ? AND status IN ('Created', 'Running')`)
      .run(status, exitCode, message, logPaths ? JSON.stringify(logPaths) : null, auxId);
  }

  private insertHistory(runId: number, status: string, opts: Omit<TransitionOptions, 'failure' | 'enqueue'>, t: number): HistoryItem {
    return toHistory(this.db.prepare(`INSERT INTO history (run_id, status, entity_type, entity_id, time_recorded, external_timestamp,
        message, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`)
      .get(runId, status, opts.source, opts.entityId ?? null, t, opts.externalTimestamp ?? String(t),
        opts.message ?? null, opts.exitCode ?? null) as HistoryRow);
  }

  /**
   * The numbered status event (`status_events`) of a status change, in its transaction: the live stream and the
   * notifiers' outbox. Only status changes get one, not notes.
   */
  private insertStatusEvent(runId: number, status: string, message: string | null, exitCode: string | null,
    hint: string | null, t: number): void {
    this.db.prepare('INSERT INTO status_events (run_id, status, time, exit_code, message, hint) VALUES (?, ?, ?, ?, ?, ?)')
      .defer(runId, status, t, exitCode, message, hint);
  }

  /**
   * Tells the listeners of a committed change: `run` as the transaction left it and the last history item it wrote
   * (for a new run its `Queued` item — that is how automation sees every run start).
   */
  private emit(run: RunRecord, item: HistoryItem): void {
    for (const l of this.listeners) l(run, item);
  }
}

export function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id, commandId: r.command_id, wrapperId: r.wrapper_id, userId: r.user_id, project: r.project,
    status: r.status, statusTime: r.status_time, spec: JSON.parse(r.spec) as RunSpec, containerId: r.container_id,
    containerName: r.container_name, exitCode: r.exit_code, oomKilled: r.oom_killed === 1,
    killRequested: r.kill_requested === 1, failureCode: r.failure_code, failureHint: r.failure_hint,
    tokenAlias: r.token_alias, secrets: JSON.parse(r.secrets) as string[], logPaths: JSON.parse(r.log_paths) as string[],
    createdOutputs: JSON.parse(r.created_outputs) as Record<string, string>, buildDir: r.build_dir,
    cleanedUp: r.cleaned_up === 1, createdAt: r.created_at,
    policy: r.policy === null ? NO_POLICY : JSON.parse(r.policy) as RunPolicy, attempt: r.attempt, retryOf: r.retry_of,
    retriedBy: r.retried_by, relaunchOf: r.relaunch_of, timedOut: r.timed_out === 1,
    settings: r.settings ? JSON.parse(r.settings) as RunSettings : null,
    placement: r.placement ? JSON.parse(r.placement) as RunPlacement : null,
  };
}

export function toHistory(r: HistoryRow): HistoryItem {
  return {
    id: r.id, runId: r.run_id, status: r.status, entityType: r.entity_type, entityId: r.entity_id,
    timeRecorded: r.time_recorded, externalTimestamp: r.external_timestamp, message: r.message, exitCode: r.exit_code,
  };
}

function toAux(r: AuxRow): AuxRecord {
  return {
    id: r.id, runId: r.run_id, kind: r.kind, index: r.idx, name: r.name, containerId: r.container_id, status: r.status,
    exitCode: r.exit_code, message: r.message, logPaths: JSON.parse(r.log_paths) as string[],
  };
}
