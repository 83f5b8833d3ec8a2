/**
 * Where imported files come from: a directory, a zip or a tar (optionally gzipped).
 * Archive entries are streamed to numbered files in a staging directory — never
 * to paths built from their names — and the whole archive is refused (400) when an
 * entry's name is absolute, climbs out with `..`, has control characters, or the
 * entry is a link or device. Everything is checked before the archive changes.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { XcsError, isXcsError, messageOf } from '../../core/errors.ts';
import { checkNoOverlap, ratioGuard, resolveUnpackLimits, UnpackBudget, type UnpackLimits } from '../unpack-limits.ts';

export interface SourceFile {
  /** The name in the upload or directory (relative, `/`-separated), for reports. */
  name: string;
  /** Where the bytes are on this machine. */
  path: string;
  size: number;
  /** True when `path` is our own staged copy (it may be moved); false for the user's files (copy them). */
  staged: boolean;
}

export interface SkippedFile {
  name: string;
  reason: string;
}

export interface CollectedSource {
  format: SourceFormat;
  files: SourceFile[];
  skipped: SkippedFile[];
}

export type SourceFormat = 'directory' | 'zip' | 'tar' | 'tar.gz';

export interface SourceLimits {
  /** Most bytes the unpacked files may take (413 beyond); lowers `unpack.maxTotalBytes`. */
  maxBytes?: number;
  /** Most files (413 beyond); lowers `unpack.maxEntries`. A directory is held to this alone (default 1,000,000). */
  maxFiles?: number;
  /** Archive-bomb limits for zips and tars (`unpack-limits.ts`; defaults there). */
  unpack?: Partial<UnpackLimits>;
}

const DEFAULT_MAX_DIRECTORY_FILES = 1_000_000;

function unsafe(name: string, why: string): XcsError {
  return new XcsError('dicom.import.unsafe-entry', `refused the upload: entry "${printable(name)}" ${why}; nothing was imported`, {
    path: printable(name),
  });
}

/** Shows control characters as `\xNN` so that messages stay on one line. */
function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Checks an entry name from a zip or tar; returns it without a leading `./`. */
export function checkEntryName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw unsafe(name, 'has control characters in its name');
  if (name.includes('\\')) throw unsafe(name, 'has a backslash in its name');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafe(name, 'has an absolute path');
  if (name.split('/').includes('..')) throw unsafe(name, 'climbs out of the upload with ".."');
  return name.replace(/^(\.\/)+/, '');
}

/** The limits of one archive: the unpack limits, lowered by the caller's size and file caps. */
function archiveBudget(limits: SourceLimits): UnpackBudget {
  const unpack = resolveUnpackLimits(limits.unpack);
  return new UnpackBudget({
    ...unpack,
    maxTotalBytes: Math.min(unpack.maxTotalBytes, limits.maxBytes ?? Infinity),
    maxEntries: Math.min(unpack.maxEntries, limits.maxFiles ?? Infinity),
  });
}

async function sniff(path: string): Promise<SourceFormat | undefined> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6)) return 'zip';
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'tar.gz';
    if (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

async function walkDirectory(root: string, budget: UnpackBudget, out: CollectedSource): Promise<void> {
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      const name = relative(root, path).split(sep).join('/');
      if (e.isDirectory()) pending.push(path);
      else if (e.isFile()) {
        budget.addFile(name);
        out.files.push({ name, path, size: -1, staged: false });
      } else if (e.isSymbolicLink()) out.skipped.push({ name, reason: 'symbolic link: not followed' });
      else out.skipped.push({ name, reason: 'not a regular file' });
    }
  }
}

async function extractZip(zipPath: string, stageDir: string, budget: UnpackBudget, out: CollectedSource): Promise<void> {
  let zip: yauzl.ZipFile;
  const zipSize = (await stat(zipPath)).size;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true });
  } catch (e) {
    throw badArchive('zip', e);
  }
  try {
    for await (const entry of zip.eachEntry()) {
      const name = checkEntryName(entry.fileName);
      if (name.endsWith('/')) continue;
      const unixType = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (unixType === 0o120000) throw unsafe(name, 'is a symbolic link');
      if (unixType !== 0 && unixType !== 0o100000) throw unsafe(name, 'is not a regular file');
      budget.addEntry(name, entry.compressedSize, entry.uncompressedSize);
      checkNoOverlap(budget.compressed, zipSize);
      const path = join(stageDir, String(out.files.length));
      const stream = await zip.openReadStreamPromise(entry);
      await pipeline(stream, (await open(path, 'wx')).createWriteStream());
      out.files.push({ name, path, size: entry.uncompressedSize, staged: true });
    }
  } catch (e) {
    throw badArchive('zip', e);
  } finally {
    zip.close();
  }
}

