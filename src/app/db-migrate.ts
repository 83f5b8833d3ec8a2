/**
 * `xcs db migrate`: moves a data directory's state from its SQLite files into PostgreSQL. Both sides are first
 * brought to this binary's schema by the ordinary migrations (`schemas.ts`), so the copy is table for table and
 * column for column; it runs in one PostgreSQL transaction (all or nothing), refuses a target that already has
 * users, commands or runs, moves identity sequences past the copied ids and checks the row counts. The SQLite files stay as they were:
 * they are the backup. Files (archive, logs, build directories) stay in the data directory, which replicas share.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { XcsError, messageOf } from '../core/errors.ts';
import { databaseTargetFor, redact, useDatabaseUrl } from '../core/database/target.ts';
import { openAllSchemas } from './schemas.ts';

export interface MigratedTable { table: string; rows: number }
export interface MigrateReport { schema: string; tables: MigratedTable[] }

/** The SQLite files of a data directory, in the order their tables are copied (users before what names them). */
const SOURCE_FILES = ['xcs.db', 'runs.sqlite'];

type Row = Record<string, unknown>;
interface SourceTable { name: string; rows: Row[] }

function readSource(dataDir: string): SourceTable[] {
  const out: SourceTable[] = [];
  for (const name of SOURCE_FILES) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'
          AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'xcs_migrations_%' ORDER BY rowid`).all() as { name: string }[];
      for (const { name: table } of tables) {
        out.push({ name: table, rows: db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all() as Row[] });
      }
    } finally {
      db.close();
    }
  }
  return out;
}

/** Parents before children, from the target's foreign keys (a table that names itself is copied in one statement). */
async function copyOrder(client: pg.Client, schema: string, tables: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(`
    SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE k.contype = 'f' AND n.nspname = $1 AND c.relname <> p.relname`, [schema]);
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (t: string): void => {
    if (ordered.includes(t) || visiting.has(t)) return;
    visiting.add(t);
    for (const r of rows) if (r.child === t && tables.includes(r.parent)) visit(r.parent);
    ordered.push(t);
  };
  for (const t of tables) visit(t);
  return ordered;
}

async function columnsOf(client: pg.Client, schema: string, table: string): Promise<Map<string, string>> {
  const { rows } = await client.query<{ column_name: string; data_type: string }>(
    'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [schema, table]);
  return new Map(rows.map((r) => [r.column_name, r.data_type]));
}

/** SQLite keeps booleans as 0/1 and everything else as it is; PostgreSQL's typed columns say what each value becomes. */
function convert(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return Boolean(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return value;
}

export async function migrateToPostgres(dataDir: string, url: string): Promise<MigrateReport> {
  if (!existsSync(join(dataDir, 'xcs.db'))) {
    throw new XcsError('database.migrate.no-source', `${dataDir} holds no XCS SQLite database (xcs.db) to migrate`, { path: dataDir });
  }
  // Both sides at this binary's schema: the source on its SQLite files, the target where the URL points.
  useDatabaseUrl(null);
  await (await openAllSchemas(dataDir)).close();
  useDatabaseUrl(url);
  const target = databaseTargetFor(dataDir);
  if (target.kind !== 'postgres') throw new XcsError('database.url', 'xcs db migrate needs a postgres:// database URL', { path: 'database' });
  await (await openAllSchemas(dataDir)).close();

  const source = readSource(dataDir);
  const client = new pg.Client({ connectionString: target.url });
  try {
    await client.connect();
  } catch (e) {
    throw new XcsError('database.unreachable', `cannot connect to ${redact(target.url)}: ${messageOf(e)}`, { path: 'database' });
  }
  const schema = target.schema;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    // A target that already has users, commands or runs belongs to a running site: never overwritten.
    for (const table of ['users', 'commands', 'runs']) {
      const existing = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
      if (Number(existing.rows[0].n) > 0) {
        throw new XcsError('database.migrate.target-not-empty',
          `table ${table} in PostgreSQL schema ${schema} already holds ${existing.rows[0].n} rows: migrate into an empty database or schema`,
          { path: table });
      }
    }
    const byName = new Map(source.map((t) => [t.name, t]));
    const tables: MigratedTable[] = [];
    for (const name of await copyOrder(client, schema, [...byName.keys()])) {
      const table = byName.get(name) as SourceTable;
      const columns = await columnsOf(client, schema, name);
      if (columns.size === 0) {
        throw new XcsError('database.migrate.table-missing', `table ${name} of the SQLite database has no counterpart in PostgreSQL schema ${schema}`,
          { path: name });
      }
      // What the migrations seeded (counters, versions) is replaced by the source's rows.
      await client.query(`DELETE FROM "${name}"`);
      const rows = table.rows.map((r) => Object.fromEntries(Object.entries(r)
        .filter(([c]) => columns.has(c)).map(([c, v]) => [c, convert(v, columns.get(c) as string)])));
      for (let i = 0; i < rows.length; i += 2000) {
        // One statement per chunk: its foreign keys are checked at its end, so rows that name each other go together.
        await client.query(`INSERT INTO "${name}" OVERRIDING SYSTEM VALUE
            SELECT * FROM json_populate_recordset(NULL::"${name}", $1::json)`, [JSON.stringify(rows.slice(i, i + 2000))]);
      }
      const seqs = await client.query<{ col: string; seq: string | null }>(`
        SELECT column_name AS col, pg_get_serial_sequence($1, column_name) AS seq
          FROM information_schema.columns WHERE table_schema = $2 AND table_name = $3`, [`"${schema}"."${name}"`, schema, name]);
      for (const { col, seq } of seqs.rows) {
        if (seq === null) continue;
        await client.query(`SELECT setval($1, COALESCE((SELECT max("${col}") FROM "${name}"), 0) + 1, false)`, [seq]);
      }
      const copied = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}"`);
      if (Number(copied.rows[0].n) !== table.rows.length) {
        throw new XcsError('database.migrate.count', `table ${name}: ${table.rows.length} rows read, ${copied.rows[0].n} written`, { path: name });
      }
      tables.push({ table: name, rows: table.rows.length });
    }
    await client.query('COMMIT');
    return { schema, tables };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}
