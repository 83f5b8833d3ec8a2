/**
 * The run database's migrations on both dialects: a database written by a newer XCS is refused on both, and
 * replicas starting at once on a fresh PostgreSQL schema migrate it once (the advisory lock), all of them starting, and
 * replicas claiming jobs from one queue at once never both win one (SERIALIZABLE, retried).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { XcsError } from '../core/errors.ts';
import { SqliteSyncDatabase } from '../core/database/sync-sql.ts';
import { openRunDatabaseAt, RUN_SCHEMA_VERSION } from './db.ts';
import { JobQueue } from './queue.ts';
import { dropSchema, postgresUrl, testSchema } from '../../test/helpers/postgres.ts';

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

/** Runs `script` (an ES module, from the repository root) in `n` processes at once, on the PostgreSQL `schema`. */
function replicas(n: number, schema: string, script: string): Promise<Array<{ code: number | null; out: string }>> {
  return Promise.all(Array.from({ length: n }, () => new Promise<{ code: number | null; out: string }>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, PG_URL: postgresUrl(), PG_SCHEMA: schema }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('close', (code) => done({ code, out }));
  })));
}

test('PostgreSQL: replicas starting at once on a fresh schema migrate it once and all start', async () => {
  const schema = testSchema();
  const script = `
    import { openRunDatabaseAt } from './src/runtime/db.ts';
    const db = openRunDatabaseAt({ kind: 'postgres', url: process.env.PG_URL, schema: process.env.PG_SCHEMA }, 'unused');
    db.close();
    console.log('started');`;
  try {
    const results = await replicas(3, schema, script);
    for (const r of results) assert.deepEqual([r.code, r.out.trim()], [0, 'started']);
    const db = openRunDatabaseAt({ kind: 'postgres', url: postgresUrl(), schema }, 'unused');
    try {
      assert.deepEqual(db.prepare('SELECT version FROM runs_schema_version').all(), [{ version: RUN_SCHEMA_VERSION }]);
      assert.deepEqual(db.prepare('SELECT v FROM runs_version').all(), [{ v: 0 }], 'the counter row was inserted once');
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
      import { openRunDatabaseAt } from './src/runtime/db.ts';
      import { JobQueue } from './src/runtime/queue.ts';
      const db = openRunDatabaseAt({ kind: 'postgres', url: process.env.PG_URL, schema: process.env.PG_SCHEMA }, 'unused');
      const queue = new JobQueue(db);
      const won = [];
      for (let job; (job = queue.claim('stage', 'replica-' + process.pid, 60000)); ) won.push(job.runId);
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
