/**
 * The run database's migrations on both dialects: a database written by a newer XCS is refused on both, and
 * replicas starting at once on a fresh PostgreSQL schema migrate it once (the advisory lock), all of them starting, and
 * replicas claiming jobs from one queue at once never both win one (SERIALIZABLE, retried); and queries answering the
 * same on both dialects.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XcsError } from '../../core/errors.ts';
import { SqliteSyncDatabase } from '../../core/database/sync-sql.ts';
import { openRunDatabaseAt, RUN_SCHEMA_VERSION, type RunDatabase } from './db.ts';
import { ProvenanceStore } from '../provenance/provenance-store.ts';
import { JobQueue } from './queue.ts';
import { RunQuery, type RunColumn, type RunCondition } from './run-query.ts';
import type { RunSpec } from './run-spec.ts';
import { RunStore } from './run-store.ts';
import { dropSchema, postgresUrl, testSchema } from '../../../test/helpers/postgres.ts';

function isSchemaNewer(found: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof XcsError, String(e));
    assert.equal(e.code, 'database.schema-newer');
    assert.match(e.message, new RegExp(`schema version ${found}, newer than this XCS knows \\(${RUN_SCHEMA_VERSION}\\)`));
    assert.ok(e.hint);
    return true;
  };
}

test('SQLite: a run database of a newer schema version is refused, naming both versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcs-rundb-'));
  try {
    const file = join(dir, 'runs.sqlite');
    openRunDatabaseAt({ kind: 'sqlite' }, file).close();
    const raw = new SqliteSyncDatabase(file);
    raw.raw.pragma(`user_version = ${RUN_SCHEMA_VERSION + 3}`);
    raw.close();
    assert.throws(() => openRunDatabaseAt({ kind: 'sqlite' }, file), isSchemaNewer(RUN_SCHEMA_VERSION + 3));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: a run schema of a newer version is refused, naming both versions', () => {
  const schema = testSchema();
  try {
    const target = { kind: 'postgres' as const, url: postgresUrl(), schema };
    const db = openRunDatabaseAt(target, 'unused');
    assert.deepEqual(db.prepare('SELECT version FROM runs_schema_version').all(), [{ version: RUN_SCHEMA_VERSION }]);
    db.prepare('UPDATE runs_schema_version SET version = ?').run(RUN_SCHEMA_VERSION + 1);
    db.close();
    assert.throws(() => openRunDatabaseAt(target, 'unused'), isSchemaNewer(RUN_SCHEMA_VERSION + 1));
  } finally {
    dropSchema(schema);
  }
});

/**
 * Runs `script` (an ES module, from the repository root) in `n` processes on the PostgreSQL `schema`, started together:
 * each waits for a line on its stdin (`await go`), sent once every process is up, so slow start-ups do not serialise them.
 */
async function replicas(n: number, schema: string, script: string): Promise<Array<{ code: number | null; out: string }>> {
  const prelude = `const go = new Promise((r) => { process.stdout.write('ready\\n'); process.stdin.once('data', r); });`;
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `${prelude}\n${script}`],
      { env: { ...process.env, PG_URL: postgresUrl(), PG_SCHEMA: schema }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const ready = new Promise<void>((r) => child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.startsWith('ready\n')) r(); }));
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const ended = new Promise<{ code: number | null; out: string }>((done) => child.on('close', (code) => done({ code, out: out.replace(/^ready\n/, '') })));
    return { child, ready, ended };
  });
  await Promise.race([Promise.all(children.map((c) => c.ready)), Promise.all(children.map((c) => c.ended))]);
  for (const c of children) c.child.stdin.end('go\n');
  return Promise.all(children.map((c) => c.ended));
}

test('PostgreSQL: replicas starting at once on a fresh schema migrate it once and all start', async () => {
  const schema = testSchema();
  const script = `
    import { openRunDatabaseAt } from './src/runtime/store/db.ts';
    await go;
    const db = openRunDatabaseAt({ kind: 'postgres', url: process.env.PG_URL, schema: process.env.PG_SCHEMA }, 'unused');
    db.close();
    console.log('started');`;
  try {
    const results = await replicas(3, schema, script);
    for (const r of results) assert.deepEqual([r.code, r.out.trim()], [0, 'started']);
    const db = openRunDatabaseAt({ kind: 'postgres', url: postgresUrl(), schema }, 'unused');
    try {
      assert.deepEqual(db.prepare('SELECT version FROM runs_schema_version').all(), [{ version: RUN_SCHEMA_VERSION }]);
      assert.deepEqual(db.prepare('SELECT slot, v FROM runs_version').all(), [{ slot: 0, v: 0 }], 'the counter row was inserted once');
    } finally {
      db.close();
    }
  } finally {
    dropSchema(schema);
  }
});

