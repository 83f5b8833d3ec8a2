/**
 * Read-side queries over the run table for listings (GET /xapi/containers): filters and visibility are
 * applied in SQL and only one page of rows is read and parsed, so a listing costs the same with 100 runs
 * or 100,000. Deleting a finished run's record lives here too (the engine never deletes).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { sqlFragments, sqlList, type SqlDialect, type SyncStatement } from '../../core/database/sync-sql.ts';
import type { RunDatabase } from './db.ts';
import { writableDirsOf } from './run-dirs.ts';
import { runNotFound, toHistory, toRecord, type HistoryItem, type HistoryRow, type RunRecord, type RunRow } from './run-store.ts';
import { isTerminal } from './state-machine.ts';

export interface RunQueryFilter {
  project?: string;
  /** Exact statuses (any of). */
  statuses?: readonly string[];
  /** Neither terminal nor finalizing. */
  nonfinalized?: boolean;
  commandId?: number;
  wrapperId?: number;
  /** Login of the launching user. */
  user?: string;
  /** Container name (exact). */
  containerName?: string;
  /**
   * Restricts to runs the viewer may see in full: launched by `login`, or in one of `projects`. Absent =
   * no restriction (container managers).
   */
  visibleTo?: { login: string; projects: readonly string[] };
}

/** How a searchable column is stored: text, an integer, or a time in epoch milliseconds. */
export type RunColumnType = 'text' | 'int' | 'time';

/**
 * The columns of XNAT's paginated container request (POST /xapi/containers), by their container-record names,
 * and the SQL that reads each. Only these names ever reach SQL text; values are always bound parameters.
 */
export const RUN_COLUMNS = {
  id: { sql: 'id', type: 'int' },
  status: { sql: 'status', type: 'text' },
  project: { sql: 'project', type: 'text' },
  'command-id': { sql: 'command_id', type: 'int' },
  'wrapper-id': { sql: 'wrapper_id', type: 'int' },
  'user-id': { sql: 'user_id', type: 'text' },
  timestamp: { sql: 'created_at', type: 'time' },
  'status-time': { sql: 'status_time', type: 'time' },
  'container-id': { sql: 'container_id', type: 'text' },
  'container-name': { sql: 'container_name', type: 'text' },
  'exit-code': { sql: 'exit_code', type: 'text' },
  // Inside the stored spec: a scan of every row when filtered or sorted on, still without parsing them in JS.
  'docker-image': { sql: 'spec.image', type: 'text' },
} as const satisfies Record<string, { sql: string; type: RunColumnType }>;

export type RunColumn = keyof typeof RUN_COLUMNS;

/** One condition of a search; `like` is a case-insensitive substring match. */
export type RunCondition =
  | { column: RunColumn; op: 'like'; value: string }
  | { column: RunColumn; op: 'eq'; value: string | number }
  | { column: RunColumn; op: 'in'; values: ReadonlyArray<string | number> }
  | { column: RunColumn; op: 'before' | 'after'; value: number };

export interface RunSearch {
  conditions: readonly RunCondition[];
  sort: { column: RunColumn; dir: 'asc' | 'desc' };
  offset: number;
  limit: number;
  /**
   * Restricts to runs launched by `login` or in one of `projects` (what the viewer may see at all). Absent =
   * no restriction (container managers).
   */
  visibleTo?: { login: string; projects: readonly string[] };
}

/** The SQL reading a column in `dialect` (`spec.image` is a member of the stored JSON spec). */
function columnSql(column: RunColumn, dialect: SqlDialect): string {
  const sql = RUN_COLUMNS[column].sql;
  return sql === 'spec.image' ? sqlFragments(dialect).jsonText('spec', 'image') : sql;
}

function conditionSql(c: RunCondition, dialect: SqlDialect): { sql: string; args: Array<string | number> } {
  const col = RUN_COLUMNS[c.column];
  const sql = columnSql(c.column, dialect);
  switch (c.op) {
    case 'like': {
      // Case-insensitive (SQLite's LIKE ignores ASCII case, PostgreSQL's ILIKE); % and _ in the value are literal.
      const text = col.type === 'text' ? sql : `CAST(${sql} AS TEXT)`;
      return { sql: `${text} ${sqlFragments(dialect).like} ? ESCAPE '\\'`, args: [`%${c.value.replace(/[\\%_]/g, (m) => `\\${m}`)}%`] };
    }
    case 'eq': return { sql: `${sql} = ?`, args: [c.value] };
    case 'in': return c.values.length === 0 ? { sql: '1 = 0', args: [] } : { sql: `${sql} IN ${sqlList(c.values)}`, args: [...c.values] };
    case 'before': return { sql: `${sql} < ?`, args: [c.value] };
    case 'after': return { sql: `${sql} > ?`, args: [c.value] };
  }
}

export interface RunPage {
  runs: RunRecord[];
  /** Matching runs in all pages. */
  total: number;
}

const TERMINAL_OR_FINALIZING = "(status LIKE 'Complete%' OR status LIKE 'Failed%' OR status LIKE 'Killed%' OR status = 'Finalizing')";

