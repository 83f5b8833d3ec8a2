/**
 * Connecting the archive database to where the data directory's state lives (`core/database/target.ts`): a SQLite
 * file (better-sqlite3, WAL), or a schema of a PostgreSQL database shared by every replica that serves the same data
 * directory. Either way the rest of XCS sees one Kysely instance, a `ping` and a `close`; only this module knows the
 * drivers.
 */
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { databaseTargetFor, redact, type DatabaseTarget } from '../core/database/target.ts';
import { XcsError } from '../core/errors.ts';
import { preparePrivateDatabase, tightenDatabaseFiles } from '../core/private-files.ts';
import { RefuseNulPlugin, SchemaPostgresDialect } from './pg-dialect.ts';

export type DatabaseKind = DatabaseTarget['kind'];

export interface Connected<T> {
  db: Kysely<T>;
  kind: DatabaseKind;
  /** One round trip to the database (the readiness check). */
  ping(): Promise<void>;
}

/**
 * Connections per process and database: every replica and every open data directory (tests open many) has its own
 * pool, so it stays small; `XCS_DATABASE_POOL_SIZE` raises it for a busy replica.
 */
export const DEFAULT_POOL_SIZE = 4;

const PG_INT8 = 20;

/**
 * `pg` returns 64-bit integers (ids, counts, sizes, millisecond times) as strings; XCS's values stay far below
 * 2^53, so they come back as numbers, as SQLite gives them. A value that would lose precision is an error rather
 * than a silently wrong number.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_INT8 && format !== 'binary') {
      return (text: string): number => {
        const n = Number(text);
        if (!Number.isSafeInteger(n)) throw new XcsError('database.integer-range', `the database returned ${text}, beyond what XCS counts exactly`);
        return n;
      };
    }
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export async function connect<T>(file: string, dataDir: string): Promise<Connected<T>> {
  const target = databaseTargetFor(dataDir);
  return target.kind === 'sqlite' ? connectSqlite<T>(file) : connectPostgres<T>(target);
}

function connectSqlite<T>(file: string): Connected<T> {
  let handle: SQLite.Database;
  try {
    preparePrivateDatabase(file);
    handle = new SQLite(file);
  } catch (e) {
    throw new XcsError('database.open', `cannot open the archive database: ${String(e)}`, { path: file, cause: e });
  }
  handle.pragma('journal_mode = WAL');
  tightenDatabaseFiles(file);
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  handle.pragma('busy_timeout = 5000');
  const db = new Kysely<T>({ dialect: new SqliteDialect({ database: handle }) });
  return { db, kind: 'sqlite', ping: async () => { handle.prepare('SELECT 1').get(); } };
}

function poolSize(): number {
  const raw = process.env.XCS_DATABASE_POOL_SIZE;
  if (raw === undefined || raw === '') return DEFAULT_POOL_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new XcsError('database.pool-size', `XCS_DATABASE_POOL_SIZE must be a whole number from 1 to 1000, not "${raw}"`,
      { path: 'XCS_DATABASE_POOL_SIZE' });
  }
  return n;
}

/** A driver error as XCS's, with the URL's password never in it (a driver may quote its connection string). */
export function databaseError(code: string, what: string, e: unknown, url: string): XcsError {
  const raw = e instanceof Error ? e.message : String(e);
  let message = raw;
  const password = passwordOf(url);
  if (password) message = message.split(password).join('***');
  message = message.split(url).join(redact(url));
  return new XcsError(code, `${what}: ${message}`, { path: redact(url) });
}

function passwordOf(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p === '' ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

async function connectPostgres<T>(target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<Connected<T>> {
  const quoted = `"${target.schema}"`; // the name was checked to be a plain lower-case SQL name
  // Idle connections never keep a finished command (`xcs admin …`) alive.
  const pool = new pg.Pool({ connectionString: target.url, max: poolSize(), idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 10_000, allowExitOnIdle: true, types: pgTypes });
  // An idle connection the server drops (a restart, a failover) is reported here; without a listener the process
  // would exit. The next query opens a new connection, and fails with its own error if the server is still gone.
  pool.on('error', () => undefined);
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
  } catch (e) {
    // Two replicas creating it at once: one of them is told it exists (PostgreSQL checks the catalog late).
    const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.schema]).then((r) => r.rowCount === 1, () => false);
    if (!exists) {
      await pool.end().catch(() => undefined);
      throw databaseError('database.open', 'cannot open the archive database', e, target.url);
    }
  }
  const db = new Kysely<T>({
    dialect: new SchemaPostgresDialect({
      pool,
      // Every pooled connection works in the data directory's schema, whatever the role's default path says.
      onCreateConnection: async (c) => { await c.executeQuery(CompiledQuery.raw(`SET search_path TO ${quoted}`)); },
    }, target.schema),
    plugins: [new RefuseNulPlugin()],
  });
  return {
    db, kind: 'postgres',
    ping: async () => {
      try {
        await sql`SELECT 1`.execute(db);
      } catch (e) {
        throw databaseError('database.unavailable', 'the database does not answer', e, target.url);
      }
    },
  };
}