test('PostgreSQL: replicas claiming from one queue at once never both win a job', async () => {
  const schema = testSchema();
  const jobs = 150;
  try {
    const db = openRunDatabaseAt({ kind: 'postgres', url: postgresUrl(), schema }, 'unused');
    const queue = new JobQueue(db);
    for (let run = 1; run <= jobs; run++) queue.enqueue('stage', run, 0);
    db.close();
    const script = `
      import { openRunDatabaseAt } from './src/runtime/store/db.ts';
      import { JobQueue } from './src/runtime/store/queue.ts';
      const db = openRunDatabaseAt({ kind: 'postgres', url: process.env.PG_URL, schema: process.env.PG_SCHEMA }, 'unused');
      const queue = new JobQueue(db);
      await go;
      const won = [];
      const pause = new Int32Array(new SharedArrayBuffer(4));
      // A little work per job (as a worker has), so that the replicas' claims interleave on a busy machine.
      for (let job; (job = queue.claim('stage', 'replica-' + process.pid, 60000)); ) { won.push(job.runId); Atomics.wait(pause, 0, 0, 3); }
      db.close();
      console.log(JSON.stringify(won));`;
    const results = await replicas(3, schema, script);
    for (const r of results) assert.equal(r.code, 0, r.out);
    const won = results.map((r) => JSON.parse(r.out.trim()) as number[]);
    const all = won.flat().sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: jobs }, (_, i) => i + 1), 'every job claimed exactly once');
    assert.ok(won.filter((w) => w.length > 0).length >= 2, `the replicas shared the work: ${won.map((w) => w.length).join(', ')}`);
  } finally {
    dropSchema(schema);
  }
});

test('PostgreSQL: replicas writing at once bump their own slot of the change counter, once a transaction: neither waits', () => {
  const schema = testSchema();
  const target = { kind: 'postgres' as const, url: postgresUrl(), schema };
  const slotOf = (db: RunDatabase) => db.prepare<[], { s: number }>('SELECT pg_backend_pid() % 1024 AS s').get()!.s;
  const a = openRunDatabaseAt(target, 'unused');
  let b = openRunDatabaseAt(target, 'unused');
  try {
    // Two connections share a slot once in 1024 (their process ids): then another connection is taken.
    while (slotOf(b) === slotOf(a)) { b.close(); b = openRunDatabaseAt(target, 'unused'); }
    // Waiting for the other's row lock would fail at once instead of hanging this single-threaded test.
    b.exec("SET lock_timeout = '2s'");
    const [one, two] = [a, b].map((db) => new RunStore(db, new JobQueue(db)));
    const query = new RunQuery(a, '/nonexistent');
    const v0 = query.version();
    const spec = { 'command-id': 1, 'wrapper-id': 1, image: 'x' } as unknown as RunSpec;
    a.transaction(() => {
      one.create({ spec, userId: 'u', project: null, containerNamePattern: 'a-{id}' });
      one.transition(1, 'Staging', { source: 'system' });
      // The other connection writes (and commits) while this transaction has bumped its slot, uncommitted.
      two.create({ spec, userId: 'u', project: null, containerNamePattern: 'b-{id}' });
    })();
    assert.equal(query.version(), v0 + 2, 'one step per transaction, however many rows it wrote');
    assert.equal(a.prepare<[], { n: number }>('SELECT count(*) AS n FROM runs_version WHERE v > 0').get()!.n, 2, 'in two slots');
  } finally {
    a.close();
    b.close();
    dropSchema(schema);
  }
});