function where(f: RunQueryFilter): { sql: string; args: Array<string | number> } {
  const parts: string[] = [];
  const args: Array<string | number> = [];
  if (f.project !== undefined) { parts.push('project = ?'); args.push(f.project); }
  if (f.statuses && f.statuses.length > 0) {
    parts.push(`status IN ${sqlList(f.statuses)}`);
    args.push(...f.statuses);
  }
  if (f.nonfinalized) parts.push(`NOT ${TERMINAL_OR_FINALIZING}`);
  if (f.commandId !== undefined) { parts.push('command_id = ?'); args.push(f.commandId); }
  if (f.wrapperId !== undefined) { parts.push('wrapper_id = ?'); args.push(f.wrapperId); }
  if (f.user !== undefined) { parts.push('user_id = ?'); args.push(f.user); }
  if (f.containerName !== undefined) { parts.push('container_name = ?'); args.push(f.containerName); }
  if (f.visibleTo) {
    const ps = f.visibleTo.projects;
    parts.push(ps.length > 0 ? `(user_id = ? OR project IN ${sqlList(ps)})` : 'user_id = ?');
    args.push(f.visibleTo.login, ...ps);
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', args };
}

export class RunQuery {
  private readonly db: RunDatabase;
  private readonly dataDir: string;
  private versionStatement?: SyncStatement<[], { v: number }>;
  /** The version read in this turn of the event loop, and when (see `version`). */
  private turn: { version: number; statementsRun: number } | undefined;

  constructor(db: RunDatabase, dataDir: string) {
    this.db = db;
    this.dataDir = dataDir;
  }

  /**
   * Changes whenever a run or its history changes (see the `runs_version` triggers): the sum of the counter's
   * slots, which every committed change raises. Read before the page it validates.
   *
   * One read answers every request handled in the same turn of the event loop (until its `setImmediate` phase) as
   * long as this process runs no other statement meanwhile: libuv collects the sockets that are ready before it runs
   * their callbacks, so each of those requests had arrived before the read and may be answered with the state it
   * saw; a request sent after a change (even one committed by another replica) arrives in a later turn and reads
   * again. Under load, when many requests are handled per turn, this saves a database round trip per request (a
   * blocking one on PostgreSQL).
   */
  version(): number {
    const turn = this.turn;
    if (turn !== undefined && turn.statementsRun === this.db.statementsRun) return turn.version;
    // Asked on every listing request, so prepared once (lazily: the table may be created after construction).
    this.versionStatement ??= this.db.prepare<[], { v: number }>('SELECT COALESCE(SUM(v), 0) AS v FROM runs_version');
    const version = this.versionStatement.get()!.v;
    if (this.turn === undefined) setImmediate(() => { this.turn = undefined; });
    this.turn = { version, statementsRun: this.db.statementsRun };
    return version;
  }

  /** Newest first; `limit` null = every matching run. */
  page(filter: RunQueryFilter, offset: number, limit: number | null): RunPage {
    const w = where(filter);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM runs ${w.sql}`).get(...w.args) as { n: number }).n;
    const rows = limit === null
      ? this.db.prepare(`SELECT * FROM runs ${w.sql} ORDER BY id DESC`).all(...w.args) as RunRow[]
      : this.db.prepare(`SELECT * FROM runs ${w.sql} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...w.args, limit, offset) as RunRow[];
    return { runs: rows.map(toRecord), total };
  }

  /**
   * XNAT's paginated request: conditions, one sort column (ties broken by id in the same direction) and a
   * page, all in SQL. Only the page's rows are read and parsed.
   */
  search(q: RunSearch): RunPage {
    const parts = q.conditions.map((c) => conditionSql(c, this.db.dialect));
    if (q.visibleTo) {
      const ps = q.visibleTo.projects;
      parts.push({ sql: ps.length > 0 ? `(user_id = ? OR project IN ${sqlList(ps)})` : 'user_id = ?', args: [q.visibleTo.login, ...ps] });
    }
    const w = parts.length > 0 ? `WHERE ${parts.map((p) => p.sql).join(' AND ')}` : '';
    const args = parts.flatMap((p) => p.args);
    const dir = q.sort.dir === 'asc' ? 'ASC' : 'DESC';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM runs ${w}`).get(...args) as { n: number }).n;
    const rows = this.db.prepare(`SELECT * FROM runs ${w} ORDER BY ${columnSql(q.sort.column, this.db.dialect)} ${dir}, id ${dir} LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as RunRow[];
    return { runs: rows.map(toRecord), total };
  }

  /** Projects that have runs (to work out which of them a viewer may read). */
  projects(): string[] {
    return (this.db.prepare('SELECT DISTINCT project FROM runs WHERE project IS NOT NULL').all() as Array<{ project: string }>).map((r) => r.project);
  }

  /** The history of several runs in one query. */
  histories(runIds: readonly number[]): Map<number, HistoryItem[]> {
    const out = new Map<number, HistoryItem[]>(runIds.map((id) => [id, []]));
    if (runIds.length === 0) return out;
    // SQLite's default limit on bound parameters is 32766; pages are far smaller, the full list is chunked.
    for (let i = 0; i < runIds.length; i += 500) {
      const chunk = runIds.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM history WHERE run_id IN ${sqlList(chunk)} ORDER BY id`)
        .all(...chunk) as HistoryRow[];
      for (const r of rows) out.get(r.run_id)?.push(toHistory(r));
    }
    return out;
  }

  /**
   * Deletes a finished run's record, history, jobs and saved logs. A run that may still change (not
   * terminal) is refused with 409: its container, token and finalization still depend on the record.
   */
  async delete(id: number): Promise<void> {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw runNotFound(id);
    if (!isTerminal(row.status)) {
      throw new XcsError('run.not-finished', `Container ${id} is ${row.status}; only a finished container (Complete, Failed, Killed) can be deleted`,
        { path: String(id), hint: `kill it first: POST /xapi/containers/${id}/kill` });
    }
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM history WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    })();
    await rm(join(this.dataDir, 'runs', String(id)), { recursive: true, force: true });
    // The outputs a failed upload kept for finalizing again go with the record.
    if (row.status === 'Failed (Upload)') for (const dir of writableDirsOf(toRecord(row))) await rm(dir, { recursive: true, force: true });
  }
}
