/**
 * The synchronous SQL interface the run database is used through: the part of better-sqlite3 the run engine
 * needs (`prepare` → `run`/`get`/`all`, `exec`, `transaction`, `close`), with the dialect it speaks. Two
 * implementations: SQLite (better-sqlite3, below) and PostgreSQL (`pg-sync.ts`, libpq through pg-native).
 *
 * Synchronous on purpose: every state change of a run is one transaction that reads, checks and writes, and no
 * await may split it (another request could run in between). On PostgreSQL a query therefore blocks the event loop
 * for its round trip; transactions run at SERIALIZABLE and are retried whole on a serialization failure, so a body
 * must not have effects outside the database that a second run would repeat (or must not mind them).
 *
 * SQL written against it is portable: `?` placeholders, `ON CONFLICT … DO NOTHING` instead of `INSERT OR IGNORE`,
 * `RETURNING id` instead of a last-insert id, lower-case aliases, and the few dialect-specific forms taken from
 * `SqlDialect` helpers (`sqlFragments`).
 */
import Database from 'better-sqlite3';
import { XcsError } from '../errors.ts';

export type SqlDialect = 'sqlite' | 'postgres';

/** A bound value: text, a number, null. Booleans are written as 1/0 by the callers, as SQLite stores them. */
export type SqlValue = string | number | bigint | null;

export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  changes: number;
}

export interface SyncStatement<P extends readonly SqlValue[] = SqlValue[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
  /**
   * Runs the statement as part of the open transaction without waiting for its answer: on PostgreSQL it is sent with
   * the transaction's next statement that needs one (or its commit), saving a round trip; SQLite runs it at once. Its
   * failure fails the transaction, or the savepoint (nested transaction) it was deferred in, and is reported by that
   * later statement: for writes whose result is not read and whose failure the caller does not handle. Outside a
   * transaction it runs at once.
   */
  defer(...params: P): void;
}

export interface SyncDatabase {
  readonly dialect: SqlDialect;
  prepare<P extends readonly SqlValue[] = SqlValue[], R = unknown>(sql: string): SyncStatement<P, R>;
  /** Runs one or more statements without parameters (DDL, migrations). */
  exec(sql: string): void;
  /**
   * Wraps `fn` so that calling the result runs it in one transaction (committed when it returns, rolled back when it
   * throws); nested calls are savepoints. On PostgreSQL the whole function may run again after a serialization
   * failure (SERIALIZABLE), so it must not have outside effects a second run would repeat.
   */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
  /** Asks the database something trivial; throws an `XcsError` when it cannot answer (readiness). */
  ping(): void;
  /**
   * How many statements this connection has run so far (of any kind): while it has not moved, this process has
   * changed nothing since (other processes may have).
   */
  readonly statementsRun: number;
  close(): void;
}

/**
 * The placeholder list of `IN (…)` for `values`: `(?, ?, …)`, or `(NULL)` for none — matching nothing on both
 * dialects, where PostgreSQL refuses an empty `IN ()`.
 */
export function sqlList(values: readonly unknown[]): string {
  return values.length === 0 ? '(NULL)' : `(${values.map(() => '?').join(', ')})`;
}

/** The few forms the two dialects spell differently. */
export function sqlFragments(dialect: SqlDialect) {
  const pg = dialect === 'postgres';
  return {
    /** Case-insensitive LIKE (SQLite's LIKE already ignores ASCII case). */
    like: pg ? 'ILIKE' : 'LIKE',
    /** A text member of a JSON text column (compared byte-wise, as every text column). */
    jsonText: (column: string, key: string) => (pg ? `((${column}::jsonb ->> '${key}') COLLATE "C")` : `json_extract(${column}, '$.${key}')`),
    /** The larger of two values (SQLite's two-argument MAX). */
    greatest: (a: string, b: string) => (pg ? `GREATEST(${a}, ${b})` : `MAX(${a}, ${b})`),
  };
}

class SqliteStatement<P extends readonly SqlValue[], R> implements SyncStatement<P, R> {
  readonly #stmt: Database.Statement;
  readonly #counted: () => void;

  constructor(stmt: Database.Statement, counted: () => void) {
    this.#stmt = stmt;
    this.#counted = counted;
  }

  run(...params: P): RunResult {
    this.#counted();
    return { changes: this.#stmt.run(...params).changes };
  }

  get(...params: P): R | undefined {
    this.#counted();
    return this.#stmt.get(...params) as R | undefined;
  }

  all(...params: P): R[] {
    this.#counted();
    return this.#stmt.all(...params) as R[];
  }

  defer(...params: P): void {
    this.run(...params);
  }
}

/** SQLite through better-sqlite3: one connection, WAL, the pragmas every XCS database uses. */
export class SqliteSyncDatabase implements SyncDatabase {
  readonly dialect = 'sqlite' as const;
  /** The better-sqlite3 connection, for what only SQLite has (pragmas, `EXPLAIN QUERY PLAN` in tests). */
  readonly raw: Database.Database;

  constructor(file: string) {
    this.raw = new Database(file);
    this.raw.pragma('journal_mode = WAL');
    // A crash may lose the last transactions with NORMAL but never corrupts; our steps are re-run idempotently.
    this.raw.pragma('synchronous = NORMAL');
    this.raw.pragma('foreign_keys = ON');
    this.raw.pragma('busy_timeout = 5000');
  }

  #statementsRun = 0;
  readonly #counted = (): void => { this.#statementsRun++; };

  get statementsRun(): number {
    return this.#statementsRun;
  }

  prepare<P extends readonly SqlValue[] = SqlValue[], R = unknown>(sql: string): SyncStatement<P, R> {
    return new SqliteStatement<P, R>(this.raw.prepare(sql), this.#counted);
  }

  exec(sql: string): void {
    this.#statementsRun++;
    this.raw.exec(sql);
  }

  /**
   * Several processes (replicas) may share the file. A transaction that reads and then writes must take the write
   * lock before its first read: begun deferred, SQLite answers SQLITE_BUSY at once (no busy wait) when another
   * process committed in between. So every transaction begins IMMEDIATE (nested ones are savepoints).
   */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    const tx = this.raw.transaction(fn);
    return (...args: A) => tx.immediate(...args);
  }

  ping(): void {
    try {
      this.raw.prepare('SELECT 1').get();
    } catch (e) {
      throw new XcsError('database.unavailable', `the SQLite database does not answer: ${(e as Error).message}`, { path: 'database' });
    }
  }

  close(): void {
    this.raw.close();
  }
}
