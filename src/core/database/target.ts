/**
 * Where a data directory's state lives: its SQLite files (the default), or a PostgreSQL database shared by every
 * replica that serves the same data directory (`xcs serve --database postgres://…` or `XCS_DATABASE_URL`).
 *
 * The schema is `public` unless the URL says `?schema=name`. `XCS_DATABASE_SCHEMA_PER_DATA_DIR=1` gives each data
 * directory its own schema, named from the directory's real path: the test suite runs every test's fresh data
 * directory on one test database that way, and a data directory opened again (a restart) finds its own state.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { XcsError } from '../errors.ts';

export type DatabaseTarget =
  | { kind: 'sqlite' }
  | { kind: 'postgres'; /** The connection URL without XCS's own parameters. */ url: string; schema: string };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The database the process was told to use: a URL (the `--database` option, before `XCS_DATABASE_URL`), `null` for
 * SQLite whatever the environment says (`xcs db migrate` reading its source), `undefined` when nothing was said.
 */
let processUrl: string | null | undefined;

/** Set by `xcs serve --database` and `xcs db migrate` before they open anything. */
export function useDatabaseUrl(url: string | null | undefined): void {
  processUrl = url === '' ? undefined : url;
}

export function configuredDatabaseUrl(): string | undefined {
  if (processUrl === null) return undefined;
  return processUrl ?? (process.env.XCS_DATABASE_URL || undefined);
}

/** Parses a `postgres://` / `postgresql://` URL; `schema` is XCS's own parameter and is taken out of the URL. */
export function parseDatabaseUrl(raw: string): { url: string; schema: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new XcsError('database.url', `"${redact(raw)}" is not a database URL (expected postgres://user:password@host:port/database)`,
      { path: 'database' });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new XcsError('database.url', `the database URL must start with postgres:// or postgresql://, not ${u.protocol}//`,
      { path: 'database' });
  }
  const schema = u.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new XcsError('database.url', `schema "${schema}" in the database URL is not a plain lower-case SQL name`, { path: 'database.schema' });
  }
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}

/** The URL with its password hidden, for messages and logs. */
export function redact(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** The database of the data directory `dataDir`. */
export function databaseTargetFor(dataDir: string): DatabaseTarget {
  const raw = configuredDatabaseUrl();
  if (raw === undefined) return { kind: 'sqlite' };
  const { url, schema } = parseDatabaseUrl(raw);
  if (process.env.XCS_DATABASE_SCHEMA_PER_DATA_DIR === '1') {
    let real = dataDir;
    try { real = realpathSync(dataDir); } catch { /* not created yet: its given path names it */ }
    return { kind: 'postgres', url, schema: `xcs_${createHash('sha256').update(real).digest('hex').slice(0, 20)}` };
  }
  return { kind: 'postgres', url, schema };
}
