/**
 * The run engine's database: registered commands, runs, their history and the durable job queue, in one
 * database so that a status change and the job that follows it commit together. On SQLite it is
 * `{dataDir}/runs.sqlite`; with a database URL (`xcs serve --database`, `XCS_DATABASE_URL`) it is the PostgreSQL
 * schema of the data directory (`core/database/target.ts`), shared by every replica serving it.
 * It is used through the synchronous `SyncDatabase` interface (not kysely) because every state change must be
 * one synchronous transaction: no await may split a read-check-write.
 *
 * The migrations are one list for both dialects: portable SQL, with SQLite's column types turned into
 * PostgreSQL's mechanically (`core/database/portable-ddl.ts`) and triggers written by helpers for each dialect.
 */
import { dirname } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import { PgSyncDatabase } from '../../core/database/pg-sync.ts';
import { SqliteSyncDatabase, type SqlDialect, type SyncDatabase } from '../../core/database/sync-sql.ts';
import { portableDdl } from '../../core/database/portable-ddl.ts';
import { databaseTargetFor, type DatabaseTarget } from '../../core/database/target.ts';
import { preparePrivateDatabase, tightenDatabaseFiles } from '../../core/private-files.ts';

export type RunDatabase = SyncDatabase;

type Migration = string | ((dialect: SqlDialect) => string);

/** A trigger that bumps the `runs_version` counter after `event` on `table`. */
function bumpVersionOn(dialect: SqlDialect, name: string, event: 'INSERT' | 'UPDATE' | 'DELETE', table: string): string {
  return dialect === 'sqlite'
    ? `CREATE TRIGGER ${name} AFTER ${event} ON ${table} BEGIN UPDATE runs_version SET v = v + 1; END;`
    : `CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION runs_version_bump();`;
}

/** A trigger that refuses every `event` on `table` (append-only tables). */
function refuse(dialect: SqlDialect, name: string, event: 'UPDATE' | 'DELETE', table: string): string {
  return dialect === 'sqlite'
    ? `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;`
    : `CREATE TRIGGER ${name} BEFORE ${event} ON ${table} FOR EACH ROW EXECUTE FUNCTION provenance_append_only();`;
}

/**
 * Slots of the listings' change counter on PostgreSQL: a transaction bumps the slot of its server process
 * (`pg_backend_pid()` modulo this), so concurrent connections practically never write the same row.
 */
const VERSION_SLOTS = 1024;

