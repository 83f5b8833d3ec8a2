/**
 * Puts collected files into a staging directory on the sink's filesystem and checks the result, so that
 * a commit is only a rename. Any failure leaves the caller to remove the whole staging tree.
 */
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { XcsError } from '../../core/errors.ts';
import type { CollectedFile } from './collect.ts';
import { stageWithDigests, type StageMode } from './hash-stage.ts';
import type { CopyFn, StagedFile } from './types.ts';

/** A reflink where the filesystem supports it, else a kernel-side copy; never overwrites. */
export const copyIsolated: CopyFn = (src, dest) =>
  copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);

/** A hard link (no data copied); falls back to a copy across filesystems or when linking is refused. */
export const linkOrCopy: CopyFn = async (src, dest) => {
  try {
    await link(src, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') await copyIsolated(src, dest);
    else throw e;
  }
};

/** Enough parallel copies to keep libuv's thread pool busy without flooding it. */
const PARALLEL = 8;

async function makeDirs(files: readonly CollectedFile[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const dirs = new Set<string>();
  for (const f of files) {
    const d = dirname(f.rel);
    if (d !== '.') dirs.add(d);
  }
  // Parents first: sorting puts "a" before "a/b".
  for (const d of [...dirs].sort()) await mkdir(join(dest, d), { recursive: true });
}

function changed(output: string, f: CollectedFile, staged: string): XcsError {
  return new XcsError(
    'upload-failed',
    `Output "${output}": file "${f.rel}" changed while it was staged (expected ${f.size} bytes, staged ${staged}).`,
    { path: f.rel, hint: 'Nothing may write to an output mount once the container has exited; finalize again.' },
  );
}

/** Stages `files` under `dest` (which must not exist yet) and verifies every staged file's size. */
export async function stageFiles(output: string, files: readonly CollectedFile[], dest: string, copy: CopyFn): Promise<void> {
  await makeDirs(files, dest);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < files.length) {
      const f = files[next++];
      try {
        await copy(f.source, join(dest, f.rel));
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  // Every copy must have settled before the caller removes the staging tree, or a late one would re-create it.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;

  for (const f of files) {
    const staged = await lstat(join(dest, f.rel));
    if (!staged.isFile() || staged.size !== f.size) throw changed(output, f, staged.isFile() ? `${staged.size} bytes` : 'a non-file');
  }
}

/**
 * Like `stageFiles` with `copyIsolated` (mode `copy`) or `linkOrCopy` (mode `link`), in worker threads,
 * reading each staged file once for its size (verified as in `stageFiles`) and, with `digest`, its MD5.
 * Returns the staged files' manifest in the order of `files`.
 */
export async function stageFilesWithDigests(output: string, files: readonly CollectedFile[], dest: string,
  mode: StageMode, digest: boolean): Promise<StagedFile[]> {
  await makeDirs(files, dest);
  const digests = await stageWithDigests(files, dest, mode, digest);
  return files.map((f, i) => {
    const d = digests[i];
    if (d.size !== f.size) throw changed(output, f, d.size < 0 ? 'a non-file' : `${d.size} bytes`);
    return { path: f.rel, size: d.size, md5: d.md5 };
  });
}
