/**
 * Start-up cleanup of `{dataDir}/staging`, safe while another process (`xcs serve`, `xcs import-dicom`,
 * `xcs admin`) works on the same data directory.
 *
 * Rule: an entry of the staging root or of `staging/.uploads` is removed only when nothing in its tree was
 * modified for `maxAgeMs` (default one hour, by the newest mtime of any file or directory inside). Work in
 * progress keeps touching its tree (an upload appends, an import unpacks, staging creates links and copies),
 * so a live process's entries are never that old; a crashed one's are, whatever it was (`dicom-import-*`,
 * `dicom-upload-*`, `finalize-*`, `.zip-*`, upload temporaries). Ownership by pid was not chosen: the
 * directories are made by several modules (and `finalize-{run}` is reused across processes on purpose).
 *
 * Nothing removed here is needed to recover: a commit interrupted half-way is finished from its plan in
 * `resource_commits` with whatever staged directory the retry passes (`commitResource`), finalization removes
 * and re-stages its own `finalize-{run}` tree on every attempt, and DICOM imports use a new key and a new work
 * directory each time. The remaining risk is a live step that writes nothing for an hour (hashing one huge
 * linked file): it then fails and is retried, it does not corrupt the archive.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const STAGING_MAX_AGE_MS = 60 * 60 * 1000;

export interface StagingCleanupOptions {
  maxAgeMs?: number;
  /** For tests: the current time in ms. */
  now?: number;
}

/** Removes the stale entries of `stagingDir` and `stagingDir/.uploads`; returns the paths removed. */
export async function removeStaleStaging(stagingDir: string, opts: StagingCleanupOptions = {}): Promise<string[]> {
  const cutoff = (opts.now ?? Date.now()) - (opts.maxAgeMs ?? STAGING_MAX_AGE_MS);
  const removed: string[] = [];
  const sweep = async (dir: string, keep: ReadonlySet<string>): Promise<void> => {
    for (const name of await listOrEmpty(dir)) {
      if (keep.has(name)) continue;
      const p = join(dir, name);
      if (await touchedSince(p, cutoff)) continue;
      await rm(p, { recursive: true, force: true });
      removed.push(p);
    }
  };
  // `.uploads` itself lives as long as the archive; only what is inside it ages.
  await sweep(stagingDir, new Set(['.uploads']));
  await sweep(join(stagingDir, '.uploads'), new Set());
  return removed;
}

async function listOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Whether anything in the tree at `p` has an mtime after `cutoff`; stops at the first such entry. */
async function touchedSince(p: string, cutoff: number): Promise<boolean> {
  let st;
  try {
    st = await lstat(p);
  } catch (e) {
    // Moved away meanwhile (a commit renamed it): nothing left to judge, and nothing to remove.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
  if (st.mtimeMs > cutoff) return true;
  if (!st.isDirectory()) return false;
  for (const name of await listOrEmpty(p)) if (await touchedSince(join(p, name), cutoff)) return true;
  return false;
}
