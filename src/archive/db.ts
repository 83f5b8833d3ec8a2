/**
 * The archive database: one SQLite file (better-sqlite3, WAL) or a PostgreSQL schema (`db-connect.ts`) behind
 * Kysely; its queries and migrations are written once for both (`portable-sql.ts`). Other modules (the stores,
 * automation) add their own tables to the same database with `applyMigrations(db, 'their-namespace', migrations)`;
 * each namespace keeps its own migration record.
 */
import { dirname } from 'node:path';
import { Kysely, Migrator, sql, type Generated, type Migration, type Selectable, type MigrationProvider } from 'kysely';
import { XcsError } from '../core/errors.ts';
import { connect, type DatabaseKind } from './db-connect.ts';
import { dialectOf, runDdl } from './portable-sql.ts';

export interface CountersTable { name: string; value: number }
export interface ProjectsTable {
  id: string; name: string; secondary_id: string; description: string; pi_firstname: string;
  pi_lastname: string; keywords: string; accessibility: string; fields: string; insert_date: string;
  insert_user: string;
}
export interface SubjectsTable {
  id: string; project: string; label: string; grp: string; src: string; fields: string; insert_date: string;
  insert_user: string;
}
/** Sessions and assessors (XNAT's experiments); `session_id` is set for assessors only. */
export interface ExperimentsTable {
  id: string; project: string; subject_id: string; session_id: string | null; label: string; xsi_type: string;
  date: string; modality: string; uid: string; visit_id: string; fields: string; document: string | null;
  document_format: string | null; insert_date: string; insert_user: string;
}
export interface ScansTable {
  pk: Generated<number>; session_id: string; scan_id: string; xsi_type: string; type: string; series_description: string;
  quality: string; frames: string; note: string; modality: string; uid: string; fields: string;
  insert_date: string; insert_user: string;
}
/** `parent_key`: project ID, subject or experiment accession ID, or the scan's `pk`. */
export interface ResourcesTable {
  id: Generated<number>; parent_kind: string; parent_key: string; project: string; label: string; format: string;
  content: string; description: string; tags: string; dir: string; insert_date: string; insert_user: string;
}
export interface FilesTable {
  resource_id: number; path: string; size: number; md5: string; format: string; content: string; tags: string;
  modified: number;
}
export interface CommitsTable { key: string; state: string; resource_id: number; uri: string; plan: string }
export interface UsersTable {
  login: string; password_hash: string; email: string; first_name: string; last_name: string; enabled: number;
  verified: number; site_admin: number; created: string;
}
export interface ProjectRolesTable { project: string; login: string; role: string }
/**
 * `token_hash` is the sha256 of the `JSESSIONID` cookie (the database never holds a usable cookie); `parent` the
 * alias token the session was opened with, whose `scope` (JSON `RunScope`) it inherits and with which it dies.
 */
export interface HttpSessionsTable {
  token_hash: string; login: string; expires: number; parent: string | null; scope: string | null;
}
/** `secret_hash` is the sha256 of the secret; `parent` the alias token it was minted with (it dies with it). */
export interface AliasTokensTable {
  alias: string; secret_hash: string; login: string; expires: number; parent: string | null; scope: string | null;
}

export type ScanRow = Selectable<ScansTable>;
export type ResourceRow = Selectable<ResourcesTable>;

export interface ArchiveDb {
  counters: CountersTable;
  projects: ProjectsTable;
  subjects: SubjectsTable;
  experiments: ExperimentsTable;
  scans: ScansTable;
  resources: ResourcesTable;
  files: FilesTable;
  resource_commits: CommitsTable;
  users: UsersTable;
  project_roles: ProjectRolesTable;
  http_sessions: HttpSessionsTable;
  alias_tokens: AliasTokensTable;
}

export interface OpenedDb {
  db: Kysely<ArchiveDb>;
  kind: DatabaseKind;
  /** One round trip to the database (the readiness check). */
  ping(): Promise<void>;
}

