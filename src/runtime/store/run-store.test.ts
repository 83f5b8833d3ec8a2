import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRunDatabase } from './db.ts';
import { JobQueue } from './queue.ts';
import { RunStore } from './run-store.ts';
import type { RunSpec } from './run-spec.ts';
import { simpleRunSpec } from './simple-spec.ts';
import { canTransition, failureRule, isTerminal } from './state-machine.ts';
import { dropDataDirSchemas } from '../../../test/helpers/postgres.ts';

function minimalSpec(): RunSpec {
  return simpleRunSpec({ image: 'xcs-test/busybox:latest', commandLine: 'true' });
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-runstore-'));
  const db = openRunDatabase(join(dir, 'runs.sqlite'));
  let clock = 1000;
  const now = () => clock;
  const queue = new JobQueue(db, now);
  const store = new RunStore(db, queue, now);
  return {
    dir, db, queue, store, tick(ms: number) { clock += ms; },
    done() { db.close(); dropDataDirSchemas(dir); rmSync(dir, { recursive: true, force: true }); },
  };
}

test('state machine: terminal statuses are never left; failures are reachable from every active phase', () => {
  assert.equal(isTerminal('Failed (Upload)'), true);
  assert.equal(isTerminal('Killed (Out of Memory)'), true);
  assert.equal(isTerminal('Finalizing'), false);
  assert.equal(canTransition('Complete', 'Running'), false);
  assert.equal(canTransition('Complete', 'Failed'), false);
  assert.equal(canTransition('Queued', 'Running'), false);
  assert.equal(canTransition('Created', 'Waiting'), true);
  for (const from of ['Queued', 'Staging', 'Created', 'Running', 'Waiting', 'Finalizing']) {
    assert.equal(canTransition(from, 'Killed'), true, from);
  }
  assert.equal(failureRule('oom').status, 'Killed (Out of Memory)');
  assert.equal(failureRule('non-zero-exit').status, 'Failed');
  assert.match(failureRule('image-missing').hint, /image/);
});

test('run store: create queues a staging job; transitions record history; terminal is final', () => {
  const t = setup();
  try {
    const run = t.store.create({ spec: minimalSpec(), userId: 'alice', project: 'P1', containerNamePattern: 'xcs-x-run-{id}' });
    assert.equal(run.status, 'Queued');
    assert.equal(run.containerName, `xcs-x-run-${run.id}`);
    assert.equal(t.queue.get('stage', run.id)?.state, 'waiting');

    assert.equal(t.store.transition(run.id, 'Running', { source: 'system' }), false, 'Queued → Running skips phases');
    assert.equal(t.store.transition(run.id, 'Staging', { source: 'system' }), true);
    t.tick(5);
    assert.equal(t.store.transition(run.id, 'Failed', {
      source: 'system', message: 'boom', exitCode: '3', failure: { code: 'non-zero-exit', hint: 'h' },
    }), true);
    assert.equal(t.store.transition(run.id, 'Complete', { source: 'system' }), false);
    assert.equal(t.store.transition(run.id, 'Killed', { source: 'user' }), false);

    const after = t.store.require(run.id);
    assert.equal(after.status, 'Failed');
    assert.equal(after.failureCode, 'non-zero-exit');
    assert.equal(after.exitCode, '3');
    assert.deepEqual(t.store.history(run.id).map((h) => h.status), ['Queued', 'Staging', 'Failed']);
    assert.equal(t.store.history(run.id)[2].message, 'boom');
    // The terminal status dropped the pending staging job.
    assert.equal(t.queue.get('stage', run.id)?.state, 'done');
  } finally { t.done(); }
});

test('run store: a transition can enqueue its follow-up job atomically; find by id, container id, name', () => {
  const t = setup();
  try {
    const run = t.store.create({ spec: minimalSpec(), userId: 'alice', project: null, containerNamePattern: 'n-{id}' });
    t.store.transition(run.id, 'Staging', { source: 'system' });
    t.store.transition(run.id, 'Created', { source: 'system' });
    t.store.setContainer(run.id, 'abcdef0123456789abcdef');
    assert.equal(t.store.transition(run.id, 'Waiting', { source: 'event', exitCode: '0', enqueue: 'finalize' }), true);
    assert.equal(t.queue.get('finalize', run.id)?.state, 'waiting');
    assert.equal(t.store.find(String(run.id))?.id, run.id);
    assert.equal(t.store.find('abcdef012345')?.id, run.id);
    assert.equal(t.store.find(`n-${run.id}`)?.id, run.id);
    assert.equal(t.store.find('nope'), undefined);
    t.store.recordExit(run.id, 1, false);
    t.store.recordExit(run.id, 2, true);
    const r = t.store.require(run.id);
    assert.equal(r.exitCode, '0', 'the first reported exit wins');
    assert.equal(r.oomKilled, true);
  } finally { t.done(); }
});

