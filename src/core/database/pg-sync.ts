/**
 * The synchronous SQL interface (`sync-sql.ts`) on PostgreSQL, through libpq (pg-native's `connectSync` and
 * `querySync`). A query blocks the event loop for its round trip (about 0.2 ms on 127.0.0.1): the deliberate price
 * of keeping every state change one synchronous read-check-write, as on SQLite.
 *
 * What makes it behave like the SQLite database the code was written for:
 * - `?` placeholders become `$1…` (not inside quoted strings, identifiers or comments);
 * - 64-bit integers and numerics come back as JS numbers and booleans as 1/0, so rows look like SQLite's;
 * - every statement and transaction runs at SERIALIZABLE (the session default) and is run again, whole, after a
 *   serialization failure or a deadlock (SQLSTATE 40001, 40P01), a bounded number of times: replicas sharing the
 *   database see each transaction as if it ran alone, which is what SQLite's single writer gave;
 * - nested `transaction()` calls are savepoints;
 * - inside a transaction, what needs no answer waits to be sent with the next statement that does (libpq's pipeline
 *   mode, `pg-pipeline.ts`): its BEGIN and savepoints, and the writes queued with `defer`, so a transaction costs
 *   the round trips of its answered statements and its COMMIT;
 * - a statement with parameters is prepared on the connection the first time its text runs and executed by name
 *   afterwards (the server parses and plans it once: about half of a short statement's cost);
 * - the target's schema is created if missing and is the connection's `search_path`;
 * - errors are `XcsError`s with `database.*` codes whose messages never contain the password.
 */
import { createRequire } from 'node:module';
import { XcsError } from '../errors.ts';
import { numberPlaceholders } from './placeholders.ts';
import { PipelineBroken, runPipeline, type PipelineItem, type PipelineLibpq } from './pg-pipeline.ts';
import { redact } from './target.ts';
import type { RunResult, SqlValue, SyncDatabase, SyncStatement } from './sync-sql.ts';

/** The part of pg-native (and of its libpq handle) used here; pg-native ships no types. */
interface Libpq extends PipelineLibpq {
  transactionStatus(): number;
}
interface PgNativeClient {
  pq: Libpq;
  connectSync(params: string): void;
  querySync(text: string, values?: Array<string | null>): Array<Record<string, unknown>>;
  prepareSync(name: string, text: string, count: number): void;
  executeSync(name: string, values: Array<string | null>): Array<Record<string, unknown>>;
  end(): void;
}
type PgNativeConstructor = new (config: { types: TypeParsers }) => PgNativeClient;
interface TypeParsers { getTypeParser(oid: number): (text: string) => unknown }

/** Statements that change nothing: run again after a lost connection. */
const READ_ONLY = /^\s*(SELECT|SHOW|SET)\b/i;
/** SQLSTATEs after which the whole transaction is run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 30;
/** libpq's transaction status: 0 idle (no transaction open). */
const PQTRANS_IDLE = 0;
/** Statements kept prepared on a connection; past this they are all deallocated (between transactions). */
const MAX_PREPARED = 500;
/** Statements held back at most before they are sent anyway. */
const MAX_PENDING = 100;
/**
 * A prepared `SELECT *` whose table gained a column since (another replica migrated the schema): nothing ran, so
 * the statement (or its transaction) is run again, prepared afresh.
 */
const STALE_PLAN = /cached plan must not change result type/;

const asNumber = (text: string): number => Number(text);
const PARSERS: Record<number, (text: string) => unknown> = {
  16: (text) => (text === 't' ? 1 : 0), // bool: SQLite answers comparisons with 1/0
  20: asNumber, // int8: our ids and epoch milliseconds stay below 2^53
  21: asNumber,
  23: asNumber,
  26: asNumber,
  700: asNumber,
  701: asNumber,
  1700: asNumber, // numeric: SUM over int8
};
const TYPES: TypeParsers = { getTypeParser: (oid) => PARSERS[oid] ?? ((text: string) => text) };

/** Connections just closed, kept from the garbage collector until libuv has finished closing their handles. */
const closing = new Set<PgNativeClient>();

/**
 * libpq's finish() closes its libuv poll handle, which libuv completes on a later turn of the loop: the handle lives
 * in the native connection object, so that object must not be garbage-collected before then (libuv aborts the
 * process otherwise). Held for a moment by a timer that does not keep the process alive.
 */
function keepUntilClosed(client: PgNativeClient): void {
  closing.add(client);
  setTimeout(() => closing.delete(client), 1000).unref();
}

