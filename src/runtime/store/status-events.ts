/**
 * The numbered status events of all runs (`status_events`, written by `RunStore` in the transaction of each
 * status change) and a feed that hands them to subscribers as they are committed. The event id orders
 * events across runs and survives restarts, so a client that saw event N resumes from N without gaps, and the
 * notifiers use the table as their outbox.
 */
import type { SyncStatement } from '../../core/database/sync-sql.ts';
import type { RunDatabase } from './db.ts';
import type { RunStore } from './run-store.ts';

export interface StatusEvent {
  id: number;
  runId: number;
  status: string;
  /** Milliseconds since the epoch, when the status was recorded. */
  time: number;
  exitCode: string | null;
  message: string | null;
  /** The failure's hint, on terminal failures. */
  hint: string | null;
}

interface EventRow { id: number; run_id: number; status: string; time: number; exit_code: string | null; message: string | null; hint: string | null }

function toEvent(r: EventRow): StatusEvent {
  return { id: r.id, runId: r.run_id, status: r.status, time: r.time, exitCode: r.exit_code, message: r.message, hint: r.hint };
}

// Prepared once per database: every stream subscriber asks this after every event.
const afterStatements = new WeakMap<RunDatabase, SyncStatement<[number, number]>>();

/** Events after `afterId`, oldest first, at most `limit`. */
export function eventsAfter(db: RunDatabase, afterId: number, limit = 1000): StatusEvent[] {
  let statement = afterStatements.get(db);
  if (!statement) {
    statement = db.prepare<[number, number]>('SELECT * FROM status_events WHERE id > ? ORDER BY id LIMIT ?');
    afterStatements.set(db, statement);
  }
  return (statement.all(afterId, limit) as EventRow[]).map(toEvent);
}

export function latestEventId(db: RunDatabase): number {
  return (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM status_events').get() as { id: number }).id;
}

export type StatusListener = (event: StatusEvent) => void;

/** How soon a subscriber hears of a status change another replica made. */
const POLL_MS = 500;
/** Events read at a time. */
const POLL_BATCH = 1000;

/**
 * Follows the store's committed transitions and passes each new event, once and in order, to every subscriber.
 * It reads the table rather than trusting the transition callback, so events committed together (a retry and
 * its new run) all arrive, with their ids.
 */
export class StatusFeed {
  readonly #db: RunDatabase;
  readonly #listeners = new Set<StatusListener>();
  #last: number;
  #off: () => void;
  #timer: NodeJS.Timeout;

  constructor(db: RunDatabase, store: RunStore) {
    this.#db = db;
    this.#last = latestEventId(db);
    this.#off = store.onTransition(() => this.poll());
    // Other replicas on the same database change statuses too, unseen by this process's store: while anyone
    // listens, the table is read every POLL_MS as well (one indexed read when nothing is new).
    this.#timer = setInterval(() => { if (this.#listeners.size > 0) this.poll(); }, POLL_MS);
    this.#timer.unref();
  }

  /** Delivers the events committed since the last call. Safe to call at any time. */
  poll(): void {
    for (;;) {
      const batch = eventsAfter(this.#db, this.#last, POLL_BATCH);
      for (const e of batch) {
        this.#last = e.id;
        for (const l of this.#listeners) {
          try { l(e); } catch { /* a subscriber's failure must not stop the others or the engine */ }
        }
      }
      // A short batch was all there was (one read per status change, not two).
      if (batch.length < POLL_BATCH) return;
    }
  }

  get lastId(): number {
    return this.#last;
  }

  subscribe(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.#listeners.size;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#off();
    this.#listeners.clear();
  }
}