/**
 * Opens the archive database `file` (`{dataDir}/xcs.db`), or, when XCS runs on PostgreSQL, the schema of the
 * file's data directory (`core/database/target.ts`). `db.destroy()` closes it.
 */
export async function openDatabase(file: string): Promise<OpenedDb> {
  return connect<ArchiveDb>(file, dirname(file));
}

/**
 * Applies, in name order, the migrations of `namespace` not applied yet. Replicas starting together are safe: the
 * migrator holds a lock while it migrates (an advisory lock on PostgreSQL; on SQLite the migration transaction's
 * write lock) and tolerates its bookkeeping tables being created by someone else meanwhile.
 */
export async function applyMigrations<T>(db: Kysely<T>, namespace: string,
  migrations: Record<string, Migration>): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const migrationTableName = `xcs_migrations_${namespace}`;
  // On PostgreSQL the migrator looks for its tables in every schema unless it is told which one is ours.
  const schema = dialectOf(db) === 'postgres'
    ? (await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db)).rows[0]?.s
    : undefined;
  const applied = await appliedMigrations(db, migrationTableName, schema);
  refuseNewerSchema(namespace, applied, migrations);
  // Up to date (every start but the first): no need for the migrator's lock and bookkeeping.
  if (applied !== undefined && Object.keys(migrations).every((m) => applied.includes(m))) return;
  const migrator = new Migrator({
    db, provider, migrationTableName,
    migrationLockTableName: `xcs_migrations_${namespace}_lock`,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? '?';
    throw new XcsError('database.migration', `migration ${namespace}/${failed} failed: ${String(error)}`,
      { cause: error });
  }
}

/**
 * A database a newer XCS has migrated holds migrations this one does not know: refuse it by name (running on it
 * could misread or damage what the newer tables hold) instead of the migrator's "corrupted migrations".
 */
function refuseNewerSchema(namespace: string, applied: string[] | undefined, migrations: Record<string, Migration>): void {
  const unknown = (applied ?? []).filter((n) => !Object.hasOwn(migrations, n)).sort();
  if (unknown.length > 0) {
    throw new XcsError('database.schema-newer',
      `the database was migrated by a newer XCS: ${namespace} migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} unknown to this version`,
      { path: namespace, hint: 'run the XCS version that migrated the database (or a newer one)' });
  }
}

