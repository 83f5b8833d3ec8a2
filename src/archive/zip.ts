/**
 * Reading uploaded zips safely: every entry is checked (no `..`, no absolute paths, no links, sizes,
 * ratios and entry count within the unpack limits, `unpack-limits.ts`) before anything is extracted, so a
 * bad zip changes nothing.
 */
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { XcsError } from '../core/errors.ts';
import { checkFilePath } from './names.ts';
import { checkNoOverlap, UnpackBudget, type UnpackLimits } from './unpack-limits.ts';

export interface ZipEntry {
  /** Normalised path inside the resource. */
  name: string;
  uncompressedSize: number;
  entry: yauzl.Entry;
}

export interface OpenZip {
  entries: ZipEntry[];
  open(e: ZipEntry): Promise<Readable>;
  close(): void;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function badZip(message: string, path?: string, cause?: unknown): XcsError {
  return new XcsError('archive.zip.invalid', message, { path, cause });
}

/** Opens `zipPath` and checks every entry; `maxBytes` (the upload limit) caps the unpacked total too. */
export async function openZip(zipPath: string, maxBytes: number, limits: UnpackLimits): Promise<OpenZip> {
  const zipSize = (await stat(zipPath)).size;
  const budget = new UnpackBudget({ ...limits, maxTotalBytes: Math.min(limits.maxTotalBytes, maxBytes) });
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true },
      (err, z) => (err ? reject(badZip(`not a readable zip: ${err.message}`, undefined, err)) : resolve(z)));
  });
  const entries: ZipEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(badZip(`corrupt zip: ${e.message}`, undefined, e)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        try {
          const raw = entry.fileName;
          if (raw.endsWith('/')) {
            checkFilePath(raw.slice(0, -1) || '.');
            zip.readEntry();
            return;
          }
          const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
          if (mode === S_IFLNK) throw badZip(`zip entry "${raw}" is a symbolic link; links are refused`, raw);
          const name = checkFilePath(raw.replace(/\\/g, '/'));
          budget.addEntry(raw, entry.compressedSize, entry.uncompressedSize);
          checkNoOverlap(budget.compressed, zipSize);
          entries.push({ name, uncompressedSize: entry.uncompressedSize, entry });
          zip.readEntry();
        } catch (e) {
          reject(e instanceof XcsError && e.code !== 'archive.bad-file-name' ? e
            : badZip(`zip entry "${entry.fileName}" is not a safe path inside the resource`, entry.fileName, e));
        }
      });
      zip.readEntry();
    });
  } catch (e) {
    zip.close();
    throw e;
  }
  return {
    entries,
    open: (e) => new Promise<Readable>((resolve, reject) => {
      zip.openReadStream(e.entry, (err, s) => (err ? reject(badZip(`cannot read "${e.name}": ${err.message}`, e.name, err)) : resolve(s)));
    }),
    close: () => zip.close(),
  };
}