/** Each test below runs on SQLite and on PostgreSQL, with the same expectations. */
function onBothDialects(name: string, body: (db: RunDatabase) => void): void {
  test(`SQLite: ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcs-rundb-'));
    const db = openRunDatabaseAt({ kind: 'sqlite' }, join(dir, 'runs.sqlite'));
    try { body(db); } finally { db.close(); rmSync(dir, { recursive: true, force: true }); }
  });
  test(`PostgreSQL: ${name}`, () => {
    const schema = testSchema();
    const db = openRunDatabaseAt({ kind: 'postgres', url: postgresUrl(), schema }, 'unused');
    try { body(db); } finally { db.close(); dropSchema(schema); }
  });
}

onBothDialects('provenance lookups: a project (no ancestors), descendants by key range, phases in order, append-only', (db) => {
  const prov = new ProvenanceStore(db);
  const obj = (key: string) => ({ role: 'input' as const, name: 'session', key, uri: `/archive${key}` });
  assert.equal(prov.append({ runId: 1, phase: 'launch', record: { a: 1 }, owner: { userId: 'u', project: 'P' },
    objects: [obj('/projects/P/subjects/S/experiments/E')], images: [{ kind: 'id', value: 'sha256:1' }] }), true);
  assert.equal(prov.append({ runId: 1, phase: 'launch', record: { a: 2 } }), false, 'a phase is written once');
  prov.append({ runId: 1, phase: 'start', record: { b: 2 } });
  prov.append({ runId: 1, phase: 'finalize', record: { c: 3 } });
  prov.append({ runId: 2, phase: 'launch', record: {}, objects: [obj('/projects/P2/subjects/S')] });
  // '/projects/P' is no prefix of '/projects/P2' in key order (byte-wise on both dialects).
  assert.deepEqual(prov.objectHits(['input'], '/projects/P').map((h) => h.runId), [1]);
  assert.deepEqual(prov.objectHits(['input'], '/projects/P/subjects/S/experiments/E/scans/1').map((h) => h.runId), [1]);
  assert.deepEqual(prov.objectHits([], '/projects/P', []), []);
  assert.deepEqual(prov.runsByImage(['sha256:1'], ['id', 'digest']), [1]);
  // Written within the same millisecond, the phases still read back in their order.
  assert.deepEqual(prov.phases(1).map((p) => [p.phase, p.record]), [['launch', { a: 1 }], ['start', { b: 2 }], ['finalize', { c: 3 }]]);
  assert.throws(() => db.prepare('DELETE FROM provenance_records WHERE run_id = ?').run(1), /append-only/);
  assert.throws(() => db.prepare("UPDATE provenance_runs SET user_id = 'x' WHERE run_id = ?").run(1), /append-only/);
});

onBothDialects('run listings: empty lists, case-insensitive like, docker-image in the spec, version counter', (db) => {
  const store = new RunStore(db, new JobQueue(db));
  const query = new RunQuery(db, '/nonexistent');
  const spec = (image: string) => ({ 'command-id': 1, 'wrapper-id': 1, image } as unknown as RunSpec);
  const v0 = query.version();
  const a = store.create({ spec: spec('xnat/DCM2NIIX:1'), userId: 'ann', project: 'P', containerNamePattern: 'Run-{id}' });
  const b = store.create({ spec: spec('other/tool:2'), userId: 'bob', project: 'Q', containerNamePattern: 'run-{id}' });
  assert.ok(query.version() > v0, 'the counter moved');
  assert.equal(store.countInStatuses([]), 0);
  assert.deepEqual(store.runsInStatuses('stage', []), []);
  assert.deepEqual(store.runsInStatuses('stage', ['Queued']), [{ id: a.id, jobWaits: true }, { id: b.id, jobWaits: true }]);
  const search = (conditions: RunCondition[], column: RunColumn = 'id') =>
    query.search({ conditions, sort: { column, dir: 'asc' }, offset: 0, limit: 10 }).runs.map((r) => r.id);
  assert.deepEqual(search([{ column: 'status', op: 'in', values: [] }]), []);
  assert.deepEqual(search([{ column: 'docker-image', op: 'like', value: 'dcm2' }]), [a.id]);
  assert.deepEqual(search([{ column: 'container-name', op: 'like', value: 'RUN-' }]), [a.id, b.id]);
  assert.deepEqual(search([{ column: 'user-id', op: 'like', value: '%' }]), [], '% is literal');
  assert.deepEqual(search([], 'docker-image'), [b.id, a.id], 'byte-wise: "other" before "xnat"');
  assert.deepEqual(search([{ column: 'id', op: 'like', value: String(b.id) }]), [b.id]);
  assert.deepEqual(query.page({ statuses: ['Queued'], visibleTo: { login: 'ann', projects: [] } }, 0, 10).runs.map((r) => r.id), [a.id]);
  assert.equal(store.find(`RUN-${a.id}`), undefined, 'container names are exact');
});