let constructorCache: PgNativeConstructor | undefined;
/** Loaded on first use: a process on SQLite never loads libpq. */
function pgNative(): PgNativeConstructor {
  constructorCache ??= createRequire(import.meta.url)('pg-native') as PgNativeConstructor;
  return constructorCache;
}

function toParam(v: SqlValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : String(v);
}

/** A serialization failure or deadlock: the transaction is to be run again from its start. */
class RetryableConflict extends Error {
  constructor(readonly sqlState: string, message: string) {
    super(message);
  }
}

/** Blocks the thread for `ms` (between retries of a synchronous transaction: there is no turn to yield to). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function backoffMs(attempt: number): number {
  return Math.random() * Math.min(100, 2 ** attempt);
}

class PgStatement<P extends readonly SqlValue[], R> implements SyncStatement<P, R> {
  readonly #db: PgSyncDatabase;
  readonly #text: string;
  readonly #count: number;

  constructor(db: PgSyncDatabase, text: string, count: number) {
    this.#db = db;
    this.#text = text;
    this.#count = count;
  }

  #values(params: P): Array<string | null> {
    if (params.length !== this.#count) {
      throw new XcsError('database.parameters', `the statement takes ${this.#count} parameters, ${params.length} given`,
        { path: 'database', hint: this.#text.slice(0, 200) });
    }
    return params.map(toParam);
  }

  run(...params: P): RunResult {
    return { changes: this.#db.query(this.#text, this.#values(params)).changes };
  }

  get(...params: P): R | undefined {
    return this.#db.query(this.#text, this.#values(params)).rows[0] as R | undefined;
  }

  all(...params: P): R[] {
    return this.#db.query(this.#text, this.#values(params)).rows as R[];
  }

  defer(...params: P): void {
    this.#db.defer(this.#text, this.#values(params));
  }
}

/**
 * A statement of the open transaction not sent yet: a transaction control statement (BEGIN, SAVEPOINT — `savepoint`
 * names the savepoint it opens —, RELEASE; run unprepared) or a deferred write (`write`).
 */
interface Pending {
  text: string;
  values: Array<string | null>;
  control: boolean;
  write: boolean;
  savepoint?: string;
}

export interface PgSyncTarget {
  /** postgres://user:password@host:port/database (without XCS's own parameters). */
  url: string;
  schema: string;
}

export class PgSyncDatabase implements SyncDatabase {
  readonly dialect = 'postgres' as const;
  readonly schema: string;
  readonly #url: string;
  readonly #password: string;
  #client: PgNativeClient | undefined;
  /** Open transaction depth: 0 none, 1 a transaction, more savepoints. */
  #depth = 0;
  /** Closed by its owner: no reconnecting. */
  #closed = false;
  #reconnectNotBefore = 0;
  /** Set when a statement of the open transaction hit a serialization failure (even if the body caught it). */
  #conflict: RetryableConflict | undefined;
  readonly #translated = new Map<string, { text: string; count: number }>();
  /** What the open transaction has not sent yet, in order. */
  #pending: Pending[] = [];
  #statementsRun = 0;
  /** Statement text → name of the statement prepared on the current connection. */
  readonly #prepared = new Map<string, string>();
  #preparedCount = 0;

  constructor(target: PgSyncTarget) {
    this.schema = target.schema;
    this.#url = target.url;
    let password = '';
    try { password = decodeURIComponent(new URL(target.url).password); } catch { /* no password to hide */ }
    this.#password = password;
    this.#connect();
  }

  /** Opens the connection and sets the session up: quiet notices, SERIALIZABLE, the schema (created when missing). */
  #connect(): void {
    const client = new (pgNative())({ types: TYPES });
    // A server that does not answer must not block the process (connecting is synchronous) for long.
    const url = new URL(this.#url);
    if (!url.searchParams.has('connect_timeout')) url.searchParams.set('connect_timeout', '3');
    try {
      client.connectSync(url.toString());
    } catch (e) {
      keepUntilClosed(client);
      throw new XcsError('database.connect', `cannot connect to PostgreSQL at ${redact(this.#url)}: ${this.#clean((e as Error).message)}`,
        { path: 'database', hint: 'check the database URL (--database or XCS_DATABASE_URL) and that the server accepts connections' });
    }
    this.#client = client;
    this.#prepared.clear();
    try {
      // Notices (e.g. "schema already exists, skipping") would be printed on stderr by libpq.
      this.#raw('SET client_min_messages = warning', undefined);
      this.#raw('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE', undefined);
      const schema = `"${this.schema}"`;
      this.#withRetry(() => this.#raw(`CREATE SCHEMA IF NOT EXISTS ${schema}`, undefined), { duplicateSchema: true });
      this.#raw(`SET search_path TO ${schema}`, undefined);
    } catch (e) {
      this.#drop();
      throw e;
    }
  }

