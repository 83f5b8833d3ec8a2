// `xcs db migrate`: a SQLite data directory with a finished run (history, provenance, its output in the archive) and a
// second user moves into a fresh PostgreSQL schema; a server on PostgreSQL then shows the same run, provenance and
// output, lets the user sign in, and gives the next run a new id. A second migrate into the same schema is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openEmbeddedArchive } from '../src/archive/open.ts';
import { useDatabaseUrl } from '../src/core/database/target.ts';
import { ensureDockerHarness, TEST_IMAGES } from './helpers/docker.ts';
import { requestJson } from './helpers/http.ts';
import { removeInstanceContainers } from './helpers/runs.ts';
import { startServe, sigkill, type ServeProcess } from './helpers/serve.ts';

const run = promisify(execFile);
const PASSWORD = 'migrate-pw';
const basic = (login: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${login}:${pw}`).toString('base64')}` });
const admin = basic('admin', PASSWORD);
// The source is SQLite even when the suite runs on PostgreSQL.
const ON_SQLITE = { XCS_DATABASE_URL: '', XCS_DATABASE_SCHEMA_PER_DATA_DIR: '', XCS_ADMIN_PASSWORD: PASSWORD };

const COMMAND = {
  name: 'migrate-writer', version: '1', image: TEST_IMAGES.busybox, type: 'docker',
  'command-line': 'echo payload > /output/out.txt', 'override-entrypoint': true,
  mounts: [{ name: 'out', writable: true, path: '/output' }],
  outputs: [{ name: 'result', mount: 'out', required: true }],
  xnat: [{
    name: 'migrate-writer-scan', contexts: ['xnat:imageScanData'],
    'external-inputs': [{ name: 'scan', type: 'Scan', required: true }],
    'output-handlers': [{ name: 'r', 'accepts-command-output': 'result', 'as-a-child-of': 'scan', type: 'Resource', label: 'MIGRATED' }],
  }],
};

interface RunRecord { id: number; status: string; history: { status: string }[] }

let dir = '';
let data = '';
const schema = `xcs_migrate_${randomBytes(4).toString('hex')}`;
let pgUrl = '';
const servers: ServeProcess[] = [];

after(async () => {
  for (const s of servers) await sigkill(s);
  if (data !== '') await removeInstanceContainers(data).catch(() => undefined);
  if (pgUrl !== '') {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function launchAndWait(s: ServeProcess, wrapperId: number, sessionId: string, scan: number): Promise<RunRecord> {
  const r = await requestJson<{ status: string; id: number; message?: string }>(s.url, admin, 'POST', `/xapi/wrappers/${wrapperId}/root/scan/launch`,
    { scan: `/archive/experiments/${sessionId}/scans/${scan}` });
  assert.equal(r.status, 'success', r.message);
  const t0 = Date.now();
  for (;;) {
    const c = await requestJson<RunRecord>(s.url, admin, 'GET', `/xapi/containers/${r.id}`);
    if (/^(Complete|Failed|Killed)/.test(c.status)) return c;
    if (Date.now() - t0 > 30_000) throw new Error(`run ${r.id} did not end: ${c.status}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('a SQLite data directory with runs, provenance and users moves into PostgreSQL; a second migrate is refused', async () => {
  await ensureDockerHarness();
  pgUrl = execFileSync('bash', ['scripts/postgres-harness.sh'], { encoding: 'utf8' }).trim();
  const target = `${pgUrl}?schema=${schema}`;
  dir = await mkdtemp(join(tmpdir(), 'xcs-migrate-'));
  data = join(dir, 'data');
  useDatabaseUrl(null);
  let sessionId: string;
  try {
    const opened = await openEmbeddedArchive(data, { admin: { login: 'admin', password: PASSWORD } });
    await opened.archive.createProject({ id: 'P' }, 'admin');
    const subject = await opened.archive.createSubject('P', { label: 'S' }, 'admin');
    const session = await opened.archive.createSession(subject.id, { label: 'E' }, 'admin');
    sessionId = session.id;
    for (const scan of ['1', '2']) await opened.archive.createScan(session.id, { id: scan }, 'admin');
    await opened.users.addUser({ login: 'alice', password: 'alice-pw', siteAdmin: false });
    await opened.close();
  } finally {
    useDatabaseUrl(undefined);
  }

  const before = await startServe(data, ON_SQLITE);
  servers.push(before);
  const id = await requestJson<number>(before.url, admin, 'POST', '/xapi/commands', COMMAND);
  const wrapperId = (await requestJson<{ xnat: { id: number }[] }>(before.url, admin, 'GET', `/xapi/commands/${id}`)).xnat[0].id;
  await requestJson(before.url, admin, 'PUT', `/xapi/wrappers/${wrapperId}/enabled`);
  await requestJson(before.url, admin, 'PUT', `/xapi/projects/P/wrappers/${wrapperId}/enabled`);
  const first = await launchAndWait(before, wrapperId, sessionId, 1);
  assert.equal(first.status, 'Complete', JSON.stringify(first.history));
  const provenanceBefore = await requestJson<unknown>(before.url, admin, 'GET', `/xapi/containers/${first.id}/provenance`);
  await sigkill(before);

  const moved = await run('bin/xcs', ['db', 'migrate', '--data', data, '--database', target], { env: { ...process.env, ...ON_SQLITE } });
  assert.match(moved.stdout, /^runs: 1 rows$/m);
  assert.match(moved.stdout, /^users: 2 rows$/m);
  assert.doesNotMatch(moved.stdout, /xcs:xcs@/, 'the password is not printed');

  const on = await startServe(data, { XCS_DATABASE_URL: target, XCS_DATABASE_SCHEMA_PER_DATA_DIR: '', XCS_ADMIN_PASSWORD: 'not-used' });
  servers.push(on);
  const same = await requestJson<RunRecord>(on.url, admin, 'GET', `/xapi/containers/${first.id}`);
  assert.equal(same.status, 'Complete');
  assert.deepEqual(same.history.map((h) => h.status), first.history.map((h) => h.status));
  assert.deepEqual(await requestJson(on.url, admin, 'GET', `/xapi/containers/${first.id}/provenance`), provenanceBefore);
  const files = await requestJson<{ ResultSet: { Result: { Name: string }[] } }>(on.url, admin, 'GET',
    `/data/experiments/${sessionId}/scans/1/resources/MIGRATED/files?format=json`);
  assert.deepEqual(files.ResultSet.Result.map((f) => f.Name), ['out.txt']);
  const alice = await fetch(`${on.url}/data/projects?format=json`, { headers: basic('alice', 'alice-pw') });
  assert.equal(alice.status, 200);
  // The identity sequences moved past the copied ids.
  const second = await launchAndWait(on, wrapperId, sessionId, 2);
  assert.equal(second.status, 'Complete', JSON.stringify(second.history));
  assert.ok(second.id > first.id, `${second.id} > ${first.id}`);
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  try {
    const n = await c.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".runs`);
    assert.equal(Number(n.rows[0].n), 2, 'the runs are in PostgreSQL');
  } finally {
    await c.end();
  }
  await sigkill(on);

  const again = await run('bin/xcs', ['db', 'migrate', '--data', data, '--database', target], { env: { ...process.env, ...ON_SQLITE } })
    .then(() => null, (e: { code: number; stderr: string }) => e);
  assert.ok(again !== null, 'a second migrate into a schema with runs is refused');
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already holds \d+ rows/);
});
