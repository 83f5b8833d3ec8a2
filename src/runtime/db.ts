/**
 * The run engine's SQLite database (`{dataDir}/runs.sqlite`): registered commands, runs, their history and
 * the durable job queue. One file so that a status change and the job that follows it commit together.
 * better-sqlite3 is used directly (not through kysely) because every state change must be one synchronous
 * transaction: no await may split a read-check-write.
 */
import Database from 'better-sqlite3';
import { preparePrivateDatabase, tightenDatabaseFiles } from '../core/private-files.ts';

export type RunDatabase = Database.Database;

const MIGRATIONS: string[] = [
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
  `
  CREATE TABLE runs_version (v INTEGER NOT NULL);
  INSERT INTO runs_version VALUES (0);
  CREATE TRIGGER runs_version_ins AFTER INSERT ON runs BEGIN UPDATE runs_version SET v = v + 1; END;
  CREATE TRIGGER runs_version_upd AFTER UPDATE ON runs BEGIN UPDATE runs_version SET v = v + 1; END;
  CREATE TRIGGER runs_version_del AFTER DELETE ON runs BEGIN UPDATE runs_version SET v = v + 1; END;
  CREATE TRIGGER history_version_ins AFTER INSERT ON history BEGIN UPDATE runs_version SET v = v + 1; END;
  CREATE TRIGGER history_version_del AFTER DELETE ON history BEGIN UPDATE runs_version SET v = v + 1; END;
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
  `
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
  CREATE TRIGGER provenance_runs_no_update BEFORE UPDATE ON provenance_runs BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_runs_no_delete BEFORE DELETE ON provenance_runs BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_records_no_update BEFORE UPDATE ON provenance_records BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_records_no_delete BEFORE DELETE ON provenance_records BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_objects_no_update BEFORE UPDATE ON provenance_objects BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_objects_no_delete BEFORE DELETE ON provenance_objects BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_images_no_update BEFORE UPDATE ON provenance_images BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
  CREATE TRIGGER provenance_images_no_delete BEFORE DELETE ON provenance_images BEGIN SELECT RAISE(ABORT, 'provenance is append-only'); END;
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
];

export function openRunDatabase(file: string): RunDatabase {
  preparePrivateDatabase(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  tightenDatabaseFiles(file);
  // A crash may lose the last transactions with NORMAL but never corrupts; our steps are re-run idempotently.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  writeLockFirst(db);
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/**
 * Several processes (replicas) may share the file. A transaction that reads and then writes must take the write
 * lock before its first read: begun deferred, SQLite answers SQLITE_BUSY at once (no busy wait) when another
 * process committed in between. Every `db.transaction(...)` of this database therefore begins IMMEDIATE;
 * `.deferred` stays available for read-only snapshots.
 */
function writeLockFirst(db: RunDatabase): void {
  const original = db.transaction.bind(db);
  const immediateByDefault = <F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> => {
    const tx = original(fn);
    // The immediate variant, called as the transaction itself, keeping the other variants beside it.
    const run = (...args: Parameters<F>): ReturnType<F> => (tx.immediate as unknown as (...a: Parameters<F>) => ReturnType<F>)(...args);
    return Object.assign(run, {
      default: tx.immediate, deferred: tx.deferred, immediate: tx.immediate, exclusive: tx.exclusive,
    }) as unknown as Database.Transaction<F>;
  };
  db.transaction = immediateByDefault as RunDatabase['transaction'];
}