test('queue: leases expire and are reaped; leases of dead replicas and orphaned ones are released; heartbeats keep a lease', () => {
  const t = setup();
  try {
    const a = t.store.create({ spec: minimalSpec(), userId: 'u', project: null, containerNamePattern: '{id}' });
    const b = t.store.create({ spec: minimalSpec(), userId: 'u', project: null, containerNamePattern: '{id}' });
    const j1 = t.queue.claim('stage', 'w1', 100);
    assert.equal(j1?.runId, a.id);
    const j2 = t.queue.claim('stage', 'w1', 100);
    assert.equal(j2?.runId, b.id);
    assert.equal(t.queue.claim('stage', 'w1', 100), undefined);

    t.tick(60);
    assert.equal(t.queue.heartbeat(j1!.id, 'w1', 100), true);
    t.tick(60);
    assert.equal(t.queue.reapExpired(), 1, 'only the job without heartbeat expired');
    assert.equal(t.queue.heartbeat(j2!.id, 'w1', 100), false, 'a reaped job is no longer ours');
    const again = t.queue.claim('stage', 'w2', 100);
    assert.equal(again?.runId, b.id);
    assert.equal(again?.attempts, 2);
    assert.equal(t.queue.complete(j2!.id, 'w1'), false, 'the old owner cannot complete it');

    // Replica w2 is known dead: its lease goes back at once, w1's (no replica row: a process from before
    // replicas were recorded, or one forgotten) only with releaseOrphaned once w1 is no known replica.
    t.db.prepare(`INSERT INTO replicas (id, host, pid, started_at, heartbeat_at) VALUES ('w1', 'h', 1, 0, 0)`).run();
    assert.equal(t.queue.releaseLeasesOf('w2'), 1);
    assert.equal(t.queue.releaseOrphaned(), 0, 'w1 is a known replica');
    t.db.prepare(`DELETE FROM replicas WHERE id = 'w1'`).run();
    assert.equal(t.queue.releaseOrphaned(), 1);
    assert.equal(t.queue.count('stage', 'waiting'), 2);

    // Enqueue is idempotent, and a finished job can be queued again.
    t.queue.enqueue('stage', a.id);
    assert.equal(t.queue.count('stage', 'waiting'), 2);
    const j = t.queue.claim('stage', 'w3', 100)!;
    assert.equal(t.queue.complete(j.id, 'w3'), true);
    t.queue.enqueue('stage', j.runId);
    assert.equal(t.queue.get('stage', j.runId)?.state, 'waiting');
  } finally { t.done(); }
});

test('run database survives reopening (durable queue)', () => {
  const t = setup();
  try {
    const run = t.store.create({ spec: minimalSpec(), userId: 'u', project: null, containerNamePattern: '{id}' });
    t.db.close();
    const db2 = openRunDatabase(join(t.dir, 'runs.sqlite'));
    const q2 = new JobQueue(db2);
    assert.equal(q2.get('stage', run.id)?.state, 'waiting');
    assert.equal(new RunStore(db2, q2).require(run.id).spec.image, 'xcs-test/busybox:latest');
    db2.close();
  } finally { dropDataDirSchemas(t.dir); rmSync(t.dir, { recursive: true, force: true }); }
});

test('reconciliation reads only unsettled runs, through the partial index, however long the history', () => {
  const t = setup();
  try {
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) ids.push(t.store.create({ spec: minimalSpec(), userId: 'u', project: null, containerNamePattern: 'c-{id}' }).id);
    // 48 finished and cleaned up, one finished but not cleaned up, one still queued.
    for (const id of ids.slice(0, 49)) t.store.transition(id, 'Failed', { source: 'system' });
    for (const id of ids.slice(0, 48)) t.store.markCleanedUp(id);
    assert.deepEqual(t.store.listUnsettled().map((r) => r.id), [ids[48], ids[49]]);
    if (t.db.dialect === 'sqlite') { // PostgreSQL's planner scans a table this small whatever its indexes
      const plan = t.db.prepare('EXPLAIN QUERY PLAN SELECT * FROM runs WHERE cleaned_up = 0 ORDER BY id').all() as { detail: string }[];
      assert.ok(plan.some((p) => p.detail.includes('runs_unsettled')), JSON.stringify(plan));
    }
  } finally {
    t.done();
  }
});

test('setup/wrapup records: created once per index, ended once (a re-run cannot rewrite the outcome)', () => {
  const t = setup();
  try {
    const run = t.store.create({ spec: minimalSpec(), userId: 'u', project: null, containerNamePattern: 'c-{id}' });
    const a = t.store.ensureAux(run.id, 'setup', 0, 'c-1-setup-1');
    assert.equal(t.store.ensureAux(run.id, 'setup', 0, 'c-1-setup-1').id, a.id);
    t.store.setAuxContainer(a.id, 'abc');
    t.store.endAux(a.id, 'Complete', '0', 'done', ['/x/stdout.log']);
    t.store.endAux(a.id, 'Failed', '1', 'late');
    t.store.setAuxContainer(a.id, 'other');
    const after = t.store.aux(run.id, 'setup', 0)!;
    assert.deepEqual([after.status, after.exitCode, after.containerId, after.logPaths], ['Complete', '0', 'abc', ['/x/stdout.log']]);
  } finally {
    t.done();
  }
});
