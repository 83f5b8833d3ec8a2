// The run state interface over SQLite: what it answers, that a failure ends the run with the failure table's status
// and hint in one step, that refused transitions change nothing, and that jobs keep their leases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isXcsError } from '../../core/errors.ts';
import { httpStatusOf } from '../../http/error-mapping.ts';
import { openRunDatabase } from './db.ts';
import { JobQueue } from './queue.ts';
import { RunStore } from './run-store.ts';
import { SqliteRunStateStore, type RunStateStore } from './run-state-store.ts';
import { simpleRunSpec } from './simple-spec.ts';
import { failureRule } from './state-machine.ts';
import { dropDataDirSchemas } from '../../../test/helpers/postgres.ts';

function setup(): { state: RunStateStore; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-runstate-'));
  const db = openRunDatabase(join(dir, 'runs.sqlite'));
  const queue = new JobQueue(db);
  const state = new SqliteRunStateStore(new RunStore(db, queue), queue);
  return { state, done() { db.close(); dropDataDirSchemas(dir); rmSync(dir, { recursive: true, force: true }); } };
}

const newRun = { spec: simpleRunSpec({ image: 'xcs-test/busybox:latest', commandLine: 'true' }), userId: 'alice', project: 'P',
  containerNamePattern: 'xcs-test-run-{id}' };

test('records: create, find by id or container name, list, history; a missing run is a 404', async () => {
  const { state, done } = setup();
  try {
    const run = await state.create(newRun);
    assert.equal((await state.require(run.id)).status, 'Queued');
    assert.equal((await state.find(String(run.id))).id, run.id);
    assert.equal((await state.find(`xcs-test-run-${run.id}`)).id, run.id);
    assert.deepEqual((await state.list({ project: 'P' })).map((r) => r.id), [run.id]);
    assert.deepEqual((await state.listAfter(run.id, 10)), []);
    assert.deepEqual((await state.history(run.id)).map((h) => h.status), ['Queued']);
    assert.equal(await state.get(run.id + 1), undefined);
    // The status is http's choice, by code (`http/error-mapping.ts`).
    await assert.rejects(state.find('999'), (e: unknown) => isXcsError(e) && e.code === 'run.not-found' && httpStatusOf(e) === 404);
  } finally {
    done();
  }
});

test('fail() ends the run with the failure table\'s status and hint; a terminal run never moves again', async () => {
  const { state, done } = setup();
  try {
    const run = await state.create(newRun);
    const heard: string[] = [];
    const off = state.onTransition((r) => heard.push(r.status));
    assert.equal(await state.fail(run.id, 'oom', 'out of memory'), true);
    const ended = await state.require(run.id);
    assert.equal(ended.status, failureRule('oom').status);
    assert.equal(ended.failureCode, 'oom');
    assert.equal(ended.failureHint, failureRule('oom').hint);
    assert.deepEqual(heard, [failureRule('oom').status]);
    assert.equal(await state.transition(run.id, 'Running', { source: 'system' }), false);
    assert.equal(await state.fail(run.id, 'non-zero-exit', 'again'), false);
    assert.equal((await state.require(run.id)).status, failureRule('oom').status);
    assert.equal(await state.hasHistoryStatus(run.id, failureRule('oom').status), true);
    off();
  } finally {
    done();
  }
});

test('jobs: a claimed job is leased to its owner; another owner can neither heartbeat nor complete it', async () => {
  const { state, done } = setup();
  try {
    const run = await state.create(newRun);
    await state.enqueue('stage', run.id);
    const job = await state.claim('stage', 'me', 60_000);
    assert.ok(job);
    assert.equal(await state.claim('stage', 'other', 60_000), undefined, 'one job per run and queue, leased once');
    assert.equal(await state.heartbeat(job.id, 'other', 60_000), false);
    assert.equal(await state.complete(job.id, 'other'), false);
    assert.equal(await state.heartbeat(job.id, 'me', 60_000), true);
    assert.equal(await state.complete(job.id, 'me'), true);
    assert.equal(await state.reapExpired(), 0);
  } finally {
    done();
  }
});
