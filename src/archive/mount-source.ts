/**
 * What a mount's source on the host is. A File input that provides files for a mount names one file, and
 * XNAT bind-mounts that file itself at the mount's path (a writable one gets a copy in its build
 * directory): so a regular file is a valid source, and "missing" means the path is not there at all.
 *
 * Copies (a writable mount's input files, and every read-only input under the `copy` staging strategy) are made
 * by walking the source, checked whole before the first byte is written: directories and regular files are copied;
 * a symbolic link pointing inside the source becomes a relative link to the same place in the copy, one pointing
 * outside it is refused (a copy holds what the input holds, never what a link reaches elsewhere on this machine);
 * FIFOs, sockets and devices are refused; and the files must fit in the space free where the copy goes.
 */
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, realpath, stat, statfs, symlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { XcsError } from '../core/errors.ts';

export type SourceKind = 'directory' | 'file' | 'missing' | 'other';

export async function sourceKind(path: string): Promise<SourceKind> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

function mountFiles(mount: string, writable: boolean): string {
  return writable ? `The input files for writable mount "${mount}"` : `The files for mount "${mount}"`;
}

/** The error for a mount whose source is not there (or is neither a file nor a directory). */
export function sourceMissing(mount: string, path: string, kind: SourceKind, writable: boolean): XcsError {
  const why = kind === 'other' ? 'is neither a file nor a directory' : 'does not exist';
  return new XcsError('mount-missing', `${mountFiles(mount, writable)} are not there: ${path || '(no path)'} ${why}`, {
    path, hint: 'The input was deleted or moved since the run was launched; launch it again on the current data.',
  });
}

/** What a copy will make, relative to the source: directories (parents first), files, links (already made relative). */
interface CopyPlan {
  dirs: string[];
  files: string[];
  links: Array<{ rel: string; target: string }>;
  bytes: number;
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function planTree(mount: string, writable: boolean, root: string, rel: string, plan: CopyPlan): Promise<void> {
  const dir = join(root, rel);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const r = rel === '' ? entry.name : join(rel, entry.name);
    const abs = join(root, r);
    if (entry.isDirectory()) {
      plan.dirs.push(r);
      await planTree(mount, writable, root, r, plan);
    } else if (entry.isFile()) {
      plan.files.push(r);
      plan.bytes += (await lstat(abs)).size;
    } else if (entry.isSymbolicLink()) {
      const target = await readlink(abs);
      // Where the link leads once every link on the way is followed; a dangling link by its text.
      const real = await realpath(abs).catch(() => null);
      const to = real ?? resolve(dirname(abs), target);
      if (!inside(root, to)) {
        throw new XcsError('staging.unsafe-link', `${mountFiles(mount, writable)} hold a link that points outside them: ${r} -> ${target}`, {
          path: abs, hint: 'XCS copies only what the input holds: remove the link from the archive, or make it point to a file of the same input',
        });
      }
      plan.links.push({ rel: r, target: relative(dirname(abs), to) || '.' });
    } else {
      throw new XcsError('staging.unsafe-entry', `${mountFiles(mount, writable)} hold ${r}, which is neither a file, a directory nor a link`, {
        path: abs, hint: 'FIFOs, sockets and devices are not copied into containers: remove it from the archive',
      });
    }
  }
}

async function requireSpace(mount: string, writable: boolean, dest: string, bytes: number): Promise<void> {
  const fs = await statfs(dest);
  const free = fs.bavail * fs.bsize;
  if (bytes > free) {
    throw new XcsError('staging.no-space', `${mountFiles(mount, writable)} need ${bytes} bytes, but only ${free} are free where they are copied`, {
      path: dest, hint: 'free space on the disk of the build directories (the data directory\'s build/), then launch the run again',
    });
  }
}

/** Copies files a few at a time (small files are dominated by latency; a copy-on-write clone where the filesystem can). */
async function copyFiles(from: string, to: string, files: string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const rel = files[next++];
      await copyFile(join(from, rel), join(to, rel), constants.COPYFILE_FICLONE);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, worker));
}

/**
 * Copies a mount's source (a directory's contents, or one file) to `dest`, refusing links that lead outside the
 * source (see above). `writable` only words the errors: the input of a writable mount, or a read-only one's files.
 */
export async function copyMountSource(mount: string, source: string, dest: string, writable = true): Promise<void> {
  const kind = await sourceKind(source);
  if (kind === 'directory') {
    const root = await realpath(source);
    const plan: CopyPlan = { dirs: [], files: [], links: [], bytes: 0 };
    await planTree(mount, writable, root, '', plan);
    await mkdir(dest, { recursive: true });
    await requireSpace(mount, writable, dest, plan.bytes);
    for (const d of plan.dirs) await mkdir(join(dest, d), { recursive: true });
    await copyFiles(root, dest, plan.files);
    for (const l of plan.links) await symlink(l.target, join(dest, l.rel));
  } else if (kind === 'file') {
    await mkdir(dirname(dest), { recursive: true });
    await requireSpace(mount, writable, dirname(dest), (await stat(source)).size);
    await copyFile(source, dest, constants.COPYFILE_FICLONE);
  } else {
    throw sourceMissing(mount, source, kind, writable);
  }
}