async function extractTar(body: Readable, gzipped: boolean, stageDir: string, budget: UnpackBudget, out: CollectedSource): Promise<void> {
  const extract = tar.extract();
  const guard = ratioGuard(budget.limits, 'the gzip stream');
  const feeding = gzipped ? pipeline(body, guard.input, createGunzip(), guard.output, extract) : pipeline(body, extract);
  // The consumer below reports the first error; a rejected feeding promise must not go unhandled.
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const name = checkEntryName(h.name);
      if (h.type === 'directory') {
        entry.resume();
        continue;
      }
      if (h.type === 'symlink' || h.type === 'link') throw unsafe(name, `is a ${h.type === 'link' ? 'hard' : 'symbolic'} link`);
      if (h.type !== 'file' && h.type !== 'contiguous-file') throw unsafe(name, `is a ${h.type ?? 'special'} entry, not a regular file`);
      budget.addFile(name);
      const path = join(stageDir, String(out.files.length));
      await pipeline(entry, budget.meter(name), (await open(path, 'wx')).createWriteStream());
      out.files.push({ name, path, size: h.size ?? -1, staged: true });
    }
    await feeding;
  } catch (e) {
    body.destroy();
    // The decompressor's guard fails the feeding pipeline; the entry loop then only sees a premature close.
    const fed = await feeding.then(() => undefined, (f: unknown) => f);
    throw badArchive(gzipped ? 'tar.gz' : 'tar', isXcsError(fed) ? fed : e);
  }
}

function badArchive(format: string, e: unknown): XcsError {
  if (isXcsError(e)) return e;
  const message = messageOf(e);
  if (/^(invalid characters in fileName|absolute path|invalid relative path): /.test(message)) {
    const name = message.replace(/^[^:]+: /, '');
    return unsafe(name, message.startsWith('absolute') ? 'has an absolute path' : message.startsWith('invalid relative')
      ? 'climbs out of the upload with ".."' : 'has a backslash in its name');
  }
  return new XcsError('dicom.import.bad-archive', `the ${format} upload is damaged or truncated: ${message}; nothing was imported`, {
    cause: e,
  });
}

/**
 * Lists (directory) or unpacks (zip, tar, tar.gz) the files to import. Entries of archives go to
 * `stageDir` under numbered names. Throws a 4xx `XcsError` for unsafe or damaged uploads.
 */
export async function collectSource(source: string, stageDir: string, limits: SourceLimits = {},
  shownAs: string = source): Promise<CollectedSource> {
  let info;
  try {
    info = await stat(source);
  } catch (e) {
    throw new XcsError('dicom.import.no-source', `cannot read ${shownAs}: ${shownAs === source ? messageOf(e) : (e as { code?: string }).code}`,
      { path: shownAs, cause: e });
  }
  if (info.isDirectory()) {
    const out: CollectedSource = { format: 'directory', files: [], skipped: [] };
    // Files already on this machine: no bomb to fear, only a count to keep the import's memory bounded.
    const budget = new UnpackBudget({ ...resolveUnpackLimits(), maxEntries: limits.maxFiles ?? DEFAULT_MAX_DIRECTORY_FILES });
    await walkDirectory(source, budget, out);
    return out;
  }
  const format = info.isFile() ? await sniff(source) : undefined;
  if (format === undefined) {
    throw new XcsError('dicom.import.unsupported-format', `${shownAs} is not a directory, zip, tar or tar.gz`, {
      path: shownAs, hint: 'send a zip (application/zip) or a tar/tar.gz of DICOM files',
    });
  }
  await mkdir(stageDir, { recursive: true });
  const out: CollectedSource = { format, files: [], skipped: [] };
  const budget = archiveBudget(limits);
  if (format === 'zip') await extractZip(source, stageDir, budget, out);
  else await extractTar(createReadStream(source), format === 'tar.gz', stageDir, budget, out);
  return out;
}
