/**
 * Staging with digests: each file is hard-linked or reflinked into the staging tree and then read once
 * for its size and MD5, or, where the filesystem has no reflinks, copied by hand, hashing the bytes as
 * they are written (one read and one write per file, as `cp` does). The archive takes these digests
 * instead of reading every file again at commit.
 *
 * MD5 runs at well under the disk's speed on one core, so the work is spread over worker threads
 * (synchronous I/O there: each worker is one busy core, and the main thread stays free). Workers run
 * plain JavaScript given as a string, so they start without the TypeScript loader.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CollectedFile } from './collect.ts';

export type StageMode = 'copy' | 'link';

/** What a staged file turned out to be: read from the staged copy itself. */
export interface StagedDigest {
  /** Bytes read from the staged file (`-1` when it is not a regular file). */
  size: number;
  /** Lower-case hex MD5; empty when digests were not asked for. */
  md5: string;
}

interface WorkerJob {
  files: Array<[string, string]>;
  dest: string;
  mode: StageMode;
  digest: boolean;
  /** Int32Array view: [0] next file index, [1] set to 1 once any worker failed. */
  shared: SharedArrayBuffer;
}

interface WorkerError { index: number; message: string; code?: string; errno?: number; syscall?: string; path?: string }
interface WorkerReply { done: Array<[number, number, string]>; error?: WorkerError }

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { files, dest, mode, digest, shared } = workerData;
const state = new Int32Array(shared);
const { O_RDONLY, O_NONBLOCK, COPYFILE_EXCL, COPYFILE_FICLONE_FORCE } = fs.constants;
const buf = Buffer.allocUnsafe(1 << 20);
const done = [];
let error;
let reflinks = true;
function hashFd(fd, hash) {
  let size = 0;
  let n;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) {
    size += n;
    if (hash) hash.update(buf.subarray(0, n));
  }
  return size;
}
// Reads the staged file back (a link or a reflink shares the data, so this reads what the archive gets).
function measure(dst) {
  const fd = fs.openSync(dst, O_RDONLY | O_NONBLOCK);
  try {
    if (!fs.fstatSync(fd).isFile()) return [-1, ''];
    const hash = digest ? createHash('md5') : undefined;
    const size = hashFd(fd, hash);
    return [size, hash ? hash.digest('hex') : ''];
  } finally {
    fs.closeSync(fd);
  }
}
// A plain copy that hashes what it writes: one read and one write, like cp, instead of a kernel copy and a
// second read. Mode bits follow the source, as with copyFile.
function copyHashing(from, st, dst) {
  const to = fs.openSync(dst, 'wx', st.mode & 0o7777);
  try {
    fs.fchmodSync(to, st.mode & 0o7777);
    const hash = digest ? createHash('md5') : undefined;
    let size = 0;
    let n;
    while ((n = fs.readSync(from, buf, 0, buf.length, null)) > 0) {
      if (hash) hash.update(buf.subarray(0, n));
      let off = 0;
      while (off < n) off += fs.writeSync(to, buf, off, n - off);
      size += n;
    }
    return [size, hash ? hash.digest('hex') : ''];
  } finally {
    fs.closeSync(to);
  }
}
function stageOne(src, dst) {
  if (mode === 'link') {
    try { fs.linkSync(src, dst); return measure(dst); } catch (e) {
      if (e.code !== 'EXDEV' && e.code !== 'EPERM' && e.code !== 'EMLINK') throw e;
    }
  }
  // Non-blocking, so that a FIFO swapped in after collection is refused instead of hanging the worker.
  const from = fs.openSync(src, O_RDONLY | O_NONBLOCK);
  try {
    const st = fs.fstatSync(from);
    if (!st.isFile()) return [-1, ''];
    if (reflinks) {
      try { fs.copyFileSync(src, dst, COPYFILE_EXCL | COPYFILE_FICLONE_FORCE); return measure(dst); } catch (e) {
        // No reflinks on this filesystem (or across these two): copy by hand from now on.
        if (e.code === 'EEXIST' || e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOSPC') throw e;
        reflinks = false;
      }
    }
    return copyHashing(from, st, dst);
  } finally {
    fs.closeSync(from);
  }
}
for (;;) {
  if (Atomics.load(state, 1) !== 0) break;
  const i = Atomics.add(state, 0, 1);
  if (i >= files.length) break;
  const [src, rel] = files[i];
  const dst = dest + '/' + rel;
  try {
    const [size, md5] = stageOne(src, dst);
    done.push([i, size, md5]);
  } catch (e) {
    Atomics.store(state, 1, 1);
    error = { index: i, message: String(e && e.message), code: e && e.code, errno: e && e.errno, syscall: e && e.syscall, path: e && e.path };
    break;
  }
}
parentPort.postMessage({ done, error });
`;

/** Below this many bytes per extra worker, starting it costs more than it saves. */
const BYTES_PER_WORKER = 32 * 1024 * 1024;
const MAX_WORKERS = 4;

function rebuild(e: WorkerError): Error {
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) err.code = e.code;
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  return err;
}

function runWorker(job: WorkerJob): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: job });
    let reply: WorkerReply | undefined;
    w.once('message', (m: WorkerReply) => { reply = m; });
    w.once('error', reject);
    // Waiting for the exit, not just the message, means no file operation can still be running when the
    // caller removes the staging tree after a failure.
    w.once('exit', (code) => {
      if (reply) resolve(reply);
      else reject(new Error(`staging worker exited with code ${code} before reporting`));
    });
  });
}

/**
 * Places every file of `files` at `dest/rel` (parent directories must exist) and returns, per file in
 * the same order, what the staged file holds. Stops at the first failure and throws it once every
 * worker has stopped.
 */
export async function stageWithDigests(files: readonly CollectedFile[], dest: string, mode: StageMode,
  digest: boolean): Promise<StagedDigest[]> {
  if (files.length === 0) return [];
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const count = Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, files.length, Math.ceil(bytes / BYTES_PER_WORKER)));
  const job: WorkerJob = {
    files: files.map((f) => [f.source, f.rel]), dest, mode, digest, shared: new SharedArrayBuffer(8),
  };
  const settled = await Promise.allSettled(Array.from({ length: count }, () => runWorker(job)));
  const out: StagedDigest[] = new Array<StagedDigest>(files.length);
  let failure: { index: number; error: Error } | undefined;
  for (const s of settled) {
    if (s.status === 'rejected') {
      failure ??= { index: Infinity, error: s.reason instanceof Error ? s.reason : new Error(String(s.reason)) };
      continue;
    }
    for (const [i, size, md5] of s.value.done) out[i] = { size, md5 };
    // Report the earliest file that failed, so that the same fault gives the same message.
    if (s.value.error && (!failure || s.value.error.index < failure.index)) {
      failure = { index: s.value.error.index, error: rebuild(s.value.error) };
    }
  }
  if (failure) throw failure.error;
  return out;
}
