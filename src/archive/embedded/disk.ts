/** Streaming, hashing and walking files on disk (no database). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { XcsError } from '../../core/errors.ts';

export interface HashedFile { size: number; md5: string }

/** Streams `body` into `tmp`, computing MD5 and size; removes `tmp` on any failure. */
export async function streamToFile(body: Readable, tmp: string, maxBytes: number): Promise<HashedFile> {
  const hash = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) {
        cb(new XcsError('archive.upload.too-large', `upload is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // Opened before the first byte: a write stream opening the file itself could create it after a failed body was
  // already cleaned up (the open still in flight when the pipeline gave up), leaving a stray upload behind.
  const file = await open(tmp, 'wx').catch((e: unknown) => {
    body.destroy();
    throw e;
  });
  try {
    await pipeline(body, meter, file.createWriteStream());
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof XcsError) throw e;
    throw new XcsError('archive.upload.truncated', `the upload was interrupted or truncated: ${String(e)}`,
      { cause: e });
  }
  return { size, md5: hash.digest('hex') };
}

export async function hashFile(path: string): Promise<HashedFile> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { size, md5: hash.digest('hex') };
}

/**
 * Every regular file under `dir`, as paths relative to it (`/`-separated); refuses links. `emptyDirs`
 * tells whether some directory below `dir` holds nothing (moving the tree whole would then add it).
 */
export async function walkFiles(dir: string): Promise<{ files: string[]; emptyDirs: boolean }> {
  const out: string[] = [];
  let emptyDirs = false;
  async function walk(d: string, prefix: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    if (entries.length === 0 && prefix !== '') emptyDirs = true;
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name), `${prefix}${e.name}/`);
      else if (e.isFile()) out.push(prefix + e.name);
      else {
        const p = join(d, e.name);
        throw new XcsError('archive.stage.not-regular', `staged entry "${relative(dir, p)}" is not a regular file`,
          { path: p });
      }
    }
  }
  await walk(dir, '');
  return { files: out.sort(), emptyDirs };
}

/** Runs `fn` over `items` with at most `limit` at a time; every call has settled when it returns. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/** Whether `dir` is missing or empty. */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}
