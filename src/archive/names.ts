/**
 * Which names the archive accepts: labels and IDs (XNAT's `[A-Za-z0-9_-]`, plus `.` as long as the
 * name is not `.`/`..`), and file paths inside a resource (relative, no `..`, no control characters).
 */
import { XcsError } from '../core/errors.ts';

const LABEL = /^[A-Za-z0-9_.-]{1,255}$/;
/** What file systems take for one name (Linux's NAME_MAX): longer parts would fail with ENAMETOOLONG. */
export const MAX_NAME_BYTES = 255;

export function checkLabel(what: string, name: string): string {
  if (!LABEL.test(name) || name === '.' || name === '..') {
    throw new XcsError('archive.bad-label', `${what} "${name}" is not valid: use letters, digits, "_", "-" and "."`,
      { path: name });
  }
  return name;
}

/** Normalises a file path inside a resource; refuses anything that could leave the resource directory. */
export function checkFilePath(path: string): string {
  // eslint-disable-next-line no-control-regex
  if (path.length === 0 || path.length > 1024 || /[\u0000-\u001f\u007f\\]/.test(path)) {
    throw new XcsError('archive.bad-file-name', `file name "${path}" is empty, too long or has control characters or "\\"`,
      { path });
  }
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) {
    throw new XcsError('archive.bad-file-name', `file name "${path}" is absolute; give a path inside the resource`,
      { path });
  }
  const segs = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.length === 0 || segs.some((s) => s === '..')) {
    throw new XcsError('archive.bad-file-name', `file name "${path}" leaves the resource ("..")`, { path });
  }
  const long = segs.find((s) => Buffer.byteLength(s, 'utf8') > MAX_NAME_BYTES);
  if (long !== undefined) {
    throw new XcsError('archive.name-too-long',
      `file name "${path}" has a part of ${Buffer.byteLength(long, 'utf8')} bytes; each part between "/" may have at most ${MAX_NAME_BYTES} bytes (UTF-8)`,
      { path, hint: 'shorten the file or directory name' });
  }
  return segs.join('/');
}
