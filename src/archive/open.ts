/**
 * Opening the embedded archive: the one place that knows the data-directory layout
 * (`{dataDir}/xcs.db`, `{dataDir}/archive/`, `{dataDir}/staging/`), runs migrations and creates the
 * first site administrator.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { XcsError } from '../core/errors.ts';
import { ensurePrivateDir } from '../core/private-files.ts';
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { applyMigrations, archiveMigrations, openDatabase, type ArchiveDb } from './db.ts';
import type { DatabaseKind } from './db-connect.ts';
import { EmbeddedArchive } from './embedded/index.ts';
import { UserStore } from './users.ts';
import type { UnpackLimits } from './unpack-limits.ts';

export interface EmbeddedOptions {
  maxUploadBytes?: number;
  /** Archive-bomb limits for extracted zips (defaults in `unpack-limits.ts`). */
  unpackLimits?: Partial<UnpackLimits>;
  /** Staging entries untouched for this long are removed when opening (default one hour). */
  stagingMaxAgeMs?: number;
  /** Admin login/password for the first start (default: `XCS_ADMIN_USER`/`XCS_ADMIN_PASSWORD` or generated). */
  admin?: { login?: string; password?: string };
}

export interface OpenedArchive {
  dataDir: string;
  archive: EmbeddedArchive;
  users: UserStore;
  /** The shared database, for modules that add their own tables (see `applyMigrations`). */
  db: Kysely<ArchiveDb>;
  /** Where the database is: `{dataDir}/xcs.db`, or a PostgreSQL schema shared by the data directory's replicas. */
  databaseKind: DatabaseKind;
  /** One round trip to the database (the readiness check). */
  pingDatabase(): Promise<void>;
  /** Set on the first start when the admin password was generated: print it once. */
  generatedAdmin?: { login: string; password: string };
  close(): Promise<void>;
}

/** The data directory when none is given: `$XCS_HOME`, else `./xcs-data`. */
export function defaultDataDir(): string {
  return resolve(process.env.XCS_HOME || 'xcs-data');
}

export async function openEmbeddedArchive(dataDir: string, opts: EmbeddedOptions = {}): Promise<OpenedArchive> {
  const dir = resolve(dataDir);
  // Created private; an existing XCS data directory (it holds the database, or on PostgreSQL the archive tree) is
  // tightened too.
  ensurePrivateDir(dir, existsSync(join(dir, 'xcs.db')) || existsSync(join(dir, 'archive')));
  const { db, kind, ping } = await openDatabase(join(dir, 'xcs.db'));
  try {
    await applyMigrations(db, 'archive', archiveMigrations);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const archive = new EmbeddedArchive(db, { dataDir: dir, maxUploadBytes: opts.maxUploadBytes,
    stagingMaxAgeMs: opts.stagingMaxAgeMs, unpackLimits: opts.unpackLimits });
  await archive.init();
  const users = new UserStore(db);
  let generatedAdmin: OpenedArchive['generatedAdmin'];
  if ((await users.countUsers()) === 0) {
    const login = opts.admin?.login ?? process.env.XCS_ADMIN_USER ?? 'admin';
    const given = opts.admin?.password ?? process.env.XCS_ADMIN_PASSWORD;
    const password = given || randomBytes(12).toString('base64url');
    try {
      await users.addUser({ login, password, siteAdmin: true, firstName: 'Site', lastName: 'Administrator' });
      if (!given) generatedAdmin = { login, password };
    } catch (e) {
      // A replica starting at the same time on the same database created the administrator first.
      if (!(e instanceof XcsError && e.code === 'users.exists')) throw e;
    }
  }
  return {
    dataDir: dir, archive, users, db, databaseKind: kind, pingDatabase: ping, generatedAdmin,
    close: () => archive.close(),
  };
}
