/** A real XCS server on 127.0.0.1:0 over a temporary data directory, for end-to-end archive tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../src/app/server.ts';
import type { UnpackLimits } from '../src/archive/unpack-limits.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

export interface TestServer extends RunningServer {
  dir: string;
  adminPassword: string;
  stop(): Promise<void>;
}

export async function startTestServer(opts: { maxUploadBytes?: number; unpackLimits?: Partial<UnpackLimits> } = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-archive-test-'));
  const adminPassword = 'admin-pw-1';
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = adminPassword;
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), maxUploadBytes: opts.maxUploadBytes,
    unpackLimits: opts.unpackLimits });
  delete process.env.XCS_ADMIN_PASSWORD;
  return {
    ...s, dir, adminPassword,
    stop: async () => {
      await s.close();
      dropDataDirSchemas(join(dir, 'data'));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function basic(login: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` };
}
