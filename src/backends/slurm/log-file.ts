/**
 * A job's stdout or stderr file as a log stream: read whole, or followed — new bytes are read as the job
 * appends them (polled: inotify does not see writes made by other machines on a shared file system) until
 * the job has ended and the file stopped growing.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const FOLLOW_POLL_MS = 200;
const CHUNK = 64 * 1024;

export interface FollowOptions {
  follow: boolean;
  signal?: AbortSignal;
  /** Resolves true once the job ended (its files get no more output). */
  ended: () => Promise<boolean>;
}

export async function* readLogFile(file: string, options: FollowOptions): AsyncIterable<Buffer> {
  let offset = 0;
  const buffer = Buffer.alloc(CHUNK);
  while (true) {
    if (options.signal?.aborted === true) return;
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      handle = null;
    }
    let grew = false;
    if (handle !== null) {
      try {
        while (true) {
          const { bytesRead } = await handle.read(buffer, 0, CHUNK, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          grew = true;
          yield Buffer.from(buffer.subarray(0, bytesRead));
        }
      } finally {
        await handle.close();
      }
    }
    if (!options.follow) return;
    if (grew) continue;
    // Ended and nothing new since: the last read after the end saw everything.
    if (await options.ended()) {
      if (!(await growsAfter(file, offset))) return;
      continue;
    }
    try {
      await sleep(FOLLOW_POLL_MS, undefined, options.signal === undefined ? undefined : { signal: options.signal });
    } catch {
      return; // aborted
    }
  }
}

async function growsAfter(file: string, offset: number): Promise<boolean> {
  try {
    const handle = await open(file, 'r');
    try {
      return (await handle.stat()).size > offset;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