  /** Forgets the connection (closing it), e.g. after the server went away. */
  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#pending = [];
    if (!client) return;
    client.end();
    keepUntilClosed(client);
  }

  get statementsRun(): number {
    return this.#statementsRun;
  }

  prepare<P extends readonly SqlValue[] = SqlValue[], R = unknown>(sql: string): SyncStatement<P, R> {
    let t = this.#translated.get(sql);
    if (!t) {
      t = numberPlaceholders(sql);
      if (this.#translated.size > 2000) this.#translated.clear();
      this.#translated.set(sql, t);
    }
    return new PgStatement<P, R>(this, t.text, t.count);
  }

  exec(sql: string): void {
    this.#statementsRun++;
    // Several statements go by the simple protocol, which a pipeline cannot carry: what waits is sent first.
    this.#statement(sql, () => { this.#flush(); return this.#raw(sql, undefined); });
  }

  /**
   * Runs a statement whose answer is not needed as part of the open transaction: it is sent with the next statement
   * that needs an answer, or the commit. Its failure fails the transaction (or the savepoint) around it, reported by
   * that later statement. Outside a transaction it runs at once.
   */
  defer(text: string, values: Array<string | null>): void {
    this.#statementsRun++;
    if (this.#depth === 0) {
      this.query(text, values);
      return;
    }
    this.#pending.push({ text, values, control: false, write: true });
    if (this.#pending.length >= MAX_PENDING) this.#statement(text, () => this.#flush());
  }

  /** Runs one statement; outside a transaction it is retried alone after a serialization failure. */
  query(text: string, values: Array<string | null>): { rows: Array<Record<string, unknown>>; changes: number } {
    this.#statementsRun++;
    return this.#statement(text, () => this.#raw(text, values));
  }

  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    return (...args: A) => (this.#depth > 0 ? this.#savepoint(fn, args) : this.#withRetry(() => this.#transactionOnce(fn, args), { rerunnable: true }));
  }

  /**
   * Runs `fn` in one READ COMMITTED transaction holding the advisory lock `key` of this schema: replicas starting at
   * once migrate one after the other, and the second (whose statements each see what the first committed) finds
   * nothing left to do.
   */
  withMigrationLock<T>(key: string, fn: () => T): T {
    if (this.#depth > 0) throw new XcsError('database.nested-migration', 'migrations cannot run inside a transaction', { path: 'database' });
    return this.#withRetry(() => {
      this.#raw('BEGIN ISOLATION LEVEL READ COMMITTED', undefined);
      this.#depth = 1;
      try {
        this.#raw('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.${key}`]);
        const out = fn();
        this.#raw('COMMIT', undefined);
        return out;
      } catch (e) {
        this.#rollback();
        throw this.#conflict ?? e;
      } finally {
        this.#depth = 0;
        this.#conflict = undefined;
        this.#pending = [];
      }
    }, { rerunnable: true });
  }

  ping(): void {
    this.query('SELECT 1', []);
  }

  close(): void {
    this.#closed = true;
    this.#drop();
  }

  #transactionOnce<A extends unknown[], T>(fn: (...args: A) => T, args: A): T {
    // Sent with the first statement that needs an answer (the transaction's snapshot is taken by that one anyway).
    this.#pending = [{ text: 'BEGIN', values: [], control: true, write: false }];
    this.#depth = 1;
    this.#conflict = undefined;
    try {
      const out = fn(...args);
      if (out instanceof Promise) {
        throw new XcsError('database.async-transaction', 'a transaction body must be synchronous (it returned a promise)', { path: 'database' });
      }
      // A body that caught a conflict must not commit what is left of its transaction.
      if (this.#conflict) throw this.#conflict;
      // Nothing was written, nor even begun: nothing to commit.
      if (this.#pending[0]?.text === 'BEGIN' && !this.#pending.some((p) => p.write)) return out;
      try {
        this.#raw('COMMIT', undefined);
      } catch (e) {
        if (!(e instanceof XcsError && e.code === 'database.unavailable')) throw e;
        // Whether the server committed before the connection went is unknown: running the body again could apply it twice.
        throw new XcsError('database.commit-unknown', `the connection was lost while committing; the transaction may or may not have been applied: ${e.message}`,
          { path: 'database' });
      }
      return out;
    } catch (e) {
      this.#rollback();
      throw this.#conflict ?? e;
    } finally {
      this.#depth = 0;
      this.#conflict = undefined;
      this.#pending = [];
    }
  }

  #savepoint<A extends unknown[], T>(fn: (...args: A) => T, args: A): T {
    const name = `xcs_sp${this.#depth}`;
    // Writes deferred before the savepoint are sent first: a failure of theirs is not this savepoint's to undo.
    if (this.#pending.some((p) => p.write)) this.#statement('SAVEPOINT', () => this.#flush());
    this.#pending.push({ text: `SAVEPOINT ${name}`, values: [], control: true, write: false, savepoint: name });
    this.#depth++;
    try {
      const out = fn(...args);
      const at = this.#pending.findIndex((p) => p.savepoint === name);
      if (at >= 0 && !this.#pending.slice(at).some((p) => p.write)) {
        // Nothing was sent since the savepoint, nor waits to be: it need not exist at all.
        this.#pending.length = at;
      } else if (this.#pending.some((p) => p.write)) {
        // Deferred writes are sent now, so that their failure is this savepoint's.
        this.#statement('RELEASE', () => this.#raw(`RELEASE SAVEPOINT ${name}`, undefined));
      } else {
        this.#pending.push({ text: `RELEASE SAVEPOINT ${name}`, values: [], control: true, write: false });
      }
      return out;
    } catch (e) {
      const at = this.#pending.findIndex((p) => p.savepoint === name);
      if (at >= 0) {
        // The savepoint was never sent: what followed it is forgotten, nothing is to be undone on the server.
        this.#pending.length = at;
      } else {
        // Everything waiting came after the savepoint: undone with it.
        this.#pending = [];
        // After a conflict the whole transaction is run again; otherwise only this part is undone, as in SQLite.
        if (!this.#conflict) this.#raw(`ROLLBACK TO SAVEPOINT ${name}`, undefined);
      }
      throw e;
    } finally {
      this.#depth--;
    }
  }

  #rollback(): void {
    this.#pending = [];
    const client = this.#client;
    if (client && client.pq.transactionStatus() !== PQTRANS_IDLE) {
      try { client.querySync('ROLLBACK'); } catch { /* the connection is gone: nothing to undo */ }
    }
  }

  /** A statement outside a transaction is retried alone; inside one, a conflict is handed to the transaction. */
  #statement<T>(sql: string, run: () => T): T {
    if (this.#depth > 0) {
      try {
        return run();
      } catch (e) {
        if (e instanceof RetryableConflict) this.#conflict = e;
        throw e;
      }
    }
    return this.#withRetry(run, { rerunnable: READ_ONLY.test(sql) });
  }

  /**
   * Runs `run` again after a serialization failure or deadlock (nothing of it was applied). When the server went away
   * (restart, failover, a terminated backend) the connection is opened again, once, and `run` repeated if that is
   * safe: a read, or a transaction (the server rolled back what it had not committed; a lost COMMIT is reported as
   * such, not repeated). A single write whose answer was lost may have been applied, so it is reported instead.
   */
  #withRetry<T>(run: () => T, opts: { rerunnable?: boolean; duplicateSchema?: boolean }): T {
    const alsoDuplicateSchema = opts.duplicateSchema === true;
    let reconnected = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return run();
      } catch (e) {
        if (e instanceof XcsError && e.code === 'database.unavailable' && !this.#closed && !reconnected
          && Date.now() >= this.#reconnectNotBefore) {
          reconnected = true;
          this.#drop();
          try {
            this.#connect();
          } catch {
            // Connecting blocks the process: while the server is away, at most one attempt a second.
            this.#reconnectNotBefore = Date.now() + 1000;
            throw e;
          }
          if (opts.rerunnable) continue;
          throw new XcsError('database.unavailable', `${e.message}; the connection was opened again, but whether this write was applied is unknown`,
            { path: 'database' });
        }
        const again = e instanceof RetryableConflict
          // Two connections creating the same schema at once: the loser sees it exists when it tries again.
          || (alsoDuplicateSchema && e instanceof XcsError && /\(SQLSTATE (23505|42P06)\)/.test(e.message));
        if (!again) throw e;
        if (attempt >= MAX_ATTEMPTS) {
          throw new XcsError('database.conflict', `the transaction kept conflicting with concurrent ones (${attempt} attempts): ${(e as Error).message}`,
            { path: 'database', hint: 'another XCS replica is writing the same rows; try again' });
        }
        pause(backoffMs(attempt));
      }
    }
  }

  #raw(text: string, values: Array<string | null> | undefined): { rows: Array<Record<string, unknown>>; changes: number } {
    const client = this.#client;
    if (!client && this.#closed) throw new XcsError('database.closed', 'the database connection is closed', { path: 'database' });
    if (!client) {
      throw new XcsError('database.unavailable', `PostgreSQL at ${redact(this.#url)} is not connected (it went away; reconnecting failed)`,
        { path: 'database' });
    }
    if (this.#pending.length > 0) return this.#pipeline(client, { text, values: values ?? [], control: values === undefined, write: false });
    let rows: Array<Record<string, unknown>>;
    try {
      if (values === undefined) rows = client.querySync(text);
      else {
        const name = this.#preparedName(client, text, values.length);
        rows = name === undefined ? client.querySync(text, values) : client.executeSync(name, values);
      }
    } catch (e) {
      throw this.#error(client, e as Error);
    }
    const tuples = client.pq.cmdTuples();
    return { rows, changes: tuples === '' ? 0 : Number(tuples) };
  }

  /** Sends what waits, alone (before a statement that cannot be pipelined). */
  #flush(): void {
    const client = this.#client;
    if (client && this.#pending.length > 0) this.#pipeline(client, undefined);
  }

  /**
   * Sends what waits and then `last` (if any) in one pipeline; returns the answer to the last statement sent. The
   * first failure is thrown (the server skipped what followed it).
   */
  #pipeline(client: PgNativeClient, last: Pending | undefined): { rows: Array<Record<string, unknown>>; changes: number } {
    const pending = last ? [...this.#pending, last] : this.#pending;
    this.#pending = [];
    // Statements not prepared yet are prepared in the pipeline itself (once, however often they appear in it).
    const preparing = new Map<string, string>();
    const items: PipelineItem[] = pending.map(({ text, values, control }) => {
      if (control) return { text, values };
      const name = this.#prepared.get(text) ?? preparing.get(text);
      if (name !== undefined) return { text, values, name };
      if (this.#prepared.size + preparing.size >= MAX_PREPARED) return { text, values };
      const prepareAs = `xcs_${++this.#preparedCount}`;
      preparing.set(text, prepareAs);
      return { text, values, prepareAs };
    });
    let outcomes;
    try {
      outcomes = runPipeline(client.pq, items, TYPES.getTypeParser);
    } catch (e) {
      if (!(e instanceof PipelineBroken)) throw e;
      throw this.#errorOf(e.message, undefined);
    }
    outcomes.forEach((o, i) => { if (o.prepared) this.#prepared.set(items[i].text, items[i].prepareAs as string); });
    const failed = outcomes.find((o) => !o.ok && !o.skipped) ?? outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) throw this.#errorOf(failed.message, failed.sqlState);
    const answer = outcomes[outcomes.length - 1];
    return answer.ok ? { rows: answer.rows, changes: answer.changes } : { rows: [], changes: 0 };
  }

  /**
   * The name `text` is prepared under on this connection, preparing it now if needed; undefined when it is to run
   * unprepared (the cache is full inside a transaction, where it is not emptied).
   */
  #preparedName(client: PgNativeClient, text: string, count: number): string | undefined {
    const known = this.#prepared.get(text);
    if (known !== undefined) return known;
    if (this.#prepared.size >= MAX_PREPARED) {
      if (client.pq.transactionStatus() !== PQTRANS_IDLE) return undefined;
      client.querySync('DEALLOCATE ALL');
      this.#prepared.clear();
    }
    const name = `xcs_${++this.#preparedCount}`;
    client.prepareSync(name, text, count);
    this.#prepared.set(text, name);
    return name;
  }

  #error(client: PgNativeClient, e: Error): Error {
    return this.#errorOf(e.message, client.pq.resultErrorFields()?.sqlState);
  }

  /** The error to throw for a server's `message` and SQLSTATE (none: the connection failed). */
  #errorOf(raw: string, sqlState: string | undefined): Error {
    const message = this.#clean(raw.trim().replace(/^ERROR:\s*/, ''));
    if (sqlState && RETRYABLE.has(sqlState)) return new RetryableConflict(sqlState, `${message} (SQLSTATE ${sqlState})`);
    if (sqlState === '0A000' && STALE_PLAN.test(message)) {
      // Prepared again under new names (the old ones stay on the server, unused, until the connection closes).
      this.#prepared.clear();
      return new RetryableConflict(sqlState, `${message} (SQLSTATE ${sqlState})`);
    }
    if (sqlState === undefined) {
      return new XcsError('database.unavailable', `PostgreSQL at ${redact(this.#url)} does not answer: ${message}`, { path: 'database' });
    }
    return new XcsError('database.query', `${message} (SQLSTATE ${sqlState})`, { path: 'database' });
  }

  /** A server or libpq message with the password taken out, should it ever quote the connection string. */
  #clean(message: string): string {
    return this.#password === '' ? message : message.split(this.#password).join('***');
  }
}