/** The migrations of a namespace applied so far; undefined when it was never migrated. */
async function appliedMigrations<T>(db: Kysely<T>, table: string, schema: string | undefined): Promise<string[] | undefined> {
  const exists = schema
    ? (await sql<{ t: string | null }>`SELECT to_regclass(${`"${schema}"."${table}"`})::text AS t`.execute(db)).rows[0]?.t != null
    : (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ${table}`.execute(db)).rows.length > 0;
  if (!exists) return undefined;
  const from = schema ? sql.table(`${schema}.${table}`) : sql.table(table);
  return (await sql<{ name: string }>`SELECT name FROM ${from}`.execute(db)).rows.map((r) => r.name);
}

/** The archive's own schema. Never edit an applied migration; add a new one. */
export const archiveMigrations: Record<string, Migration> = {
  '0001-archive': {
    async up(db: Kysely<unknown>): Promise<void> {
      const stmts = [
        `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
        `CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL, secondary_id TEXT NOT NULL,
          description TEXT NOT NULL, pi_firstname TEXT NOT NULL, pi_lastname TEXT NOT NULL, keywords TEXT NOT NULL,
          accessibility TEXT NOT NULL, fields TEXT NOT NULL, insert_date TEXT NOT NULL, insert_user TEXT NOT NULL)`,
        `CREATE TABLE subjects (id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES projects(id), label TEXT NOT NULL,
          grp TEXT NOT NULL, src TEXT NOT NULL, fields TEXT NOT NULL, insert_date TEXT NOT NULL,
          insert_user TEXT NOT NULL, UNIQUE (project, label))`,
        `CREATE TABLE experiments (id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES projects(id),
          subject_id TEXT NOT NULL REFERENCES subjects(id), session_id TEXT REFERENCES experiments(id),
          label TEXT NOT NULL, xsi_type TEXT NOT NULL, date TEXT NOT NULL, modality TEXT NOT NULL, uid TEXT NOT NULL,
          visit_id TEXT NOT NULL, fields TEXT NOT NULL, document TEXT, document_format TEXT,
          insert_date TEXT NOT NULL, insert_user TEXT NOT NULL, UNIQUE (project, label))`,
        `CREATE INDEX experiments_subject ON experiments(subject_id)`,
        `CREATE INDEX experiments_session ON experiments(session_id)`,
        `CREATE TABLE scans (pk INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL REFERENCES experiments(id),
          scan_id TEXT NOT NULL, xsi_type TEXT NOT NULL, type TEXT NOT NULL, series_description TEXT NOT NULL,
          quality TEXT NOT NULL, frames TEXT NOT NULL, note TEXT NOT NULL, modality TEXT NOT NULL, uid TEXT NOT NULL,
          fields TEXT NOT NULL, insert_date TEXT NOT NULL, insert_user TEXT NOT NULL, UNIQUE (session_id, scan_id))`,
        `CREATE TABLE resources (id INTEGER PRIMARY KEY AUTOINCREMENT, parent_kind TEXT NOT NULL,
          parent_key TEXT NOT NULL, project TEXT NOT NULL, label TEXT NOT NULL, format TEXT NOT NULL,
          content TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL, dir TEXT NOT NULL,
          insert_date TEXT NOT NULL, insert_user TEXT NOT NULL, UNIQUE (parent_kind, parent_key, label))`,
        `CREATE TABLE files (resource_id INTEGER NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
          path TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL, format TEXT NOT NULL, content TEXT NOT NULL,
          tags TEXT NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY (resource_id, path)) WITHOUT ROWID`,
        `CREATE TABLE resource_commits (key TEXT PRIMARY KEY, state TEXT NOT NULL, resource_id INTEGER NOT NULL,
          uri TEXT NOT NULL, plan TEXT NOT NULL)`,
        `CREATE TABLE users (login TEXT PRIMARY KEY, password_hash TEXT NOT NULL, email TEXT NOT NULL,
          first_name TEXT NOT NULL, last_name TEXT NOT NULL, enabled INTEGER NOT NULL, verified INTEGER NOT NULL,
          site_admin INTEGER NOT NULL, created TEXT NOT NULL)`,
        `CREATE TABLE project_roles (project TEXT NOT NULL, login TEXT NOT NULL REFERENCES users(login) ON DELETE CASCADE,
          role TEXT NOT NULL, PRIMARY KEY (project, login))`,
        `CREATE TABLE http_sessions (token TEXT PRIMARY KEY, login TEXT NOT NULL, expires INTEGER NOT NULL)`,
        `CREATE TABLE alias_tokens (alias TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, login TEXT NOT NULL,
          expires INTEGER NOT NULL)`,
      ];
      await runDdl(db, stmts);
    },
  },
  /*
   * Sessions were stored by their cookie value: they are dropped (everyone signs in again once), as a stored
   * cookie cannot be told from a hash. Tokens gain their parent and run scope; existing ones have neither.
   */
  '0002-credentials': {
    async up(db: Kysely<unknown>): Promise<void> {
      const stmts = [
        `DROP TABLE http_sessions`,
        `CREATE TABLE http_sessions (token_hash TEXT PRIMARY KEY, login TEXT NOT NULL, expires INTEGER NOT NULL,
          parent TEXT, scope TEXT)`,
        `CREATE INDEX http_sessions_login ON http_sessions(login)`,
        `CREATE INDEX http_sessions_parent ON http_sessions(parent)`,
        `ALTER TABLE alias_tokens ADD COLUMN parent TEXT`,
        `ALTER TABLE alias_tokens ADD COLUMN scope TEXT`,
        `CREATE INDEX alias_tokens_login ON alias_tokens(login)`,
        `CREATE INDEX alias_tokens_parent ON alias_tokens(parent)`,
      ];
      await runDdl(db, stmts);
    },
  },
};
