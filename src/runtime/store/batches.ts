/**
 * Bulk launches as batches: the runs one bulk launch created, so that notifications can summarise a batch once
 * (one e-mail digest, one `batch.completed` webhook) instead of once per run. A batch is opened before its first
 * launch and closed after its last; until then notifiers hold back its runs (and the launching user's runs
 * created meanwhile, which may still be added).
 */
import type { RunDatabase } from './db.ts';

/** A batch left open this long (its launcher crashed) counts as closed. */
export const STALE_BATCH_MS = 10 * 60_000;

export function openBatch(db: RunDatabase, batchId: string, userId: string, now = Date.now()): void {
  db.prepare('INSERT INTO batches (id, user_id, opened_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(batchId, userId, now);
}

export function addToBatch(db: RunDatabase, batchId: string, runId: number): void {
  db.prepare('INSERT INTO batch_runs (batch_id, run_id) VALUES (?, ?) ON CONFLICT DO NOTHING').run(batchId, runId);
}

export function closeBatch(db: RunDatabase, batchId: string, now = Date.now()): void {
  db.prepare('UPDATE batches SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(now, batchId);
}

export interface BatchState {
  id: string;
  userId: string;
  closed: boolean;
  runIds: number[];
  announced: boolean;
}

export function batchOfRun(db: RunDatabase, runId: number, now = Date.now()): BatchState | undefined {
  const row = db.prepare('SELECT batch_id FROM batch_runs WHERE run_id = ?').get(runId) as { batch_id: string } | undefined;
  return row ? batchState(db, row.batch_id, now) : undefined;
}

export function batchState(db: RunDatabase, batchId: string, now = Date.now()): BatchState | undefined {
  const b = db.prepare('SELECT * FROM batches WHERE id = ?').get(batchId) as
    { id: string; user_id: string; opened_at: number; closed_at: number | null; announced: number } | undefined;
  if (!b) return undefined;
  const runIds = (db.prepare('SELECT run_id FROM batch_runs WHERE batch_id = ? ORDER BY run_id').all(batchId) as { run_id: number }[])
    .map((r) => r.run_id);
  return { id: b.id, userId: b.user_id, closed: b.closed_at !== null || now - b.opened_at > STALE_BATCH_MS, runIds, announced: b.announced === 1 };
}

/** Whether `userId` has a batch still being launched that a run created at `createdAt` may yet join. */
export function openBatchMayClaim(db: RunDatabase, userId: string, createdAt: number, now = Date.now()): boolean {
  const row = db.prepare(`SELECT 1 FROM batches WHERE user_id = ? AND closed_at IS NULL AND opened_at <= ? AND opened_at > ?`)
    .get(userId, createdAt, now - STALE_BATCH_MS);
  return row !== undefined;
}

/** Marks the batch announced; true only for the first caller (a batch is announced once). */
export function markBatchAnnounced(db: RunDatabase, batchId: string): boolean {
  return db.prepare('UPDATE batches SET announced = 1 WHERE id = ? AND announced = 0').run(batchId).changes === 1;
}
