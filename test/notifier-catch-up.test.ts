/**
 * The notifier's first pass over a long history of ended runs (a server started on a data directory whose runs
 * were never notified): the cursor moves past every event, deliveries are recorded for the webhooks that hear
 * them, and a run's record is read only for an event someone listens to — none at all without webhooks and
 * e-mail (reading each of 10,000 runs cost the server a second of CPU and ~70 MB it kept).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedRuns } from '../scripts/seed-runs.ts';
import { openRunDatabase, type RunDatabase } from '../src/runtime/store/db.ts';
import { JobQueue } from '../src/runtime/store/queue.ts';
import { RunStore } from '../src/runtime/store/run-store.ts';
import { StatusFeed } from '../src/runtime/store/status-events.ts';
import { Notifier } from '../src/notifications/notifier.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

const RUNS = 40;

function seeded(): { db: RunDatabase; notifier: Notifier; reads: () => number; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-notifier-'));
  // Run i: project P{i % 3}; Failed when i % 4 === 3, Complete otherwise.
  seedRuns(dir, RUNS, { projects: 3 });
  const db = openRunDatabase(join(dir, 'runs.sqlite'));
  const store = new RunStore(db, new JobQueue(db));
  let reads = 0;
  const get = store.get.bind(store);
  store.get = (id) => { reads++; return get(id); };
  const notifier = new Notifier({
    db, store, feed: new StatusFeed(db, store), summarize: (run) => ({ id: run.id, project: run.project, status: run.status }),
    // Nothing is sent: the test is about what the pass records.
    mayReceive: async () => false, emailEnabled: () => false,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return { db, notifier, reads: () => reads, close: () => { db.close(); dropDataDirSchemas(dir); rmSync(dir, { recursive: true, force: true }); } };
}

function cursorAtEnd(db: RunDatabase): void {
  const cursor = (db.prepare(`SELECT event_id FROM notification_cursors WHERE name = 'notifications'`).get() as { event_id: number }).event_id;
  const last = (db.prepare('SELECT max(id) AS id FROM status_events').get() as { id: number }).id;
  assert.equal(cursor, last, 'the cursor is past every event');
}

test('without webhooks or e-mail the first pass reads no run and moves the cursor to the end', async () => {
  const s = seeded();
  try {
    await s.notifier.pump();
    cursorAtEnd(s.db);
    assert.equal(s.reads(), 0);
  } finally {
    s.close();
  }
});

test('the first pass records a delivery for each event a webhook hears, reading only those events\' runs', async () => {
  const s = seeded();
  try {
    const hook = s.notifier.webhooks.create({ url: 'http://127.0.0.1:9/hook', events: ['run.failed'], secret: 's'.repeat(32), project: 'P1' }, 'owner');
    await s.notifier.pump();
    cursorAtEnd(s.db);
    const failed = Array.from({ length: RUNS }, (_, i) => i).filter((i) => i % 4 === 3);
    // Every Failed event is read (the hook hears run.failed), to learn its project; no Complete one.
    assert.equal(s.reads(), failed.length);
    const bodies = s.notifier.webhooks.deliveries(hook.id).map((d) => JSON.parse(d.body) as { event: string; run: { project: string; status: string } });
    assert.equal(bodies.length, failed.filter((i) => i % 3 === 1).length, 'one delivery per failed run of P1');
    for (const b of bodies) {
      assert.equal(b.event, 'run.failed');
      assert.equal(b.run.project, 'P1');
      assert.match(b.run.status, /^Failed/);
    }
  } finally {
    s.close();
  }
});
