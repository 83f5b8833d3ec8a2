// Retention of the operations tables on a real run database: old rows are inserted with old times (no waiting).
// Consumed old events go, unconsumed ones stay whatever their age; finished old deliveries and e-mails go,
// pending ones stay; the work is split in bounded batches and a pass stops at its batch budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRunDatabase, type RunDatabase } from '../src/runtime/store/db.ts';
import { pruneOperations } from '../src/notifications/retention.ts';
import { Notifier } from '../src/notifications/notifier.ts';
import { JobQueue } from '../src/runtime/store/queue.ts';
import { RunStore } from '../src/runtime/store/run-store.ts';
import { StatusFeed } from '../src/runtime/store/status-events.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

function withDb(body: (db: RunDatabase) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcs-retention-'));
    const db = openRunDatabase(join(dir, 'runs.db'));
    try { await body(db); } finally { db.close(); dropDataDirSchemas(dir); rmSync(dir, { recursive: true, force: true }); }
  };
}

function addEvents(db: RunDatabase, count: number, ageDays: number): void {
  const insert = db.prepare('INSERT INTO status_events (run_id, status, time) VALUES (?, ?, ?)');
  db.transaction(() => { for (let i = 0; i < count; i++) insert.run(1, 'Complete', NOW - ageDays * DAY); })();
}

const cursorAt = (db: RunDatabase, id: number) => db.prepare(`INSERT INTO notification_cursors (name, event_id) VALUES ('notifications', ?)
  ON CONFLICT(name) DO UPDATE SET event_id = excluded.event_id`).run(id);
const ids = (db: RunDatabase, table: string) => (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);

test('old consumed events are deleted; events the notifier has not read yet are kept, however old', withDb(async (db) => {
  addEvents(db, 10, 40); // ids 1-10: old
  addEvents(db, 5, 1); // ids 11-15: recent
  addEvents(db, 3, 50); // ids 16-18: old but (below) not consumed yet
  const days = { statusEvents: 30, deliveries: 30 };
  // Nothing consumed yet (no cursor): nothing goes.
  assert.deepEqual(await pruneOperations(db, days, NOW, 'notifications'), { statusEvents: 0, deliveries: 0, mails: 0 });
  cursorAt(db, 15);
  const pruned = await pruneOperations(db, days, NOW, 'notifications', { batch: 3 });
  assert.equal(pruned.statusEvents, 10);
  assert.deepEqual(ids(db, 'status_events'), [11, 12, 13, 14, 15, 16, 17, 18]);
  // A shorter retention reaches the recent ones too, still only up to the cursor.
  assert.equal((await pruneOperations(db, { statusEvents: 1, deliveries: 30 }, NOW + DAY, 'notifications')).statusEvents, 5);
  assert.deepEqual(ids(db, 'status_events'), [16, 17, 18]);
  cursorAt(db, 18);
  assert.equal((await pruneOperations(db, days, NOW, 'notifications')).statusEvents, 3);
  assert.deepEqual(ids(db, 'status_events'), []);
}));

test('finished deliveries and e-mails past retention are deleted, pending ones kept', withDb(async (db) => {
  db.prepare(`INSERT INTO webhooks (id, url, events, secret, project, owner, created_at) VALUES (1, 'https://h.example/x', '[]', 's', NULL, 'admin', 0)`).run();
  const delivery = db.prepare(`INSERT INTO webhook_deliveries (webhook_id, event, body, state, next_at, created_at) VALUES (1, 'run.failed', '{}', ?, ?, ?)`);
  const mail = db.prepare(`INSERT INTO mail_outbox (user_id, run_id, status, state, next_at, created_at) VALUES ('u', 1, 'Failed', ?, ?, ?)`);
  const old = NOW - 31 * DAY;
  const recent = NOW - 2 * DAY;
  for (const [state, at] of [['delivered', old], ['failed', old], ['pending', old], ['delivered', recent]] as const) delivery.run(state, at, at);
  for (const [state, at] of [['sent', old], ['dropped', old], ['failed', old], ['pending', old], ['sent', recent]] as const) mail.run(state, at, at);
  const pruned = await pruneOperations(db, { statusEvents: 30, deliveries: 30 }, NOW, 'notifications');
  assert.deepEqual(pruned, { statusEvents: 0, deliveries: 2, mails: 3 });
  assert.deepEqual((db.prepare('SELECT state FROM webhook_deliveries ORDER BY id').all() as { state: string }[]).map((r) => r.state), ['pending', 'delivered']);
  assert.deepEqual((db.prepare('SELECT state FROM mail_outbox ORDER BY id').all() as { state: string }[]).map((r) => r.state), ['pending', 'sent']);
}));

test('a large backlog goes in bounded batches; a pass stops at its budget and the next one continues', withDb(async (db) => {
  addEvents(db, 2500, 60);
  cursorAt(db, 2500);
  const days = { statusEvents: 30, deliveries: 30 };
  // Other work gets the event loop between batches: a callback queued now runs while the pass is half done.
  let seenMidway = -1;
  const pass = pruneOperations(db, days, NOW, 'notifications', { batch: 500, maxBatches: 3 });
  setImmediate(() => { seenMidway = ids(db, 'status_events').length; });
  const first = await pass;
  assert.ok(seenMidway > 1000 && seenMidway < 2500, `rows left when other work ran: ${seenMidway}`);
  assert.equal(first.statusEvents, 1500, 'three batches of 500, then the pass stops');
  assert.equal(ids(db, 'status_events').length, 1000);
  assert.equal((await pruneOperations(db, days, NOW, 'notifications', { batch: 500, maxBatches: 3 })).statusEvents, 1000);
  assert.equal(ids(db, 'status_events').length, 0);
}));

test('the notifier prunes with the retention the settings give, after it consumed the events', withDb(async (db) => {
  const store = new RunStore(db, new JobQueue(db, () => NOW), () => NOW);
  const feed = new StatusFeed(db, store);
  let days = { statusEvents: 60, deliveries: 30 };
  const quiet = { info: () => {}, warn: () => {}, error: () => {} };
  const notifier = new Notifier({ db, store, feed, summarize: () => ({}), mayReceive: async () => true, emailEnabled: () => false,
    log: quiet, now: () => NOW, retention: () => days });
  addEvents(db, 4, 45);
  assert.equal((await notifier.prune()).statusEvents, 0, 'not consumed yet');
  await notifier.pump(); // reads the events (for runs that no longer exist: nothing to send) and moves its cursor
  assert.equal((await notifier.prune()).statusEvents, 0, 'younger than the 60 days the settings say');
  days = { statusEvents: 30, deliveries: 30 };
  assert.equal((await notifier.prune()).statusEvents, 4);
  await notifier.stop();
  feed.close();
}));