const MIGRATIONS: Migration[] = [
  `
  CREATE TABLE commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL,
    json TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX commands_name_version_image ON commands(name, version, image);
  CREATE TABLE wrappers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id INTEGER NOT NULL REFERENCES commands(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    UNIQUE(command_id, name)
  );
  CREATE TABLE wrapper_projects (
    wrapper_id INTEGER NOT NULL REFERENCES wrappers(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    PRIMARY KEY (wrapper_id, project)
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id INTEGER NOT NULL,
    wrapper_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    project TEXT,
    status TEXT NOT NULL,
    status_time INTEGER NOT NULL,
    spec TEXT NOT NULL,
    container_id TEXT,
    container_name TEXT NOT NULL,
    exit_code TEXT,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    kill_requested INTEGER NOT NULL DEFAULT 0,
    failure_code TEXT,
    failure_hint TEXT,
    token_alias TEXT,
    secrets TEXT NOT NULL DEFAULT '[]',
    log_paths TEXT NOT NULL DEFAULT '[]',
    created_outputs TEXT NOT NULL DEFAULT '{}',
    build_dir TEXT,
    cleaned_up INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX runs_status ON runs(status);
  CREATE INDEX runs_container ON runs(container_id);
  CREATE TABLE history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    time_recorded INTEGER NOT NULL,
    external_timestamp TEXT,
    message TEXT,
    exit_code TEXT
  );
  CREATE INDEX history_run ON history(run_id);
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE(queue, run_id)
  );
  CREATE INDEX jobs_claim ON jobs(queue, state, run_at);
  `,
  // Container listings filter by project or user and page newest first (GET /xapi/containers).
  `
  CREATE INDEX runs_project ON runs(project, id);
  CREATE INDEX runs_user ON runs(user_id, id);
  `,
  // A counter bumped by every write to runs or history, from any connection: listings cache their answer
  // until it moves (one indexed read instead of a page query and its serialisation).
  (d) => `
  CREATE TABLE runs_version (v INTEGER NOT NULL);
  INSERT INTO runs_version VALUES (0);
  ${d === 'postgres' ? `CREATE FUNCTION runs_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE runs_version SET v = v + 1; RETURN NULL; END $$;` : ''}
  ${bumpVersionOn(d, 'runs_version_ins', 'INSERT', 'runs')}
  ${bumpVersionOn(d, 'runs_version_upd', 'UPDATE', 'runs')}
  ${bumpVersionOn(d, 'runs_version_del', 'DELETE', 'runs')}
  ${bumpVersionOn(d, 'history_version_ins', 'INSERT', 'history')}
  ${bumpVersionOn(d, 'history_version_del', 'DELETE', 'history')}
  `,
  // Setup and wrapup containers of a run (one row each, created when first launched), and the runs the
  // reconciler still has work for: it must not read the whole history on every pass.
  `
  CREATE TABLE aux_containers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    container_id TEXT,
    status TEXT NOT NULL,
    exit_code TEXT,
    message TEXT,
    log_paths TEXT NOT NULL DEFAULT '[]',
    UNIQUE(run_id, kind, idx)
  );
  CREATE INDEX runs_unsettled ON runs(id) WHERE cleaned_up = 0;
  `,
  // XNAT's paginated container request (POST /xapi/containers) sorts by creation time by default, or by status
  // time: a page is then read in index order instead of sorting every run.
  `
  CREATE INDEX runs_created ON runs(created_at);
  CREATE INDEX runs_status_time ON runs(status_time);
  `,
  // Provenance (provenance-store.ts): one JSON record per run and phase (launch, start, finalize), the run's owner
  // for access checks, and indexes from archive objects and image digests back to runs. Append-only: a record
  // is written once and neither changed nor removed (not even with its run), so it can be trusted.
  (d) => `
  CREATE TABLE provenance_runs (
    run_id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    project TEXT,
    recorded_at INTEGER NOT NULL
  );
  CREATE TABLE provenance_records (
    run_id INTEGER NOT NULL,
    phase TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, phase)
  );
  CREATE TABLE provenance_objects (
    run_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    object_key TEXT NOT NULL,
    uri TEXT NOT NULL,
    PRIMARY KEY (run_id, role, name, object_key)
  );
  CREATE INDEX provenance_objects_key ON provenance_objects(object_key, role);
  CREATE TABLE provenance_images (
    run_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, value)
  );
  CREATE INDEX provenance_images_value ON provenance_images(value, kind);
  ${d === 'postgres' ? `CREATE FUNCTION provenance_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'provenance is append-only'; END $$;` : ''}
  ${['provenance_runs', 'provenance_records', 'provenance_objects', 'provenance_images']
    .flatMap((t) => [refuse(d, `${t}_no_update`, 'UPDATE', t), refuse(d, `${t}_no_delete`, 'DELETE', t)]).join('\n  ')}
  `,
  // Retries, time limits and relaunch (retry-policy.ts, watchdog.ts, retrier.ts): the run's compiled policy, its
  // attempt number and the links between attempts (`retried_by` is set once, in the transaction creating the next
  // attempt, which makes a retry happen once), and whether the watchdog stopped it.
  `
  ALTER TABLE runs ADD COLUMN policy TEXT;
  ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE runs ADD COLUMN retry_of INTEGER;
  ALTER TABLE runs ADD COLUMN retried_by INTEGER;
  ALTER TABLE runs ADD COLUMN relaunch_of INTEGER;
  ALTER TABLE runs ADD COLUMN timed_out INTEGER NOT NULL DEFAULT 0;
  `,
  // The site settings a run was launched with (site-settings.ts): network, user, clean-up, hardening, XNAT_HOST.
  `
  ALTER TABLE runs ADD COLUMN settings TEXT;
  `,
  // Operations (status-events.ts, src/notifications/): every status change as a numbered event, written in the
  // transaction that changes the status — the live stream resumes from its ids and the notifiers read it as their
  // outbox (each keeps a cursor, advanced in the transaction that records what the event produced), so a crash
  // loses none. Webhooks with their deliveries (retried with backoff), e-mails to send, and bulk launches (batches)
  // so that a batch gets one digest.
  `
  CREATE TABLE status_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    time INTEGER NOT NULL,
    exit_code TEXT,
    message TEXT,
    hint TEXT
  );
  CREATE INDEX status_events_run ON status_events(run_id, id);
  CREATE TABLE notification_cursors (name TEXT PRIMARY KEY, event_id INTEGER NOT NULL);
  CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    project TEXT,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_at);
  CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
  CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX mail_outbox_due ON mail_outbox(state, next_at);
  CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    announced INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE batch_runs (
    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL PRIMARY KEY
  );
  `,
  // Where a cluster backend placed each run (swarm: service, task, node, the task's container) and why it waits.
  `
  ALTER TABLE runs ADD COLUMN placement TEXT;
  `,
  // Several replicas on one database (replicas.ts, leases.ts): each process's row with its heartbeat, so that the
  // others know when it died and take over its job leases; named leases for work only one replica may do at a time
  // (following the engine's events). Times are milliseconds since the epoch, as everywhere in this database.
  `
  CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_namespace TEXT,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX jobs_lease_owner ON jobs(lease_owner);
  `,
  // A run's end drops its waiting jobs by run id (one index read, not a scan of every job). The listings' change
  // counter becomes one row per slot, summed by its readers: on PostgreSQL a transaction bumps the row of its
  // connection's slot, once, so that replicas writing at once do not all update (and conflict on) one row.
  (d) => `
  CREATE INDEX jobs_run ON jobs(run_id);
  ALTER TABLE runs_version ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;
  CREATE UNIQUE INDEX runs_version_slot ON runs_version(slot);
  ${d === 'postgres' ? `CREATE OR REPLACE FUNCTION runs_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('xcs.runs_version_bumped', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO runs_version (slot, v) VALUES (pg_backend_pid() % ${VERSION_SLOTS}, 1)
          ON CONFLICT (slot) DO UPDATE SET v = runs_version.v + 1;
        PERFORM set_config('xcs.runs_version_bumped', 'on', true);
      END IF;
      RETURN NULL;
    END $$;` : ''}
  `,
];

/** The schema version this binary migrates to. */
export const RUN_SCHEMA_VERSION = MIGRATIONS.length;

function newerSchema(found: number, where: string): XcsError {
  return new XcsError('database.schema-newer',
    `the run database (${where}) is at schema version ${found}, newer than this XCS knows (${RUN_SCHEMA_VERSION})`,
    { path: 'database', hint: 'run the XCS version that wrote it (or a newer one), or restore a backup taken before the upgrade' });
}

/** The run database of the data directory holding `file` (`{dataDir}/runs.sqlite` on SQLite). */
export function openRunDatabase(file: string): RunDatabase {
  return openRunDatabaseAt(databaseTargetFor(dirname(file)), file);
}

/** The run database in `target`, migrated; `file` is the SQLite file when the target is SQLite. */
export function openRunDatabaseAt(target: DatabaseTarget, file: string): RunDatabase {
  if (target.kind === 'postgres') {
    const db = new PgSyncDatabase(target);
    try {
      migratePostgres(db);
    } catch (e) {
      db.close();
      throw e;
    }
    return db;
  }
  preparePrivateDatabase(file);
  const db = new SqliteSyncDatabase(file);
  tightenDatabaseFiles(file);
  try {
    migrateSqlite(db, file);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function migrateSqlite(db: SqliteSyncDatabase, file: string): void {
  const version = db.raw.pragma('user_version', { simple: true }) as number;
  if (version > RUN_SCHEMA_VERSION) throw newerSchema(version, file);
  for (let v = version; v < RUN_SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(sqlOf(MIGRATIONS[v], 'sqlite'));
      db.raw.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * On PostgreSQL the version is a row of `runs_schema_version`; replicas starting at once take an advisory lock, so
 * one migrates and the others find the work done.
 */
function migratePostgres(db: PgSyncDatabase): void {
  db.withMigrationLock('runs-migrations', () => {
    db.exec('CREATE TABLE IF NOT EXISTS runs_schema_version (version BIGINT NOT NULL)');
    const row = db.prepare<[], { version: number }>('SELECT version FROM runs_schema_version').get();
    if (!row) db.exec('INSERT INTO runs_schema_version VALUES (0)');
    const version = row?.version ?? 0;
    if (version > RUN_SCHEMA_VERSION) throw newerSchema(version, `PostgreSQL schema ${db.schema}`);
    for (let v = version; v < RUN_SCHEMA_VERSION; v++) db.exec(sqlOf(MIGRATIONS[v], 'postgres'));
    if (version < RUN_SCHEMA_VERSION) db.prepare('UPDATE runs_schema_version SET version = ?').run(RUN_SCHEMA_VERSION);
  });
}

function sqlOf(m: Migration, dialect: SqlDialect): string {
  return portableDdl(typeof m === 'string' ? m : m(dialect), dialect);
}
