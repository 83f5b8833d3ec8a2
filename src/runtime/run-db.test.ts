/**
 * The run database's migrations on both dialects: a database written by a newer XCS is refused on both, and
 * replicas starting at once on a fresh PostgreSQL schema migrate it once (the advisory lock), all of them starting.
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

test('PostgreSQL: replicas starting at once on a fresh schema migrate it once and all start', async () => {
  const schema = testSchema();
  const script = `
    import { openRunDatabaseAt } from './src/runtime/db.ts';
    const db = openRunDatabaseAt({ kind: 'postgres', url: process.env.PG_URL, schema: process.env.PG_SCHEMA }, 'unused');
    db.close();
    console.log('started');`;
  try {
    const results = await Promise.all([1, 2, 3].map(() => new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
        { env: { ...process.env, PG_URL: postgresUrl(), PG_SCHEMA: schema }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('close', (code) => done({ code, out }));
    })));
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
