/** A real XCS server on 127.0.0.1:0 with the /xapi container service, plus request helpers, for xapi tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { startServer, type RunningServer } from '../src/app/server.ts';
import type { ServerDeps } from '../src/http/server.ts';
import type { ContainerService } from '../src/http/xapi/service.ts';
import { dropDataDirSchemas } from './helpers/postgres.ts';

export interface XapiTestServer extends RunningServer {
  dir: string;
  adminPassword: string;
  /** The stores and registry the server's /xapi routes use. */
  stores: ContainerService;
  stop(): Promise<void>;
}

export async function startXapiServer(opts: { plugins?: Array<FastifyPluginAsync<ServerDeps>> } = {}): Promise<XapiTestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-xapi-test-'));
  const adminPassword = 'admin-pw-1';
  process.env.XCS_ADMIN_USER = 'admin';
  process.env.XCS_ADMIN_PASSWORD = adminPassword;
  const s = await startServer({ port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), plugins: opts.plugins ?? [] });
  delete process.env.XCS_ADMIN_PASSWORD;
  return {
    ...s, dir, adminPassword, stores: s.service,
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

export interface Reply {
  status: number;
  body: unknown;
  text: string;
}

/** One HTTP request to the running server (real loopback traffic). */
export async function call(base: string, method: string, path: string, opts: { headers?: Record<string, string>; json?: unknown; body?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(base + path, { method, headers, body });
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = text === '' ? '' : JSON.parse(text); } catch { /* plain text */ }
  return { status: r.status, body: parsed, text };
}
