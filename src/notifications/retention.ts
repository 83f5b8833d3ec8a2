/**
 * Retention of the operations tables, which otherwise grow for ever: numbered status events (the outbox) older
 * than `status-event-retention-days`, and finished webhook deliveries and e-mails older than
 * `delivery-retention-days` (server settings). An event is deleted only once the notifier's cursor passed it,
 * so nothing a webhook or an e-mail has not consumed yet is lost; a delivery or e-mail only once it is no longer
 * pending. Rows go in bounded batches, each its own short transaction, yielding to the event loop in between so
 * that a large backlog does not stall the server.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { RunDatabase } from '../runtime/index.ts';

export interface RetentionDays {
  statusEvents: number;
  deliveries: number;
}

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

export interface PruneOptions {
  /** Rows per DELETE (default 500). */
  batch?: number;
  /** Most batches per table in one pass (default 200): the rest waits for the next pass. */
  maxBatches?: number;
}

export interface Pruned { statusEvents: number; deliveries: number; mails: number }

/** The notifier's cursor: events up to it have been turned into deliveries and e-mails. */
function consumedUpTo(db: RunDatabase, cursor: string): number {
  return (db.prepare('SELECT event_id FROM notification_cursors WHERE name = ?').get(cursor) as { event_id: number } | undefined)?.event_id ?? 0;
}

async function inBatches(run: () => number, batch: number, maxBatches: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const n = run();
    total += n;
    if (n < batch) break;
    await nextTurn();
  }
  return total;
}

export async function pruneOperations(db: RunDatabase, days: RetentionDays, now: number, cursor: string,
  options: PruneOptions = {}): Promise<Pruned> {
  const batch = options.batch ?? 500;
  const maxBatches = options.maxBatches ?? 200;
  const eventsBefore = now - days.statusEvents * DAY_MS;
  const finishedBefore = now - days.deliveries * DAY_MS;
  // Ids ascend with time, so scanning by id meets the old rows first.
  const events = db.prepare(`DELETE FROM status_events WHERE id IN
      (SELECT id FROM status_events WHERE id <= ? AND time < ? ORDER BY id LIMIT ?)`);
  const deliveries = db.prepare(`DELETE FROM webhook_deliveries WHERE id IN
      (SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ? ORDER BY id LIMIT ?)`);
  const mails = db.prepare(`DELETE FROM mail_outbox WHERE id IN
      (SELECT id FROM mail_outbox WHERE state <> 'pending' AND created_at < ? ORDER BY id LIMIT ?)`);
  return {
    statusEvents: await inBatches(() => events.run(consumedUpTo(db, cursor), eventsBefore, batch).changes, batch, maxBatches),
    deliveries: await inBatches(() => deliveries.run(finishedBefore, batch).changes, batch, maxBatches),
    mails: await inBatches(() => mails.run(finishedBefore, batch).changes, batch, maxBatches),
  };
}
