/**
 * Read-side queries over the run table for listings (GET /xapi/containers): filters and visibility are
 * applied in SQL and only one page of rows is read and parsed, so a listing costs the same with 100 runs
 * or 100,000. Deleting a finished run's record lives here too (the engine never deletes).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { XcsError } from '../core/errors.ts';
import type { RunDatabase } from './db.ts';
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
    parts.push(`status IN (${f.statuses.map(() => '?').join(',')})`);
    args.push(...f.statuses);
  }
  if (f.nonfinalized) parts.push(`NOT ${TERMINAL_OR_FINALIZING}`);
  if (f.commandId !== undefined) { parts.push('command_id = ?'); args.push(f.commandId); }
  if (f.wrapperId !== undefined) { parts.push('wrapper_id = ?'); args.push(f.wrapperId); }
  if (f.user !== undefined) { parts.push('user_id = ?'); args.push(f.user); }
  if (f.containerName !== undefined) { parts.push('container_name = ?'); args.push(f.containerName); }
  if (f.visibleTo) {
    const ps = f.visibleTo.projects;
    parts.push(ps.length > 0 ? `(user_id = ? OR project IN (${ps.map(() => '?').join(',')}))` : 'user_id = ?');
    args.push(f.visibleTo.login, ...ps);
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', args };
}

export class RunQuery {
  private readonly db: RunDatabase;
  private readonly dataDir: string;
  private versionStatement?: Statement<[], { v: number }>;

  constructor(db: RunDatabase, dataDir: string) {
    this.db = db;
    this.dataDir = dataDir;
  }

  /** Changes whenever a run or its history changes (see the `runs_version` triggers). */
  version(): number {
    // Asked on every listing request, so prepared once (lazily: the table may be created after construction).
    this.versionStatement ??= this.db.prepare<[], { v: number }>('SELECT v FROM runs_version');
    return this.versionStatement.get()!.v;
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

  /** The history of several runs in one query. */
  histories(runIds: readonly number[]): Map<number, HistoryItem[]> {
    const out = new Map<number, HistoryItem[]>(runIds.map((id) => [id, []]));
    if (runIds.length === 0) return out;
    // SQLite's default limit on bound parameters is 32766; pages are far smaller, the full list is chunked.
    for (let i = 0; i < runIds.length; i += 500) {
      const chunk = runIds.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM history WHERE run_id IN (${chunk.map(() => '?').join(',')}) ORDER BY id`)
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
        { status: 409, path: String(id), hint: `kill it first: POST /xapi/containers/${id}/kill` });
    }
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM jobs WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM history WHERE run_id = ?').run(id);
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    })();
    await rm(join(this.dataDir, 'runs', String(id)), { recursive: true, force: true });
  }
}
