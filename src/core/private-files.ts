/**
 * Files only the server's own user may read. The data directory holds the databases (password hashes,
 * session and run tokens, run environments) and the archive, so it is created `0700` and every database
 * file (SQLite's `-wal` and `-shm` included) is `0600`, whatever the process's umask.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/** Creates `dir` (and missing parents) as `0700`; an existing directory is tightened when `tighten` says so. */
export function ensurePrivateDir(dir: string, tighten = false): void {
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existed || tighten) chmodSync(dir, 0o700);
}

/**
 * Makes sure the SQLite database `file` is created `0600` before SQLite opens it (SQLite gives its `-wal`
 * and `-shm` files the database's mode) and tightens files left by older versions.
 */
export function preparePrivateDatabase(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  tightenDatabaseFiles(file);
}

/** `0600` on the database and the WAL files SQLite has created next to it. */
export function tightenDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}
