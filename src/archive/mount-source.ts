/**
 * What a mount's source on the host is. A File input that provides files for a mount names one file, and
 * XNAT bind-mounts that file itself at the mount's path (a writable one gets a copy in its build
 * directory): so a regular file is a valid source, and "missing" means the path is not there at all.
 */
import { copyFile, cp, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
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

/** The error for a mount whose source is not there (or is neither a file nor a directory). */
export function sourceMissing(mount: string, path: string, kind: SourceKind, writable: boolean): XcsError {
  const what = writable ? `The input files for writable mount "${mount}"` : `The files for mount "${mount}"`;
  const why = kind === 'other' ? 'is neither a file nor a directory' : 'does not exist';
  return new XcsError('mount-missing', `${what} are not there: ${path || '(no path)'} ${why}`, {
    path, hint: 'The input was deleted or moved since the run was launched; launch it again on the current data.',
  });
}

/** Copies a writable mount's input (a directory's contents, or one file) to its build path `dest`. */
export async function copyMountSource(mount: string, source: string, dest: string): Promise<void> {
  const kind = await sourceKind(source);
  if (kind === 'directory') {
    await mkdir(dest, { recursive: true });
    await cp(source, dest, { recursive: true });
  } else if (kind === 'file') {
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(source, dest);
  } else {
    throw sourceMissing(mount, source, kind, true);
  }
}
