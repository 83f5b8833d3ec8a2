/**
 * What keeps one SQL text right on both databases. Migrations are written once, in SQLite's words, and
 * `portableDdl` translates the few forms PostgreSQL spells otherwise; queries ask `dialectOf` only where no
 * portable form exists (a JSON aggregate), and `isUniqueViolation` tells a lost race from any other failure.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { portableDdl } from '../core/database/portable-ddl.ts';
import type { DatabaseKind } from './db-connect.ts';

/** SQLite's DDL as PostgreSQL reads it (the one translation the run database uses too). */
export { portableDdl };

/** The database behind a Kysely instance or transaction. */
export function dialectOf<T>(db: Kysely<T>): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** Runs DDL statements (SQLite's words, see `portableDdl`) in order; a migration's body. */
export async function runDdl<T>(db: Kysely<T>, statements: string[]): Promise<void> {
  const kind = dialectOf(db);
  for (const s of statements) await sql.raw(portableDdl(s, kind)).execute(db);
}

/** Whether `e` is a UNIQUE or PRIMARY KEY violation (someone else inserted the same key first). */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
