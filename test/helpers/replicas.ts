/**
 * Several `xcs serve` replicas on one data directory, for the failover test and benchmark. The database comes
 * from the environment: with `XCS_DATABASE_URL` set the replicas share a fresh PostgreSQL schema
 * (`xcs_failover_<random>`, dropped by `dropDatabase`), otherwise the data directory's SQLite files.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openEmbeddedArchive } from '../../src/archive/open.ts';
import { requestJson, jsonApi } from './http.ts';
import { registerEnabled } from './runs.ts';
import { sigkill, startServe, type ServeProcess } from './serve.ts';

export const PASSWORD = 'failover-pw';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

/** A command whose run writes one file into a `FAILOVER` resource of its scan. */
export const WRITER = {
  name: 'failover-writer', version: '1', image: 'xcs-test/busybox:latest', type: 'docker',
  'command-line': 'sleep 0.3; echo payload > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'failover-writer-scan', contexts: ['xnat:imageScanData'],
    'external-inputs': [{ name: 'scan', type: 'Scan', required: true }],
    'output-handlers': [{ name: 'result-resource', 'accepts-command-output': 'result', 'as-a-child-of': 'scan', type: 'Resource', label: 'FAILOVER' }],
  }],
};

export function api<T = unknown>(s: ServeProcess, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(s.url, auth, method, path, body);
}

export interface RunView { id: number; status: string; history: { status: string }[] }

export interface ReplicaSite {
  dir: string;
  data: string;
  sessionId: string;
  wrapperId: number;
  /** The environment every replica gets (database, admin password, limits). */
  env: Record<string, string>;
  /** The PostgreSQL schema the replicas share, or null on SQLite. */
  schema: string | null;
}

/** The database part of the replicas' environment: a fresh schema when `XCS_DATABASE_URL` names a server. */
function databaseEnv(): { env: Record<string, string>; schema: string | null } {
  const raw = process.env.XCS_DATABASE_URL;
  if (!raw) return { env: {}, schema: null };
  const schema = `xcs_failover_${randomBytes(5).toString('hex')}`;
  const u = new URL(raw);
  u.searchParams.set('schema', schema);
  // One schema for every replica: not one per data directory (the suite's default for other tests).
  return { env: { XCS_DATABASE_URL: u.toString(), XCS_DATABASE_SCHEMA_PER_DATA_DIR: '' }, schema };
}

/** A data directory with project P, one session and `scans` scans, the writer command registered and enabled. */
export async function replicaSite(scans: number, env: Record<string, string>): Promise<ReplicaSite> {
  const dir = await mkdtemp(join(tmpdir(), 'xcs-replicas-'));
  const data = join(dir, 'data');
  const db = databaseEnv();
  // The test process opens the archive on the same database as the replicas.
  for (const [k, v] of Object.entries(db.env)) process.env[k] = v;
  process.env.XCS_ADMIN_PASSWORD = PASSWORD;
  const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
  await opened.archive.createProject({ id: 'P' }, 'admin');
  const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
  const session = await opened.archive.createSession(subject.id, { label: 'E' }, 'admin');
  for (let i = 1; i <= scans; i++) await opened.archive.createScan(session.id, { id: String(i) }, 'admin');
  await opened.close();
  const site = { dir, data, sessionId: session.id, wrapperId: 0, schema: db.schema,
    env: { XCS_ADMIN_PASSWORD: PASSWORD, ...db.env, ...env } };
  const s = await startServe(data, site.env);
  try {
    site.wrapperId = await registerEnabled(jsonApi(() => s.url, auth), WRITER);
  } finally {
    await sigkill(s);
  }
  return site;
}

/** Launches the writer on `scan` through replica `s`; returns the run id. */
export async function launchOn(site: ReplicaSite, s: ServeProcess, scan: number): Promise<number> {
  const r = await api<{ id: number }>(s, 'POST', `/xapi/wrappers/${site.wrapperId}/root/scan/launch`,
    { scan: `/archive/experiments/${site.sessionId}/scans/${scan}` });
  return r.id;
}

export async function waitUntil(cond: () => Promise<boolean>, what: string, timeoutMs = 60_000, output = (): string => ''): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Drops the schema the replicas used (PostgreSQL only). */
export async function dropDatabase(site: ReplicaSite): Promise<void> {
  const raw = process.env.XCS_DATABASE_URL;
  if (site.schema === null || !raw) return;
  const u = new URL(raw);
  u.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${site.schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
