/**
 * What monitoring reads of the run records at scrape time or per status change (levels rather than events): runs
 * by status, waiting jobs by queue, a command's name, when a run last entered a status, and the bytes a run's
 * finalization committed. Read-only queries on the run database, so that http holds no SQL.
 */
import { sqlList } from '../../core/database/sync-sql.ts';
import type { RunEngine } from '../engine.ts';

/** Runs in each of `statuses` (absent statuses count 0). */
export function runsByStatus(engine: RunEngine, statuses: readonly string[]): Map<string, number> {
  const rows = engine.database.prepare(`SELECT status, count(*) AS n FROM runs WHERE status IN ${sqlList(statuses)} GROUP BY status`)
    .all(...statuses) as { status: string; n: number }[];
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** Jobs waiting, by queue. */
export function waitingJobsByQueue(engine: RunEngine): Map<string, number> {
  const rows = engine.database.prepare(`SELECT queue, count(*) AS n FROM jobs WHERE state = 'waiting' GROUP BY queue`).all() as { queue: string; n: number }[];
  return new Map(rows.map((r) => [r.queue, r.n]));
}

/** A registered command's name (undefined once deleted). */
export function commandName(engine: RunEngine, commandId: number): string | undefined {
  return (engine.database.prepare('SELECT name FROM commands WHERE id = ?').get(commandId) as { name: string } | undefined)?.name;
}

/** When the run last entered `status` (its status event), if it did. */
export function lastStatusTime(engine: RunEngine, runId: number, status: string): number | undefined {
  return (engine.database.prepare('SELECT time FROM status_events WHERE run_id = ? AND status = ? ORDER BY id DESC LIMIT 1')
    .get(runId, status) as { time: number } | undefined)?.time;
}

/** Bytes of the files the run's finalize provenance record lists as created (what was committed). */
export function uploadedBytes(engine: RunEngine, runId: number): number {
  const row = engine.database.prepare(`SELECT record FROM provenance_records WHERE run_id = ? AND phase = 'finalize'`).get(runId) as { record: string } | undefined;
  if (!row) return 0;
  let total = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    if (typeof o.bytes === 'number' && 'files' in o) { total += o.bytes; return; }
    for (const x of Object.values(o)) walk(x);
  };
  try { walk(JSON.parse(row.record)); } catch { return 0; }
  return total;
}

/** Asks the run database something trivial; throws when it cannot answer (readiness). */
export function pingRunDatabase(engine: RunEngine): void {
  engine.database.ping();
}
