/**
 * A real server with one project, subject and session, and the helpers the site-settings tests share: set server
 * settings, register a session command, launch it, wait for its end, and `docker inspect` its container.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../src/app/server.ts';
import { ensureDockerHarness, TEST_IMAGES } from './docker.ts';
import { jsonApi, type JsonApi } from './http.ts';
import { registerEnabled, removeInstanceContainers } from './runs.ts';
import { dropDataDirSchemas } from './postgres.ts';

export const ADMIN = { authorization: `Basic ${Buffer.from('admin:admin-pw').toString('base64')}` };

export interface ContainerJson {
  id: number;
  status: string;
  'container-name': string;
  'failure-hint': string | null;
  env: Record<string, string>;
  mounts: Array<{ name: string; 'xnat-host-path': string }>;
  history: Array<{ status: string; message: string | null }>;
  'run-settings': Record<string, unknown> & { hardening: Record<string, unknown> };
}

export interface SettingsServer {
  dir: string;
  dataDir: string;
  server: RunningServer;
  api: JsonApi;
  sessionId: string;
  /** Raw request: status and parsed body, for refusals. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Replaces the server settings with the defaults plus `keys` (XNAT's POST replaces the whole JSON). */
  setServer(keys: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Registers a session command writing to an `out` mount (resource named as the command, upper-cased) and enables it; returns the wrapper id. */
  register(name: string, commandLine: string, extra?: Record<string, unknown>): Promise<number>;
  launch(wrapperId: number): Promise<{ status: number; body: Record<string, unknown> }>;
  waitEnd(id: number): Promise<ContainerJson>;
  waitStatus(id: number, status: string): Promise<ContainerJson>;
  close(): Promise<void>;
}

export async function dockerInspect(name: string): Promise<Record<string, any> | null> {
  try {
    const { stdout } = await promisify(execFile)('docker', ['inspect', name]);
    return (JSON.parse(stdout) as Array<Record<string, unknown>>)[0];
  } catch {
    return null;
  }
}

/** `env` is set for the server's lifetime (secrets tests). */
export async function startSettingsServer(env: Record<string, string> = {}): Promise<SettingsServer> {
  await ensureDockerHarness();
  const dir = await mkdtemp(join(tmpdir(), 'xcs-settings-'));
  const dataDir = join(dir, 'data');
  process.env.XCS_ADMIN_PASSWORD = 'admin-pw';
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) { saved[k] = process.env[k]; process.env[k] = v; }
  const server = await startServer({ port: 0, dataDir });
  // Kept until close: XCS_SECRET_* variables are read at each launch.
  const restoreEnv = (): void => {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  };
  const a = server.opened.archive;
  await a.createProject({ id: 'P' }, 'admin');
  const subject = await a.createSubject('P', { label: 'S' }, 'admin');
  const sessionId = (await a.createSession(subject.id, { label: 'E' }, 'admin')).id;
  const api = jsonApi(() => server.url, ADMIN);
  const request = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const r = await fetch(`${server.url}${path}`, { method, headers: { ...ADMIN, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const getContainer = (id: number): Promise<ContainerJson> => api<ContainerJson>('GET', `/xapi/containers/${id}`);
  const waitFor = async (id: number, done: (c: ContainerJson) => boolean): Promise<ContainerJson> => {
    for (let i = 0; i < 1200; i++) {
      const c = await getContainer(id);
      if (done(c)) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`run ${id} did not get there: ${JSON.stringify(await getContainer(id))}`);
  };
  return {
    dir, dataDir, server, api, sessionId, request,
    setServer: (keys) => request('POST', '/xapi/docker/server', { host: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock', 'auto-cleanup': true, ...keys }),
    register: (name, commandLine, extra = {}) => registerEnabled(api, {
      name, version: '1', image: TEST_IMAGES.busybox, type: 'docker', 'command-line': commandLine, 'override-entrypoint': true,
      mounts: [{ name: 'out', writable: true, path: '/output' }],
      outputs: [{ name: 'out', mount: 'out', required: false }],
      ...extra,
      xnat: [{ name: `${name}-session`, contexts: ['xnat:imageSessionData'], 'external-inputs': [{ name: 'session', type: 'Session', required: true }],
        'output-handlers': [{ name: 'out-resource', 'accepts-command-output': 'out', 'as-a-child-of': 'session', label: name.toUpperCase() }] }],
    }),
    launch: (wrapperId) => request('POST', `/xapi/projects/P/wrappers/${wrapperId}/root/session/launch`, { session: `/archive/experiments/${sessionId}` }),
    waitEnd: (id) => waitFor(id, (c) => /^(Complete|Failed|Killed)/.test(c.status)),
    waitStatus: (id, status) => waitFor(id, (c) => c.status === status || /^(Complete|Failed|Killed)/.test(c.status)),
    close: async () => {
      await server.close();
      restoreEnv();
      await removeInstanceContainers(dataDir);
      dropDataDirSchemas(dataDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The text of file `name` that the run of command `command` uploaded to the session. */
export async function outFile(s: SettingsServer, command: string, name: string): Promise<string> {
  const label = command.toUpperCase();
  const r = await fetch(`${s.server.url}/data/experiments/${s.sessionId}/resources/${label}/files/${name}`, { headers: ADMIN });
  if (!r.ok) throw new Error(`${label}/${name}: ${r.status} ${await r.text()}`);
  return r.text();
}
