/**
 * The PostgreSQL server of tests that need one whatever database the suite runs on: the one `XCS_DATABASE_URL`
 * names, else Debian's cluster started by `scripts/postgres-harness.sh`. Schemas made here are dropped by `dropSchema`.
 * And what a data directory's run database holds, on either dialect.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PgSyncDatabase } from '../../src/core/database/pg-sync.ts';
import { databaseTargetFor, parseDatabaseUrl } from '../../src/core/database/target.ts';

let url: string | undefined;

/** The server's URL (without a schema parameter). */
export function postgresUrl(): string {
  url ??= parseDatabaseUrl(process.env.XCS_DATABASE_URL || harness()).url;
  return url;
}

/** The harness's URL; run again when it failed (other test processes may be running it at the same moment). */
function harness(): string {
  for (let attempt = 1; ; attempt++) {
    try {
      return execFileSync('bash', ['scripts/postgres-harness.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
}

/** A fresh schema name for one test. */
export function testSchema(prefix = 'xcs_t'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function dropSchema(schema: string): void {
  const db = new PgSyncDatabase({ url: postgresUrl(), schema: 'public' });
  try {
    db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    db.close();
  }
}

/**
 * Everything the run database of `dataDir` stores, as text, to search for values that must never be stored: the
 * SQLite files' bytes (database and WAL), or every row of every table of the data directory's PostgreSQL schema.
 */
export function storedRunDatabaseText(dataDir: string): string {
  const target = databaseTargetFor(dataDir);
  if (target.kind === 'sqlite') {
    return ['runs.sqlite', 'runs.sqlite-wal'].map((f) => {
      try { return readFileSync(join(dataDir, f)).toString('latin1'); } catch { return ''; }
    }).join('\n');
  }
  const db = new PgSyncDatabase(target);
  try {
    const tables = db.prepare<[], { name: string }>(`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`).all();
    return tables.flatMap((t) => db.prepare<[], { row: string }>(`SELECT r::text AS row FROM "${t.name}" r`).all().map((r) => r.row)).join('\n');
  } finally {
    db.close();
  }
}

/**
 * Drops the PostgreSQL schemas of these data directories when each data directory has its own (the suite on
 * PostgreSQL, `XCS_DATABASE_SCHEMA_PER_DATA_DIR=1`): a test removing its directory removes its database too. Call it
 * before the directories are removed (the schema is named from the real path).
 */
export function dropDataDirSchemas(...dataDirs: string[]): void {
  if (process.env.XCS_DATABASE_SCHEMA_PER_DATA_DIR !== '1') return;
  const schemas = dataDirs.map(databaseTargetFor).flatMap((t) => (t.kind === 'postgres' ? [t.schema] : []));
  for (const schema of new Set(schemas)) dropSchema(schema);
}
