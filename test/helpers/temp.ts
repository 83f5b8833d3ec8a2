/** Temporary directories for tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropDataDirSchemas } from './postgres.ts';

/** Runs `fn` in a fresh directory (named after `prefix` to tell which test left it) and removes it whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    dropDataDirSchemas(dir, join(dir, 'data'));
    await rm(dir, { recursive: true, force: true });
  }
}
